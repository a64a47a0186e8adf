"""How the simulator answers and reads a request, as Plex does.

Why it exists: every route shares these rules. XML unless the client sends `Accept:
application/json`; errors are Plex's small HTML pages, never MediaContainers; numeric parameters
(paging, sizes) come as query parameters or headers and are refused with 400 when they are not
whole non-negative numbers.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from retrovue.sim import render

__all__ = ["BODY_FAULT", "BadRequestError", "flag", "html_error", "int_param", "respond", "wants_json"]

BODY_FAULT = "retrovue.sim.body_fault"  # scope key: this answer's body will be cut or garbled
_REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def html_error(status: int) -> Response:
    """Plex's HTML error body (errors are never MediaContainers)."""
    reason = _REASONS.get(status, "Error")
    body = f"<html><head><title>{reason}</title></head><body><h1>{status} {reason}</h1></body></html>"
    return Response(body, status_code=status, media_type="text/html")


class BadRequestError(Exception):
    """A parameter Plex would reject with 400."""


def wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


def respond(request: Request, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    if wants_json(request):
        return Response(render.encode_json(body), media_type="application/json", headers=headers)
    return Response(render.encode_xml(body), media_type="text/xml;charset=utf-8", headers=headers)


def flag(request: Request, name: str) -> bool:
    return request.query_params.get(name, "0") not in ("0", "", "false")


def int_param(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        raw = request.headers.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        raise BadRequestError(f"{name} is not an integer") from None
    if value < 0:
        raise BadRequestError(f"{name} is negative")
    return value

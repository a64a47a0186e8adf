"""The control HTTP API under `/_sim/`: drive a running simulator from another process.

Why it exists: the demo and out-of-process tests need the same powers as the Python API (mutate,
read the ground truth and the request log, set faults). Every route maps onto one whitelisted
`Simulator` method through `SimState.control`; there is no logic here. Requests need the token.

    GET  /_sim/{op}?name=value     read-only ops: ground_truth, sections, requests, stats
    POST /_sim/{op}  {json kwargs} everything else: add_show, edit, remove, set_faults, ...

Answers are JSON `{"result": ...}`; 404 `{"error": ...}` for an unknown op/item, 400 for bad args.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from retrovue.sim.state import SimState

__all__ = ["control_routes"]


def control_routes(state: SimState) -> list[Route]:
    async def handle(request: Request) -> JSONResponse:
        op = request.path_params["op"].replace("-", "_")
        kwargs: dict[str, Any] = {}
        if request.method == "GET":
            kwargs = {k: v for k, v in request.query_params.items() if k.lower() != "x-plex-token"}
        else:
            raw = await request.body()
            if raw.strip():
                try:
                    loaded = json.loads(raw)
                except ValueError:
                    return JSONResponse({"error": "body is not JSON"}, status_code=400)
                if not isinstance(loaded, dict):
                    return JSONResponse({"error": "body must be a JSON object"}, status_code=400)
                kwargs = loaded
        if state.control is None:
            return JSONResponse({"error": "no control handler"}, status_code=503)
        try:
            result = state.control(op, kwargs)
        except LookupError as exc:
            return JSONResponse({"error": str(exc).strip("'\"")}, status_code=404)
        except (ValueError, TypeError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse({"result": result})

    return [Route("/_sim/{op}", handle, methods=["GET", "POST", "PUT", "DELETE"])]

"""Generated posters for the simulator: what Plex serves at an item's thumb and through its photo
transcoder, as small PNG images (no imaging library: a PNG is a few zlib-compressed rows).

Each item gets its own colours (from its rating key and title), so a test can tell two posters
apart; the transcoder scales to the `width` × `height` asked for, as Plex does.
"""

from __future__ import annotations

import hashlib
import struct
import zlib

__all__ = ["MAX_SIDE", "PNG_SIGNATURE", "poster_png"]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_SIDE = 2000
DEFAULT_SIZE = (300, 450)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def poster_png(seed: str, width: int | None = None, height: int | None = None) -> bytes:
    """A poster for `seed` (an item's rating key and title): a background in the item's colour and a
    band across it, `width` × `height` pixels (default 300 × 450, at most MAX_SIDE a side)."""
    w = max(1, min(width or DEFAULT_SIZE[0], MAX_SIDE))
    h = max(1, min(height or DEFAULT_SIZE[1], MAX_SIDE))
    digest = hashlib.sha256(seed.encode()).digest()
    background, band = digest[0:3], digest[3:6]
    plain = b"\x00" + background * w
    banded = b"\x00" + background * (w // 8) + band * (w - 2 * (w // 8)) + background * (w // 8)
    top, bottom = int(h * 0.62), int(h * 0.78)
    rows = b"".join(banded if top <= y < bottom else plain for y in range(h))
    header = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (
        PNG_SIGNATURE
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(rows, 6))
        + _chunk(b"IEND", b"")
    )

"""What the window says, in plain words (plain functions, no Qt): run results, progress, streams.

One place for the sentences a user reads, so the tree's tooltip, the last-result line, the activity
log and the tests agree: "546 added or changed, 1 removed from Plex, 0 errors — 12 s".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from retrovue.catalog import Item, Part, Stream
from retrovue.ingest.events import SyncSummary

__all__ = [
    "RunResult",
    "clock",
    "part_line",
    "plural",
    "progress_line",
    "result_line",
    "state_reason",
    "stream_line",
    "version_label",
]


def plural(n: int, word: str, many: str | None = None) -> str:
    """`1 item`, `2 items`, `1,024 episodes` (`many` for irregular plurals)."""
    return f"{n:,} {word if n == 1 else (many or word + 's')}"


def clock(seconds: float) -> str:
    """`12 s`, `4:05`, `1:02:03`: how long, as a person reads it."""
    s = max(0, round(seconds))
    if s < 60:
        return f"{s} s"
    hours, rest = divmod(s, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


@dataclass(frozen=True, slots=True)
class RunResult:
    """The facts a result line is made of: from a `SyncSummary` as it arrives, or a stored run."""

    status: str  # ok | partial | failed | cancelled | running
    changed: int = 0
    errors: int = 0
    missing: int = 0
    deleted: int = 0
    processed: int = 0
    seconds: float | None = None
    reason: str | None = None
    gated: bool = False
    mode: str = "incremental"

    @classmethod
    def of(cls, s: SyncSummary) -> RunResult:
        return cls(
            status=s.status,
            changed=s.changed,
            errors=s.errors,
            missing=s.missing_promoted,
            deleted=s.deleted_promoted,
            processed=s.processed,
            seconds=s.elapsed_s,
            reason=s.reason,
            gated=s.gated,
            mode=s.mode,
        )


def result_line(r: RunResult) -> str:
    """One run in plain words, cancelled and failed runs named as such with their reason."""
    took = f" — {clock(r.seconds)}" if r.seconds is not None else ""
    why = f": {r.reason}" if r.reason else ""
    if r.status == "running":
        return "Syncing now…"
    if r.status == "failed":
        return f"Failed{why}{took}"
    if r.status == "cancelled":
        done = f" after {plural(r.processed, 'item')}" if r.processed else ""
        return f"Cancelled{done}{why}{took}"
    if r.gated and not (r.changed or r.missing or r.deleted or r.errors):
        return f"Nothing changed in Plex{took}"
    words = [f"{r.changed:,} added or changed"]
    if r.missing:
        words.append(f"{r.missing:,} removed from Plex")
    if r.deleted:
        words.append(f"{r.deleted:,} deleted")
    words.append(plural(r.errors, "error"))
    line = ", ".join(words) + took
    if r.status == "partial":
        line += f" — incomplete{why}"
    return line


_PHASES = {
    "shows": "reading shows",
    "items": "reading items",
    "details": "reading item details",
    "finalize": "finishing",
}


def progress_line(
    phase: str, processed: int, total: int | None, changed: int, errors: int, elapsed: float
) -> str:
    """`reading items 120 of 546 · 12 added or changed · 0:04 elapsed, about 14 s left`."""
    what = _PHASES.get(phase, phase)
    if total is not None and total > 0:
        count = f"{processed:,} of {total:,}"
    elif processed:
        count = f"{processed:,}"
    else:
        count = ""
    head = f"{what} {count}".strip()
    parts = [head]
    if changed:
        parts.append(f"{changed:,} added or changed")
    if errors:
        parts.append(plural(errors, "error"))
    timing = f"{clock(elapsed)} elapsed"
    if total and 0 < processed < total and elapsed >= 2:
        left = elapsed / processed * (total - processed)
        timing += f", about {clock(left)} left"
    parts.append(timing)
    return " · ".join(parts)


_CODECS = {
    "h264": "H.264",
    "hevc": "HEVC",
    "h265": "HEVC",
    "mpeg2video": "MPEG-2",
    "mpeg4": "MPEG-4",
    "vc1": "VC-1",
    "av1": "AV1",
    "vp9": "VP9",
    "aac": "AAC",
    "ac3": "AC3",
    "eac3": "E-AC3",
    "dca": "DTS",
    "dts": "DTS",
    "truehd": "TrueHD",
    "mp3": "MP3",
    "flac": "FLAC",
    "opus": "Opus",
    "srt": "SRT",
    "ass": "ASS",
    "pgs": "PGS",
    "subrip": "SRT",
}
_CHANNELS = {1: "mono", 2: "stereo", 6: "5.1", 8: "7.1"}
_LANGUAGES = {
    "en": "English",
    "eng": "English",
    "fr": "French",
    "fra": "French",
    "fre": "French",
    "de": "German",
    "deu": "German",
    "ger": "German",
    "es": "Spanish",
    "spa": "Spanish",
    "it": "Italian",
    "ita": "Italian",
    "ja": "Japanese",
    "jpn": "Japanese",
    "ru": "Russian",
    "rus": "Russian",
}


def _codec(c: str | None) -> str:
    return _CODECS.get((c or "").lower(), (c or "").upper())


def _resolution(width: int | None, height: int | None, label: str | None = None) -> str:
    if height:
        if height >= 2000 or (width or 0) >= 3800:
            return "4K"
        for h in (1080, 720, 576, 480):
            if height >= h * 0.9 or (width or 0) >= {1080: 1900, 720: 1270, 576: 1000, 480: 700}[h]:
                return f"{h}p"
        return f"{height}p"
    if label:
        return label.upper() if label.lower() in ("4k", "sd") else f"{label}p"
    return ""


def _language(s: Stream) -> str:
    code = (s.language or "").lower()
    return _LANGUAGES.get(code, s.language or "")


def stream_line(streams: Iterable[Stream]) -> str:
    """`1080p H.264 · AAC 5.1 English · Subtitles: English, French` — streams as Plex Web lists them."""
    video: list[str] = []
    audio: list[str] = []
    subtitles: list[str] = []
    for s in streams:
        if s.type == 1:
            video.append(" ".join(x for x in (_resolution(s.width, s.height), _codec(s.codec)) if x))
        elif s.type == 2:
            channels = _CHANNELS.get(s.channels or 0, f"{s.channels}ch" if s.channels else "")
            audio.append(" ".join(x for x in (_codec(s.codec), channels, _language(s)) if x))
        elif s.type == 3:
            name = _language(s) or _codec(s.codec) or "unknown"
            subtitles.append(f"{name} (forced)" if s.forced else name)
    out = [v for v in video if v] + [a for a in audio if a]
    if subtitles:
        out.append("Subtitles: " + ", ".join(subtitles))
    return " · ".join(out)


def part_line(part: Part) -> str:
    """A part's streams in words, or what the part itself says when its streams were never read."""
    if part.streams:
        return stream_line(part.streams)
    video = " ".join(
        x
        for x in (_resolution(part.width, part.height, part.video_resolution), _codec(part.video_codec))
        if x
    )
    channels = _CHANNELS.get(
        part.audio_channels or 0, f"{part.audio_channels}ch" if part.audio_channels else ""
    )
    audio = " ".join(x for x in (_codec(part.audio_codec), channels) if x)
    return " · ".join(x for x in (video, audio) if x)


def version_label(part: Part, parts: Iterable[Part]) -> str:
    """`Version 2, part 1` only where an item has several versions or files; else the empty string.
    Plex counts from 0; people count from 1."""
    every = list(parts)
    versions = {p.media_index for p in every}
    files = sum(1 for p in every if p.media_index == part.media_index)
    bits = []
    if len(versions) > 1:
        bits.append(f"Version {part.media_index + 1}")
    if files > 1:
        bits.append(f"part {part.part_index + 1}" if bits else f"Part {part.part_index + 1}")
    return ", ".join(bits)


def state_reason(item: Item, parts: Iterable[Part]) -> str:
    """Why an item is in its state, in words (the reason sits in the parts or the history otherwise)."""
    every = list(parts)
    if item.state == "UNAVAILABLE":
        absent = [p for p in every if p.file_exists is False or p.accessible is False]
        if absent:
            where = absent[0].file or "its file"
            return f"Plex cannot play it: the Plex server reports {where} missing or unreadable"
        if item.last_error:
            return f"Plex cannot play it: {item.last_error}"
        return "Plex cannot play it: Plex lists it without a playable file"
    if item.state == "MISSING":
        return "Plex no longer lists it; it is kept for 30 days, or until a deep sync confirms it is gone"
    if item.state == "DELETED":
        return "Plex no longer has it"
    if item.state == "REMOTE_ONLY":
        local = [p.local_path for p in every if p.local_path]
        if not local:
            return "Plex can stream it; no path mapping here leads to its file (Server → Path mappings…)"
        return "Plex can stream it; its file was not found on this machine at the last check"
    if item.state == "ACTIVE":
        return "Plays from a local file on this machine"
    return ""

"""What the window says, in plain words: run results, progress with elapsed time and ETA, streams."""

from __future__ import annotations

from retrovue.catalog import Part, Stream
from retrovue.gui.wording import (
    RunResult,
    clock,
    part_line,
    plural,
    progress_line,
    result_line,
    stream_line,
    version_label,
)


def _stream(type_: int, codec: str, **kw: object) -> Stream:
    values: dict[str, object] = {
        "language": None,
        "title": None,
        "channels": None,
        "width": None,
        "height": None,
        "default": False,
        "forced": False,
    }
    values.update(kw)
    return Stream(type=type_, codec=codec, **values)  # type: ignore[arg-type]


def _part(media: int, part: int, **kw: object) -> Part:
    values: dict[str, object] = dict.fromkeys(
        (
            "file",
            "local_path",
            "size",
            "duration_ms",
            "container",
            "video_codec",
            "audio_codec",
            "audio_channels",
            "video_resolution",
            "width",
            "height",
            "bitrate",
            "accessible",
            "file_exists",
            "streams",
        )
    )
    values.update(kw)
    return Part(media_index=media, part_index=part, **values)  # type: ignore[arg-type]


def test_streams_read_like_plex_web() -> None:
    streams = [
        _stream(1, "h264", width=1920, height=1080),
        _stream(2, "aac", channels=6, language="eng", default=True),
        _stream(3, "srt", language="fra"),
    ]
    assert stream_line(streams) == "1080p H.264 · AAC 5.1 English · Subtitles: French"
    assert stream_line([_stream(1, "hevc", width=3840, height=2160)]) == "4K HEVC"
    assert part_line(
        _part(0, 0, video_codec="h264", video_resolution="720", audio_codec="ac3", audio_channels=2)
    ) == ("720p H.264 · AC3 stereo")


def test_files_are_numbered_only_when_there_are_several() -> None:
    one = [_part(0, 0)]
    assert version_label(one[0], one) == ""
    two_versions = [_part(0, 0), _part(1, 0)]
    assert version_label(two_versions[1], two_versions) == "Version 2"
    stacked = [_part(0, 0), _part(0, 1)]
    assert version_label(stacked[1], stacked) == "Part 2"


def test_results_in_plain_words() -> None:
    ok = RunResult("ok", changed=546, missing=1, errors=0, seconds=12.2)
    assert result_line(ok) == "546 added or changed, 1 removed from Plex, 0 errors — 12 s"
    assert result_line(RunResult("ok", gated=True, seconds=0.3)) == "Nothing changed in Plex — 0 s"
    assert (
        result_line(RunResult("failed", reason="Plex answered 401", seconds=2))
        == "Failed: Plex answered 401 — 2 s"
    )
    assert (
        result_line(RunResult("ok", changed=1, errors=1, seconds=75)) == "1 added or changed, 1 error — 1:15"
    )
    assert plural(1, "item") == "1 item"
    assert plural(1024, "item") == "1,024 items"
    assert clock(3723) == "1:02:03"


def test_progress_has_elapsed_time_and_an_eta() -> None:
    line = progress_line("items", 100, 400, 10, 0, 20.0)
    assert line == "reading items 100 of 400 · 10 added or changed · 20 s elapsed, about 1:00 left"
    assert progress_line("shows", 0, None, 0, 0, 5.0) == "reading shows · 5 s elapsed"
    assert progress_line("details", 3, None, 0, 1, 1.0) == "reading item details 3 · 1 error · 1 s elapsed"

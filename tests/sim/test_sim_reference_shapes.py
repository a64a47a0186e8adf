"""The simulator's JSON has the shape of real captured Plex responses for the same endpoint.

For each captured response in `<repo>/../shared/reference/plex-responses/` we request the same kind
of thing from the simulator and check, recursively (MediaContainer → Metadata → Media → Part →
Stream, Guid, Location):

* no invented keys: every key we send occurs in real data for that element;
* same types: a key's JSON type is one real data uses for it;
* nothing essential missing: keys present in *every* real element are sent by us too, except the
  cosmetic ones listed in `COSMETIC` (artwork, ratings, cast, …) that no ingest reads.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx
import pytest

from retrovue.sim import Simulator

# <repo root>/../shared/reference/plex-responses
RESPONSES = Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "plex-responses"

pytestmark = pytest.mark.skipif(
    not RESPONSES.is_dir(), reason=f"reference responses not found at {RESPONSES} (shared/reference absent)"
)

#: Keys real Plex sends that the simulator deliberately leaves out (no ingest reads them).
# fmt: off
COSMETIC = frozenset((
    "slug", "Image", "UltraBlurColors", "audienceRating", "audienceRatingImage", "rating",
    "ratingImage", "tagline", "Country", "Director", "Writer", "Role", "Producer", "Similar", "Rating",
    "chapterSource", "primaryExtraKey", "grandparentSlug", "grandparentTheme", "theme", "viewCount",
    "lastViewedAt", "skipCount", "indexes", "audioProfile", "hasVoiceActivity", "Chapter", "Marker",
    "Extras", "originalTitle", "art", "thumb", "mediaTagVersion", "nocache", "content", "Meta",
    "FieldType", "Type", "viewOffset", "Collection", "Genre", "subtype", "createdAtAccuracy",
    "createdAtTZOffset", "languageTag", "languageCode", "language", "chromaLocation",
    "chromaSubsampling", "codedHeight", "codedWidth", "colorPrimaries", "colorRange", "colorSpace",
    "colorTrc", "bitDepth", "level", "refFrames", "scanType", "hasScalingMatrix", "original", "dub",
    "canAutoSync", "hearingImpaired", "title", "forced", "headerCompression", "DOVIBLCompatID",
    "DOVIBLPresent", "DOVIELPresent", "DOVILevel", "DOVIPresent", "DOVIProfile", "DOVIRPUPresent",
    "DOVIVersion", "audioChannelLayout", "samplingRate", "selected", "default", "key", "format",
    "channels", "frameRate", "profile", "bitrate", "height", "width", "id", "filter", "tag", "tagKey",
    "role",
))
# fmt: on

#: Keys the simulator sends that no captured response holds although real Plex sends them: `Label`
#: tags appear on an item that has labels, and none of the captured items has one.
UNCAPTURED = frozenset(("Label",))

# (reference file, simulator request builder name)
CASES = {
    "library__sectionKey__get-library-all-0.json": "movies",
    "library__sectionKey__get-library-all-1.json": "shows",
    "library__sectionKey__get-library-all-2.json": "episodes",
    "library__sectionKey__get-library-all-4.json": "movies",
    "library__sectionKey__get-library-all-5.json": "movies",
    "library__sectionKey__get-library-items-0.json": "movies",
    "library__sectionKey__get-library-items-2.json": "episodes",
    "library__sectionKey__get-library-items-3.json": "shows",
    "library__sectionKey__get-library-items-4.json": "shows",
    "library__sectionId__get-library-items-1.json": "movies",
    "library__sectionId__get-library-details-0.json": "section",
    "library_metadata__ratingKey__get-media-meta-data-0.json": "show_detail",
    "library_metadata__ratingKey__get-media-meta-data-1.json": "movie_detail",
    "library_metadata__ratingKey__get-media-meta-data-2.json": "episode_detail",
    "library_metadata__ratingKey__get-media-meta-data-3.json": "movie_detail",
    "library_metadata__ratingKey__get-media-meta-data-5.json": "episode_detail",
}


class Shape:
    """Per element path: the types each key takes, how often it appears, how many elements."""

    def __init__(self) -> None:
        self.types: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
        self.count: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.elements: dict[str, int] = defaultdict(int)

    def add(self, path: str, element: dict[str, Any]) -> None:
        self.elements[path] += 1
        for key, value in element.items():
            self.types[path][key].add(_type(value))
            self.count[path][key] += 1
            if isinstance(value, list):
                for child in value:
                    if isinstance(child, dict):
                        self.add(f"{path}/{key}", child)
            elif isinstance(value, dict):
                self.add(f"{path}/{key}", value)


def _type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number" if isinstance(value, float) else "int"
    return type(value).__name__


def _shape(body: dict[str, Any]) -> Shape:
    shape = Shape()
    shape.add("MediaContainer", body["MediaContainer"])
    return shape


@pytest.fixture(scope="module")
def shape_sim() -> Any:
    with Simulator(seed=21, shows=8, movies=40, seasons_per_show=2, episodes_per_season=4) as s:
        yield s


def _fetch(s: Simulator, what: str) -> dict[str, Any]:
    truth = s.ground_truth()["sections"]
    show = truth[0]["shows"][0]
    episode = show["seasons"][-1]["episodes"][0]
    movie = next(m for m in truth[1]["movies"] if m["parts"])
    paged = {"X-Plex-Container-Start": "0", "X-Plex-Container-Size": "50", "includeGuids": "1"}
    requests = {
        "movies": ("/library/sections/2/all", {"type": "1", **paged}),
        "shows": ("/library/sections/1/all", {"type": "2", **paged}),
        "episodes": ("/library/sections/1/all", {"type": "4", **paged}),
        "section": ("/library/sections/2", {}),
        "show_detail": (f"/library/metadata/{show['ratingKey']}", {}),
        "movie_detail": (f"/library/metadata/{movie['ratingKey']}", {"checkFiles": "1"}),
        "episode_detail": (f"/library/metadata/{episode['ratingKey']}", {"checkFiles": "1"}),
    }
    path, params = requests[what]
    r = httpx.get(
        f"{s.url}{path}",
        params=params,
        headers={"X-Plex-Token": s.token, "Accept": "application/json"},
        timeout=10,
    )
    assert r.status_code == 200
    body: dict[str, Any] = r.json()
    return body


def _real(filename: str) -> Shape:
    path = RESPONSES / filename
    if not path.exists():
        pytest.skip(f"{filename} not in {RESPONSES}")
    return _shape(json.loads(Path(path).read_text(encoding="utf-8"))["response"])


def _group(what: str) -> list[str]:
    """Files captured from the same endpoint; item details are one endpoint whatever the kind."""
    if what.endswith("_detail"):
        return [f for f, w in CASES.items() if w.endswith("_detail")]
    return [f for f, w in CASES.items() if w == what]


@pytest.mark.parametrize(("filename", "what"), sorted(CASES.items()))
def test_shape_matches_real_response(shape_sim: Simulator, filename: str, what: str) -> None:
    real = _real(filename)
    union = Shape()
    for other in _group(what):
        if (RESPONSES / other).exists():
            union.add(
                "MediaContainer",
                json.loads((RESPONSES / other).read_text(encoding="utf-8"))["response"]["MediaContainer"],
            )
    ours = _shape(_fetch(shape_sim, what))
    problems: list[str] = []
    for element, keys in ours.types.items():
        if element not in union.types:
            if element.rsplit("/", 1)[-1] not in UNCAPTURED:
                problems.append(f"{element}: element absent from real data")
            continue
        for key, types in keys.items():
            real_types = union.types[element].get(key)
            if real_types is None:
                if key not in ("titleSort", "parentYear", "parentIndex", "totalSize", "offset", *UNCAPTURED):
                    problems.append(f"{element}.{key}: not in real data")
                continue
            if not types <= real_types | ({"int"} if "number" in real_types else set()):
                problems.append(f"{element}.{key}: ours {sorted(types)} vs real {sorted(real_types)}")
    for element, counts in real.count.items():
        if element not in ours.elements:
            continue
        for key, n in counts.items():
            if n == real.elements[element] and key not in COSMETIC and key not in ours.types[element]:
                problems.append(f"{element}.{key}: always in real data, missing from ours")
    assert not problems, "\n".join(problems)

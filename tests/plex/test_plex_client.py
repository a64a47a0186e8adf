"""The client's endpoints, expansion calls, metadata chunking and the bounded-concurrency helper."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import httpx
import pytest

from retrovue.errors import PlexBadResponseError, PlexNotFoundError
from retrovue.plex import Episode, Movie, OtherItem, PlexClient, Season, Show
from retrovue.plex.concurrency import map_bounded
from tests.plex.conftest import FakeListing, Recorder, container, episode, movie


def routes(
    table: dict[str, Callable[[httpx.Request], httpx.Response]],
) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        route = table.get(request.url.path)
        return route(request) if route else httpx.Response(404, html="<html>404</html>")

    return handler


def test_server_info_and_identity(make_client: Callable[..., PlexClient]) -> None:
    client = make_client(
        routes(
            {
                "/": lambda r: container(
                    friendlyName="Den", machineIdentifier="m1", version="1.41", platform="Linux"
                ),
                "/identity": lambda r: container(claimed=False, machineIdentifier="m1", version="1.41"),
            }
        )
    )
    info = client.server_info()
    assert (info.friendly_name, info.machine_identifier, info.platform) == ("Den", "m1", "Linux")
    assert client.identity().claimed is False


def test_sections(make_client: Callable[..., PlexClient]) -> None:
    directory = [
        {
            "key": "1",
            "type": "movie",
            "title": "Films",
            "contentChangedAt": 7726555702310039813,
            "Location": [{"id": 1, "path": "/media/films"}],
        },
        {"key": "2", "type": "show", "title": "TV", "refreshing": True},
    ]
    client = make_client(routes({"/library/sections": lambda r: container(size=2, Directory=directory)}))
    films, tv = client.sections()
    assert films.content_changed_at == "7726555702310039813"
    assert films.locations[0].path == "/media/films"
    assert tv.refreshing is True


def test_a_broken_section_fails_the_call(make_client: Callable[..., PlexClient]) -> None:
    client = make_client(routes({"/library/sections": lambda r: container(Directory=[{"key": "9"}])}))
    with pytest.raises(PlexBadResponseError, match="key '9'"):
        client.sections()


@pytest.mark.parametrize(
    ("method", "plex_type"),
    [("iter_shows", "2"), ("iter_seasons", "3"), ("iter_episodes", "4"), ("iter_movies", "1")],
)
def test_listing_types(make_client: Callable[..., PlexClient], method: str, plex_type: str) -> None:
    recorder = Recorder(FakeListing([]))
    client = make_client(recorder)
    assert list(getattr(client, method)("5")) == []
    assert recorder.requests[0].url.params["type"] == plex_type
    assert recorder.requests[0].url.params["includeGuids"] == "1"


def test_since_filters(make_client: Callable[..., PlexClient]) -> None:
    recorder = Recorder(FakeListing([]))
    client = make_client(recorder)
    list(client.iter_episodes("5", updated_since=1700000000, added_since=1600000000))
    list(client.iter_movies("6", added_since=5))
    first, second = (request.url for request in recorder.requests)
    assert first.params["updatedAt>>"] == "1700000000"
    assert first.params["addedAt>>"] == "1600000000"
    assert "updatedAt%3E%3E=1700000000" in str(first)
    assert second.params["addedAt>>"] == "5"
    assert "updatedAt>>" not in second.params


def test_item_errors_reach_the_page(make_client: Callable[..., PlexClient]) -> None:
    entries = [movie(1), {"ratingKey": "2"}, movie(3)]
    client = make_client(FakeListing(entries))
    (page,) = client.iter_movies("1")
    assert [m.rating_key for m in page.items] == ["1", "3"]
    assert [e.rating_key for e in page.errors] == ["2"]


def test_show_expansion(make_client: Callable[..., PlexClient]) -> None:
    seasons = [{"ratingKey": str(n), "type": "season", "parentRatingKey": "10", "index": n} for n in range(3)]
    recorder = Recorder(
        routes(
            {
                "/library/metadata/10/children": FakeListing(seasons),
                "/library/metadata/10/allLeaves": FakeListing([episode(n, show=10) for n in range(5)]),
            }
        )
    )
    client = make_client(recorder, page_size=2)
    got_seasons = client.show_seasons("10")
    assert [s.index for s in got_seasons.items] == [0, 1, 2]
    assert all(isinstance(s, Season) for s in got_seasons.items)
    assert recorder.requests[0].url.params["excludeAllLeaves"] == "1"
    episodes = client.show_episodes("10")
    assert [e.rating_key for e in episodes.items] == ["0", "1", "2", "3", "4"]
    assert (episodes.offset, episodes.total_size, episodes.errors) == (0, 5, [])
    assert client.request_count == 2 + 3


def test_opaque_rating_keys_are_quoted(make_client: Callable[..., PlexClient]) -> None:
    recorder = Recorder(FakeListing([]))
    client = make_client(recorder)
    client.show_episodes("a/b c")
    assert recorder.requests[0].url.raw_path.startswith(b"/library/metadata/a%2Fb%20c/allLeaves?")


class MetadataServer:
    """`/library/metadata/{a,b,c}`: returns the keys it knows, 404 when it knows none."""

    def __init__(self, known: dict[str, dict[str, object]], delay: float = 0.0) -> None:
        self.known = known
        self.delay = delay
        self.in_flight = 0
        self.peak = 0
        self.lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
        try:
            time.sleep(self.delay)
            keys = request.url.path.removeprefix("/library/metadata/").split(",")
            found = [self.known[key] for key in keys if key in self.known]
            if not found:
                return httpx.Response(404, html="<html>Not Found</html>")
            return container(size=len(found), Metadata=found)
        finally:
            with self.lock:
                self.in_flight -= 1


def test_metadata_chunks_dispatches_and_keeps_order(make_client: Callable[..., PlexClient]) -> None:
    known: dict[str, dict[str, object]] = {str(n): movie(n) for n in range(10)}
    known["20"] = {"ratingKey": "20", "type": "show", "title": "S"}
    known["21"] = episode(21)
    known["22"] = {"ratingKey": "22", "type": "clip", "title": "Trailer"}
    server = MetadataServer(known, delay=0.02)
    recorder = Recorder(server)
    client = make_client(recorder, max_concurrency=3)
    keys = [*map(str, range(10)), "20", "21", "22", "3"]  # a duplicate is fetched once
    page = client.metadata(keys, check_files=True, chunk=3)
    assert [item.rating_key for item in page.items] == [*map(str, range(10)), "20", "21", "22"]
    assert [type(item) for item in page.items[-3:]] == [Show, Episode, OtherItem]
    assert isinstance(page.items[0], Movie)
    assert page.errors == []
    assert client.request_count == 5  # 13 distinct keys in chunks of 3
    assert all(request.url.params["checkFiles"] == "1" for request in recorder.requests)
    assert sorted(request.url.path for request in recorder.requests)[0] == "/library/metadata/0,1,2"
    assert 1 < server.peak <= 3


def test_metadata_reports_keys_the_server_did_not_return(make_client: Callable[..., PlexClient]) -> None:
    recorder = Recorder(MetadataServer({"1": movie(1)}))
    client = make_client(recorder)
    page = client.metadata(["1", "2"])
    assert [item.rating_key for item in page.items] == ["1"]
    assert [(error.rating_key, "not returned" in error.message) for error in page.errors] == [("2", True)]
    assert "checkFiles" not in recorder.requests[0].url.params


def test_metadata_single_missing_key_is_not_found(make_client: Callable[..., PlexClient]) -> None:
    client = make_client(MetadataServer({}))
    with pytest.raises(PlexNotFoundError, match="/library/metadata/404"):
        client.metadata(["404"])


def test_metadata_of_nothing_sends_nothing(make_client: Callable[..., PlexClient]) -> None:
    client = make_client(MetadataServer({}))
    assert client.metadata([]).items == []
    assert client.request_count == 0


# --- bounded concurrency ------------------------------------------------------------------------


def test_map_bounded_keeps_order_and_bounds_concurrency() -> None:
    lock = threading.Lock()
    state = {"now": 0, "peak": 0}

    def work(n: int) -> int:
        with lock:
            state["now"] += 1
            state["peak"] = max(state["peak"], state["now"])
        time.sleep(0.01 * (n % 3))
        with lock:
            state["now"] -= 1
        return n * n

    assert map_bounded(work, range(12), 4) == [n * n for n in range(12)]
    assert 1 < state["peak"] <= 4


def test_map_bounded_propagates_the_first_error_and_cancels_the_rest() -> None:
    started: list[int] = []

    def work(n: int) -> int:
        started.append(n)
        if n == 1:
            raise PlexNotFoundError("gone")
        time.sleep(0.02)
        return n

    with pytest.raises(PlexNotFoundError, match="gone"):
        map_bounded(work, range(50), 2)
    assert len(started) < 50


def test_map_bounded_inline_with_one_worker() -> None:
    threads: set[str] = set()

    def work(n: int) -> int:
        threads.add(threading.current_thread().name)
        return n

    assert map_bounded(work, [1, 2, 3], 1) == [1, 2, 3]
    assert threads == {threading.current_thread().name}


def test_client_map_concurrent_uses_its_bound(make_client: Callable[..., PlexClient]) -> None:
    client = make_client(FakeListing([]), max_concurrency=2)
    assert client.map_concurrent(lambda n: n + 1, [1, 2, 3]) == [2, 3, 4]


def test_context_manager_closes(make_client: Callable[..., PlexClient]) -> None:
    with make_client(FakeListing([])) as client:
        list(client.iter_movies("1"))
    with pytest.raises(RuntimeError):
        list(client.iter_movies("1"))

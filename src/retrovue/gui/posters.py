"""`PosterLoader`: the item pane's poster, fetched off the GUI thread and cached on disk.

An episode shows its show's poster, a movie its own (as Plex Web does). The image comes from
`retrovue.thumbs.PosterSource` (disk cache first, else the server's photo transcoder) on a pool of
two threads, so a slow or unreachable server never blocks the window; an answer for an item the user
has since left is dropped, and a failure just leaves the placeholder.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QThreadPool
from PySide6.QtGui import QPixmap

from retrovue.catalog import Item
from retrovue.gui.tasks import Task, run_task
from retrovue.thumbs import PosterSource, poster_path

__all__ = ["POSTER_SIZE", "PosterLoader", "poster_key"]

POSTER_SIZE = (160, 240)


def poster_key(item: Item) -> str:
    """The Plex path of the poster an item shows: its show's for an episode, its own for a movie —
    the thumb Plex listed when the catalog has it (its stamp changes with the image, so a new
    poster is a new cache entry), else the item's thumb endpoint."""
    if item.kind == "episode" and item.show_rating_key:
        return poster_path(item.show_rating_key)
    return item.thumb or poster_path(item.rating_key)


class PosterLoader(QObject):
    def __init__(self, source: PosterSource, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.source = source
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(2)
        self.wanted: tuple[int, str] | None = None
        self.tasks: set[Task] = set()
        self.closed = False

    def load(self, item: Item, show: Callable[[QPixmap | None], None]) -> None:
        """Fetch the item's poster; `show(pixmap)` on the GUI thread, or `show(None)` without one."""
        key = (item.server_id, poster_key(item))
        self.wanted = key
        width, height = POSTER_SIZE
        source = self.source
        holder: list[Task] = []

        def done(data: object) -> None:
            self.tasks.difference_update(holder)
            if self.closed or self.wanted != key:
                return
            pixmap = QPixmap()
            show(pixmap if isinstance(data, bytes) and pixmap.loadFromData(data) else None)

        def failed(_message: str) -> None:
            self.tasks.difference_update(holder)
            if not self.closed and self.wanted == key:
                show(None)

        task = run_task(self.pool, lambda: source.poster(key[0], key[1], width, height), done, failed)
        holder.append(task)
        self.tasks.add(task)

    def close(self, timeout_ms: int = 10_000) -> None:
        self.closed = True
        self.pool.waitForDone(timeout_ms)
        self.source.close()

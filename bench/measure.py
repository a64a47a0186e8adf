"""What a benchmark run measures besides wall time: rows written, peak RSS, and the machine's facts."""

from __future__ import annotations

import os
import platform
import resource
import sys
from collections import Counter
from importlib import metadata
from typing import Any

import sqlalchemy as sa

__all__ = ["ITEM_TABLES", "RowCounter", "machine_facts", "peak_rss_mb", "rss_mb", "source_state"]

# The tables an ingest writes per item (item_events: state history, and local_verdicts: this
# machine's ACTIVE/REMOTE_ONLY decisions, counted too but reported apart from the total).
ITEM_TABLES = ("media_items", "media_parts", "shows", "seasons", "item_events", "local_verdicts")
APART = ("item_events", "local_verdicts")
_VERBS = ("INSERT", "UPDATE", "DELETE", "REPLACE")


def _target(statement: str) -> str | None:
    """The table an INSERT/UPDATE/DELETE writes, lower-cased, or None for anything else."""
    words = statement.lstrip().replace("(", " ").replace("`", " ").replace('"', " ").split()
    if not words or words[0].upper() not in _VERBS:
        return None
    verb = words[0].upper()
    rest = [w for w in words[1:6] if w.upper() not in ("INTO", "FROM", "IGNORE", "LOW_PRIORITY", "OR")]
    if verb == "UPDATE":
        return rest[0].lower() if rest else None
    return rest[0].lower() if rest else None


class RowCounter:
    """Sums `cursor.rowcount` of INSERT/UPDATE/DELETE statements per item table.

    An executemany counts the rows the driver reports for the whole batch. MariaDB reports 2 for a row
    that `ON DUPLICATE KEY UPDATE` changed, 1 for one it inserted and 0 for one it left as it was
    (SQLite and PostgreSQL: 1 for each row inserted or updated); such a statement is counted as at
    most the rows it sent, which is the most rows it can have written, so the figure is comparable
    across backends and never less than the truth. An upsert from a SELECT sends no rows (the
    database makes them): it counts what the driver reports, which on MariaDB is the truth for the
    rows it inserted and twice the truth for those it updated.
    """

    def __init__(self, engine: sa.Engine) -> None:
        self.rows: Counter[str] = Counter()
        self.statements = 0
        self._engine = engine
        sa.event.listen(engine, "after_cursor_execute", self._on_execute)

    def _on_execute(
        self, _conn: object, cursor: Any, statement: str, parameters: Any, _context: object, many: bool
    ) -> None:
        table = _target(statement)
        if table in ITEM_TABLES:
            self.statements += 1
            rows = max(0, int(getattr(cursor, "rowcount", 0) or 0))
            head, upsert, _ = statement.upper().partition("ON DUPLICATE KEY UPDATE")
            if upsert and " VALUES " in f" {head} ":  # rows sent, not made by a SELECT
                rows = min(rows, len(parameters) if many else 1)
            self.rows[table] += rows

    @property
    def total(self) -> int:
        """Rows written into the item tables, state history and local verdicts excluded."""
        return sum(n for table, n in self.rows.items() if table not in APART)

    def close(self) -> None:
        sa.event.remove(self._engine, "after_cursor_execute", self._on_execute)


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB.

    On Linux this is `VmHWM` from /proc/self/status, the high-water mark of this process's own
    address space. `ru_maxrss` is not used there: Linux carries it across `execve`, so a child
    started with fork+exec (multiprocessing's `spawn`) would report the parent's peak — here the
    simulator's 100,000-item catalog — instead of its own.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kib / 1024 if sys.platform != "darwin" else kib / 1024 / 1024


def rss_mb() -> float:
    """Current resident set size of this process, in MiB."""
    import psutil

    return float(psutil.Process().memory_info().rss) / 1024 / 1024


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "absent"


def _server_version(url: str | None) -> str | None:
    if not url or url.startswith("sqlite"):
        return None
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "postgresql":  # version() starts "PostgreSQL 15.2 on …"
                return str(conn.execute(sa.text("SHOW server_version")).scalar_one()).split(" ")[0]
            return str(conn.execute(sa.text("SELECT version()")).scalar_one()).split(" ")[0]
    except Exception as exc:  # a fact we could not read is reported as such, not fatal
        return f"unknown ({type(exc).__name__})"
    finally:
        engine.dispose()


def machine_facts(admin_urls: dict[str, str] | None = None) -> dict[str, object]:
    """Cores, memory, OS, Python and library versions (and database server versions when given)."""
    import psutil

    facts: dict[str, object] = {
        "cpus_logical": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "cpu_model": _cpu_model(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "sqlite": __import__("sqlite3").sqlite_version,
        "packages": {
            name: _version(name)
            for name in (
                "retrovue-ingest",
                "sqlalchemy",
                "httpx",
                "msgspec",
                "uvicorn",
                "plexapi",
                "psycopg",
                "PyMySQL",
                "PySide6-Essentials",
            )
        },
    }
    facts["git"] = _git_head()
    for name, url in (admin_urls or {}).items():
        facts[f"{name}_server"] = _server_version(url)
    return facts


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


CODE_PATHS = ("src", "bench", "pyproject.toml", "requirements")
"""What a measurement measures: a change here, committed or not, changes the figures."""


def source_state(root: str | None = None) -> dict[str, object]:
    """The code a run measures: HEAD, the last commit that changed `CODE_PATHS` (the figures belong
    to it; a docs commit that follows does not change it), and whether the work tree differs from
    HEAD under `CODE_PATHS`, untracked files included. Read-only."""
    import subprocess

    root = root or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", root, *args], capture_output=True, text=True, check=True).stdout

    try:
        head = git("rev-parse", "--short=10", "HEAD").strip()
        code = git("log", "-1", "--format=%h", "--abbrev=10", "HEAD", "--", *CODE_PATHS).strip()
        status = git("status", "--porcelain", "--untracked-files=all", "--", *CODE_PATHS)
    except (OSError, subprocess.CalledProcessError):
        return {"commit": "unknown", "code_commit": "unknown", "dirty": True, "dirty_paths": ["(no git)"]}
    paths = [line[3:] for line in status.splitlines() if len(line) > 3]
    return {"commit": head, "code_commit": code, "dirty": bool(paths), "dirty_paths": paths}


def _git_head() -> str:
    """The commit measured, with ' (modified)' when the measured code differs from it."""
    state = source_state()
    return f"{state['code_commit']}" + (" (modified)" if state["dirty"] else "")

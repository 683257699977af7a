"""The database file's health, for the interfaces: a damaged or unreadable database told in plain Japanese (what
happened, what to do) instead of a traceback or Streamlit's English error page, and ``minutes db check``.

The interfaces cannot see SQLite's errors (``ui`` may not import the store), so they hand any error to
:func:`database_failure`, which says whether it is about the database file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from minutes.errors import DatabaseUnavailable, InputError, MinutesError
from minutes.settings import Settings
from minutes.store import maintenance
from minutes.store.engine import known_revisions

__all__ = ["DatabaseCheck", "DatabaseUnavailable", "check_database", "database_failure", "database_path"]


def database_path(settings: Settings) -> Path | None:
    """The SQLite file of ``settings`` (None for another database)."""
    return maintenance.sqlite_path(settings.database_url)


def _settings() -> Settings | None:
    try:
        return Settings.from_env()
    except MinutesError:
        return None


def database_failure(error: BaseException, settings: Settings | None = None) -> DatabaseUnavailable | None:
    """The error to show when ``error`` comes from a damaged, unreadable or failing database file (its ``detail``
    carries SQLite's own words, for the log); None when it is about something else, to be raised as it is."""
    if isinstance(error, DatabaseUnavailable):
        return error
    settings = settings or _settings()
    return maintenance.failure(error, database_path(settings) if settings is not None else None)


@dataclass(frozen=True)
class DatabaseCheck:
    path: Path
    problems: tuple[str, ...]  # as SQLite words them; empty when all is well
    quick: bool
    size_bytes: int
    revision: str | None  # the schema version, when the file could be read

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def current(self) -> bool:
        """Whether the schema is this software's newest (an older one is brought up to date at the next start)."""
        return self.revision == known_revisions()[-1]


def check_database(settings: Settings, *, quick: bool = False) -> DatabaseCheck:
    """``PRAGMA integrity_check`` (or the faster ``quick_check``) on the database file, without migrating or
    changing it; safe while the app runs."""
    path = database_path(settings)
    if path is None:
        raise InputError(
            "SQLite 以外のデータベースは、そのデータベース製品の検査機能で確認してください。",
            f"not sqlite: {settings.database_url.split(':', 1)[0]}",
        )
    problems = maintenance.integrity_problems(path, quick=quick)
    revision = None if problems else maintenance.schema_revision(path)
    return DatabaseCheck(path, tuple(problems), quick, path.stat().st_size, revision)

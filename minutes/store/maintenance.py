"""The SQLite file itself: is it damaged (integrity check), copy it while in use (the online backup API), is another
process using it, which schema version it has, and what a low-level SQLite error means for the person running it.

These work on the file, not through an engine that would migrate it: a damaged or restored database is looked at
before anything writes to it.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path

from minutes.errors import DatabaseUnavailable

try:
    import fcntl
except ImportError:  # not on Windows: in_use() then cannot tell
    fcntl = None


RESTORE_ADVICE = (
    "アプリとワーカーを止め、`minutes db check` で状態を確かめてから、夜間のバックアップから "
    "`minutes restore <バックアップのフォルダ>` で復元してください"
)


def sqlite_path(url: str) -> Path | None:
    """The file of a ``sqlite:///…`` URL, or None for another database."""
    return Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite:///") else None


def _sqlite_error(error: BaseException) -> sqlite3.Error | None:
    """The sqlite3 error behind ``error`` (SQLAlchemy wraps it in ``.orig``; others chain it)."""
    seen: set[int] = set()
    stack = [error]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, sqlite3.Error):
            return current
        stack.extend([getattr(current, "orig", None), current.__cause__, current.__context__])
    return None


def failure(error: BaseException, path: Path | None) -> DatabaseUnavailable | None:
    """A clear error for a damaged, unreadable or failing database behind ``error``; None for anything else (an
    integrity rule, a programming error, a busy database are not about the file; a full disk is
    ``minutes.diskspace``'s)."""
    raw = _sqlite_error(error)
    code = getattr(raw, "sqlite_errorcode", None)
    if raw is None or code is None:
        return None
    primary = code & 0xFF
    where = f"（{path}）" if path is not None else ""
    detail = f"{getattr(raw, 'sqlite_errorname', code)}: {raw}"
    if primary in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
        what = (
            "データベースとして読めません（壊れているか、別のファイルに置き換わっています）"
            if primary == sqlite3.SQLITE_NOTADB
            else "壊れていて読み込めません"
        )
        return DatabaseUnavailable(f"データベースのファイル{where}が{what}。{RESTORE_ADVICE}。", detail)
    if primary == sqlite3.SQLITE_CANTOPEN:
        return DatabaseUnavailable(
            f"データベースのファイル{where}を開けません。MINUTES_DATA_DIR（または MINUTES_DATABASE_URL）の場所が"
            "正しいか、このユーザーにそのフォルダとファイルの読み書きの権限があるかを確かめてください。",
            detail,
        )
    if primary == sqlite3.SQLITE_READONLY:
        return DatabaseUnavailable(
            f"データベースのファイル{where}に書き込めません（読み取り専用です）。ファイルとフォルダの権限、"
            "ディスクが読み取り専用でマウントされていないかを確かめてください。",
            detail,
        )
    if primary == sqlite3.SQLITE_IOERR:
        return DatabaseUnavailable(
            f"データベース{where}の読み書き中にディスクのエラーが起きました。ディスクの状態と空き容量を確かめ、"
            "`minutes db check` を実行してください。壊れていれば、夜間のバックアップから "
            "`minutes restore <バックアップのフォルダ>` で復元してください。",
            detail,
        )
    return None


def _connect(path: Path, *, timeout: float = 30.0) -> sqlite3.Connection:
    """A plain connection to an existing file (never creates one: a wrong path is an error, not an empty database)."""
    if not path.is_file():
        raise DatabaseUnavailable(
            f"データベースのファイル（{path}）がありません。MINUTES_DATA_DIR の場所を確かめるか、"
            "`minutes restore <バックアップのフォルダ>` で復元してください。",
            f"no file {path}",
        )
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=rw", uri=True, timeout=timeout, isolation_level=None)


def integrity_problems(path: Path, *, quick: bool = False, limit: int = 100) -> list[str]:
    """What ``PRAGMA integrity_check`` (or ``quick_check``) finds wrong, at most ``limit`` lines; [] when all is
    well. A file that is not a database at all is one problem too."""
    pragma = "quick_check" if quick else "integrity_check"
    try:
        with contextlib.closing(_connect(path)) as connection:
            rows = connection.execute(f"PRAGMA {pragma}({int(limit)})").fetchall()
    except sqlite3.DatabaseError as error:
        if (getattr(error, "sqlite_errorcode", 0) & 0xFF) in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
            return [f"データベースとして読めません（{error}）"]
        raise
    lines = [line for row in rows for line in str(row[0]).splitlines() if not line.startswith("*** in database")]
    return [] if lines == ["ok"] else lines


def schema_revision(path: Path) -> str | None:
    """The Alembic revision stored in the database (``0006`` …), None when it has none."""
    with contextlib.closing(_connect(path)) as connection:
        try:
            row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.OperationalError:  # no such table: never migrated
            return None
    return None if row is None else str(row[0])


def audit_head(path: Path) -> tuple[int, str | None] | None:
    """(id, hash) of the newest audit event in the database file; None when there is none (or no chain yet)."""
    with contextlib.closing(_connect(path)) as connection:
        try:
            row = connection.execute("SELECT id, hash FROM auditevent ORDER BY id DESC LIMIT 1").fetchone()
        except sqlite3.OperationalError:  # an older schema: no audit trail, or no hash chain yet
            return None
    return None if row is None else (int(row[0]), row[1])


def backup_database(source: Path, target: Path) -> None:
    """Copy the database ``source`` to the new file ``target`` with SQLite's online backup API: a consistent
    snapshot while the app and the worker keep writing (WAL readers do not block them). The copy is made a single
    self-contained file (rollback journal, no ``-wal``), to be read or moved on its own."""
    with contextlib.closing(_connect(source)) as reader, contextlib.closing(sqlite3.connect(target)) as writer:
        reader.backup(writer)
        writer.execute("PRAGMA journal_mode=DELETE")


def in_use(path: Path) -> bool:
    """Whether another process has the database open. The app and the worker keep it open in WAL mode, where every
    connection holds a shared lock on the file's lock bytes for as long as it is open; a process that cannot take
    that range exclusively knows someone else is there. False when it cannot tell (no file, no ``fcntl``).

    Only for a process with no connection of its own to ``path``: closing a descriptor drops every POSIX lock the
    process holds on the file, its own SQLite connections' included."""
    if fcntl is None or not path.is_file():
        return False
    shared_first, shared_size = 0x40000000 + 2, 510  # SQLite's PENDING_BYTE + 2, SHARED_SIZE (os_unix.c)
    descriptor = os.open(path, os.O_RDWR)
    try:
        fcntl.lockf(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB, shared_size, shared_first)
    except OSError:
        return True
    else:
        fcntl.lockf(descriptor, fcntl.LOCK_UN, shared_size, shared_first)
        return False
    finally:
        os.close(descriptor)

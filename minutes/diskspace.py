"""A full disk, told plainly: ENOSPC (or SQLite's "database or disk is full") found behind any error, and a message
for the clerk that says how much is free and what can be deleted.

The disk can fill anywhere something is written: an upload, the decoded audio of a job, the assembled Whisper model,
the database. The code that writes removes its partial file and lets the error rise; where errors are shown (the job
record, the page, the command line) :func:`is_disk_full` recognises it and :func:`disk_full` makes the message.
"""

from __future__ import annotations

import errno
import shutil
import sqlite3
from pathlib import Path

from minutes.errors import DiskFullError

_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})  # no space left; disk quota exceeded
_SQLITE_FULL = 13
RETRY_JOB = "空きを作ってから「再試行」してください。"
RETRY_COMMAND = "空きを作ってから、もう一度お試しください。"


def is_disk_full(error: BaseException | None) -> bool:
    """Whether ``error``, or an error it was raised from or wraps (SQLAlchemy's ``orig``), is a full disk."""
    pending, seen = [error], set()
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in _FULL_ERRNOS:
            return True
        if isinstance(current, sqlite3.Error) and (
            (getattr(current, "sqlite_errorcode", 0) or 0) & 0xFF == _SQLITE_FULL
            or "database or disk is full" in str(current)
        ):
            return True
        if isinstance(current, DiskFullError):
            return True
        orig = getattr(current, "orig", None)
        pending.extend([current.__cause__, current.__context__, orig if isinstance(orig, BaseException) else None])
    return False


def free_bytes(path: Path) -> int | None:
    """Free bytes on the disk holding ``path`` (or its nearest existing parent); None when it cannot be read."""
    path = Path(path)
    for candidate in (path, *path.parents):
        if candidate.exists():
            try:
                return shutil.disk_usage(candidate).free
            except OSError:
                return None
    return None


def _size(count: int) -> str:
    if count >= 1 << 30:
        return f"{count / (1 << 30):.1f} GB"
    if count >= 1 << 20:
        return f"{count / (1 << 20):.0f} MB"
    return f"{count / 1024:.0f} KB"


def disk_full(data_dir: Path, error: BaseException | None = None, *, then: str = RETRY_COMMAND) -> DiskFullError:
    """The error to show for a full disk under ``data_dir``; ``then`` says what to do once space is freed."""
    free = free_bytes(data_dir)
    where = (
        f"データフォルダ {data_dir} のディスクの空きは {_size(free)}"
        if free is not None
        else f"データフォルダ {data_dir}"
    )
    cause = f"{type(error).__name__}: {error}" if error is not None else ""
    return DiskFullError(
        f"ディスクの空き容量が不足しています（{where}）。データフォルダの work/（処理中の一時ファイル）・playback/"
        "（再生用のキャッシュ）・previews/（資料の表示用キャッシュ）の中身や、不要になった古い録音を削除して"
        f"{then}",
        f"disk full: {free if free is not None else 'unknown'} bytes free under {data_dir}; {cause}"[:2000],
    )

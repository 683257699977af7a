"""Stored uploads (recordings, materials): under the data directory, named by the system, never by the user.

The user's file name is kept in the database for display only, so odd names, very long names, and names with path
tricks (``../../etc/passwd``) are harmless. A stored file is never deleted when a job fails: the job can be retried.
A copy cut short (too large, a full disk) leaves nothing behind; a full disk is told as such (``minutes.diskspace``).
"""

from __future__ import annotations

import hashlib
import re
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from minutes.diskspace import disk_full, is_disk_full
from minutes.errors import InputError

_SUFFIX = re.compile(r"^\.[a-z0-9]{1,5}$")


@dataclass(frozen=True)
class StoredFile:
    relative_path: str
    size_bytes: int
    sha256: str


def safe_suffix(original_name: str) -> str:
    """The lower-cased extension of ``original_name`` if it is a plain short one, else ``.bin``."""
    suffix = Path(original_name.replace("\\", "/")).suffix.lower()
    return suffix if _SUFFIX.match(suffix) else ".bin"


def display_name(original_name: str) -> str:
    """The base name of what the user uploaded, for showing only (control characters removed, at most 255 chars)."""
    name = original_name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    return (name or "recording")[:255]


def too_large(max_bytes: int, what: str = "録音") -> InputError:
    advice = "録音を分割するか" if what == "録音" else "ファイルを分けるか"
    setting = "録音の最大サイズ" if what == "録音" else "資料の最大サイズ"
    return InputError(
        f"{'ファイル' if what == '録音' else what}が大きすぎます（上限 {max_bytes >> 20:,} MB）。{advice}、"
        f"管理者に上限（管理 → {setting}）の変更を依頼してください。",
        f"{what} exceeds {max_bytes} bytes",
    )


def save(stream: BinaryIO, *, root: Path, folder: Path, suffix: str, max_bytes: int, what: str = "録音") -> StoredFile:
    """Copy ``stream`` into ``folder/<uuid><suffix>`` atomically, hashing it on the way; the path kept is relative to
    ``root`` (the data folder). ``what`` (録音, 資料) names the file in the message when it is over ``max_bytes``.
    On a full disk the partial copy is removed and the error says how much is free and what may be deleted."""
    final = folder / f"{uuid.uuid4().hex}{suffix}"
    partial = final.with_name(final.name + ".part")
    digest = hashlib.sha256()
    size = 0
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with partial.open("wb") as out:
            while block := stream.read(1 << 20):
                size += len(block)
                if size > max_bytes:
                    raise too_large(max_bytes, what)
                digest.update(block)
                out.write(block)
        partial.rename(final)
    except OSError as error:
        if is_disk_full(error):
            partial.unlink(missing_ok=True)  # first, so that the message counts the space it held as free
            raise disk_full(root, error) from None
        raise
    finally:
        partial.unlink(missing_ok=True)
    return StoredFile(str(final.relative_to(root)), size, digest.hexdigest())


def save_file(source: Path, *, root: Path, folder: Path, max_bytes: int) -> StoredFile:
    """:func:`save` a recording given as a path (the CLI), refusing a missing or too large file before copying."""
    if not source.is_file():
        raise InputError(f"ファイル「{display_name(str(source))}」が見つかりません。", f"no such file: {source}")
    if source.stat().st_size > max_bytes:
        raise too_large(max_bytes)
    with source.open("rb") as stream:
        return save(stream, root=root, folder=folder, suffix=safe_suffix(source.name), max_bytes=max_bytes)


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)

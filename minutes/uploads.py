"""Stored recordings: under the data directory, named by the system, never by the user.

The user's file name is kept in the database for display only, so odd names, very long names, and names with path
tricks (``../../etc/passwd``) are harmless. A stored file is never deleted when a job fails: the job can be retried.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

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


def store(data_dir: Path, stream: BinaryIO, *, original_name: str, subfolder: str, max_bytes: int) -> StoredFile:
    """Copy ``stream`` into ``data_dir/recordings/<subfolder>/<uuid><ext>`` atomically, hashing it on the way."""
    folder = data_dir / "recordings" / subfolder
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / f"{uuid.uuid4().hex}{safe_suffix(original_name)}"
    partial = final.with_name(final.name + ".part")
    digest = hashlib.sha256()
    size = 0
    try:
        with partial.open("wb") as out:
            while block := stream.read(1 << 20):
                size += len(block)
                if size > max_bytes:
                    raise InputError(
                        f"ファイルが大きすぎます（上限 {max_bytes // (1 << 20):,} MB）。録音を分割するか、"
                        "管理者に上限（管理 → 録音の最大サイズ）の変更を依頼してください。",
                        f"upload exceeds {max_bytes} bytes",
                    )
                digest.update(block)
                out.write(block)
        partial.rename(final)
    finally:
        partial.unlink(missing_ok=True)
    return StoredFile(str(final.relative_to(data_dir)), size, digest.hexdigest())


def store_path(data_dir: Path, source: Path, *, subfolder: str, max_bytes: int) -> StoredFile:
    if not source.is_file():
        raise InputError(f"ファイル「{display_name(str(source))}」が見つかりません。", f"no such file: {source}")
    if source.stat().st_size > max_bytes:
        raise InputError(
            f"ファイルが大きすぎます（上限 {max_bytes // (1 << 20):,} MB）。録音を分割するか、"
            "管理者に上限（管理 → 録音の最大サイズ）の変更を依頼してください。",
            f"file exceeds {max_bytes} bytes",
        )
    with source.open("rb") as stream:
        return store(data_dir, stream, original_name=source.name, subfolder=subfolder, max_bytes=max_bytes)


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)

"""Writing archive packages without holding the database's write lock while files are copied.

Finalizing (or ``archive create``) happens in two steps:

1. :func:`stage_archive` reads what goes in (the 会議録, the materials, the recording) in a read-only session, closes
   it, and writes every file into a hidden staging folder ``archive/<id>/.v<N>.<random>.p<pid>.h<host>.part`` with
   no transaction open: a 4 GB recording is copied and hashed while every other writer (editors, the worker's
   heartbeat) goes on.
2. :func:`commit_staged`, in one short transaction under the write lock: checks that nothing it read has changed
   meanwhile (else the staging folder goes and ``EditConflict`` says so), renames the folder into place
   (``v<N>``), adds the ``Archive`` row and the ``archive`` audit event, which records the manifest's SHA-256 in
   the hash-chained trail, and commits; a failed commit removes the folder again.

A process killed while staging leaves its ``.part`` folder behind: :func:`sweep_staging` (at start, and before each
staging) removes those of dead processes on this host, and any untouched for an hour.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import os
import re
import shutil
import socket
import stat
import time
import uuid
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session

import exports
from minutes import store
from minutes.errors import EditConflict, InputError
from minutes.processes import pid_alive
from minutes.services.documents import build_document, safe_filename
from minutes.settings import Settings
from minutes.store.engine import write_lock
from minutes.store.tables import Archive, Meeting, utcnow

MANIFEST = "manifest.json"
FORMAT = "minutes-archive/1"
DOCUMENTS = {"docx": "会議録.docx", "json": "会議録.json", "txt": "会議録.txt"}
STALE_SECONDS = 3600  # a staging folder untouched this long belongs to no running finalization
HOST = hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]
_STAGING = re.compile(r"^\.v\d+\.[0-9a-f]+\.p(\d+)\.h([0-9a-f]{8})\.part$")


def software_version() -> str:
    try:
        return version("minutes")
    except PackageNotFoundError:
        return "unknown"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while block := stream.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def copy_hashed(source: Path, target: Path) -> str:
    """Copy ``source`` to ``target`` and return the SHA-256 of what was copied (one read of the source)."""
    digest = hashlib.sha256()
    with source.open("rb") as reader, target.open("wb") as writer:
        while block := reader.read(1 << 20):
            digest.update(block)
            writer.write(block)
    return digest.hexdigest()


# ---------------------------------------------------------------- what goes in


@dataclass(frozen=True)
class Snapshot:
    """Everything an archive is made of, as read from the database: equal snapshots make equal archives."""

    meeting: tuple  # id, version, title, kind, held_at, place, finalized_by, finalized_at
    document: exports.MinutesDocument
    materials: tuple[tuple, ...]  # id, stored_path, sha256, size, title, original_name, agenda_order, uploaded_by
    recording: tuple | None  # id, stored_path, original_name (when the recording goes in)


def _snapshot(session: Session, settings: Settings, meeting: Meeting, by: str, at: dt.datetime) -> Snapshot:
    """The archive's content for ``meeting`` as finalized by ``by`` at ``at`` (a draft is read as if it were)."""
    document = dataclasses.replace(
        build_document(session, meeting_id=meeting.id), finalized=True, finalized_by=by, finalized_at=at
    )
    materials = tuple(
        (m.id, m.stored_path, m.sha256, m.size_bytes, m.title, m.original_name, m.agenda_order, m.uploaded_by)
        for m in store.materials_of(session, meeting_id=meeting.id)
    )
    recording = store.recording_of(session, meeting_id=meeting.id)
    included = (
        settings.archive_recording and recording is not None and (settings.data_dir / recording.stored_path).is_file()
    )
    return Snapshot(
        (meeting.id, meeting.version, meeting.title, meeting.kind, meeting.held_at, meeting.place, by, at),
        document,
        materials,
        (recording.id, recording.stored_path, recording.original_name) if included else None,
    )


@dataclass
class Staged:
    """An archive written to its staging folder, not yet in place nor in the database."""

    settings: Settings
    meeting_id: int
    version: int
    actor: str
    snapshot: Snapshot
    staging: Path
    folder: Path  # where it goes
    manifest_sha256: str
    files: int
    total_bytes: int
    created_at: dt.datetime
    installed: Path | None = None  # set once renamed into place (removed again if the commit fails)


def staging_name(final: str) -> str:
    """The hidden name of a staging folder: the process id and this host, so that a sweep knows whose it is."""
    return f".{final}.{uuid.uuid4().hex[:12]}.p{os.getpid()}.h{HOST}.part"


def stage_archive(
    engine: Engine, *, settings: Settings, meeting_id: int, actor: str, finalized_at: dt.datetime | None = None
) -> Staged:
    """Write the archive of the meeting into a staging folder, with no transaction open while files are copied.

    ``finalized_at``: the meeting is being finalized by ``actor`` at that moment (it is still a draft in the
    database); None: archive a meeting that is finalized already."""
    sweep_staging(settings)
    with Session(engine) as session:
        meeting = store.get_meeting(session, meeting_id=meeting_id)
        if finalized_at is None:
            if meeting.finalized_at is None:
                raise InputError("確定していない会議録はアーカイブできません。", f"meeting {meeting_id} not finalized")
            by, at = meeting.finalized_by or "", meeting.finalized_at
        else:
            by, at = actor, finalized_at
        _refuse_existing(session, meeting_id, meeting.version)
        snapshot = _snapshot(session, settings, meeting, by, at)
    folder = settings.archive_dir / str(meeting_id) / f"v{snapshot.meeting[1]}"
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = folder.with_name(staging_name(folder.name))
    staging.mkdir()
    try:
        files = _write_files(staging, settings, snapshot)
        created_at = utcnow()
        data = _manifest(snapshot, files, actor, created_at)
        (staging / MANIFEST).write_bytes(data)
    except BaseException:
        remove_folder(staging)
        raise
    return Staged(
        settings, meeting_id, snapshot.meeting[1], actor, snapshot, staging, folder,
        hashlib.sha256(data).hexdigest(), len(files), sum(f["size"] for f in files), created_at,
    )  # fmt: skip


def _refuse_existing(session: Session, meeting_id: int, version: int) -> None:
    if any(a.version == version for a in store.archives_of(session, meeting_id=meeting_id)):
        raise InputError(f"第{version}版のアーカイブはすでにあります。", f"archive v{version} exists")


def _manifest(snapshot: Snapshot, files: list[dict], actor: str, created_at: dt.datetime) -> bytes:
    meeting_id, version, title, kind, held_at, place, by, at = snapshot.meeting
    manifest = {
        "format": FORMAT,
        "meeting": {
            "id": meeting_id,
            "title": title,
            "kind": kind,
            "held_at": held_at.isoformat() if held_at else None,
            "place": place,
        },
        "version": version,
        "finalized_by": by,
        "finalized_at": at.isoformat(),
        "created_at": created_at.isoformat(),
        "created_by": actor,
        "software": {"name": "minutes", "version": software_version()},
        "files": files,
    }
    return json.dumps(manifest, ensure_ascii=False, indent=2).encode("utf-8") + b"\n"


def _write_files(staging: Path, settings: Settings, snapshot: Snapshot) -> list[dict]:
    data_dir = settings.data_dir
    files: list[dict] = []
    for fmt, name in DOCUMENTS.items():
        data = exports.FORMATS[fmt].render(snapshot.document, None)
        (staging / name).write_bytes(data)
        files.append(
            {"path": name, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data), "role": "minutes"}
            | {"format": fmt}
        )
    for number, material in enumerate(snapshot.materials, start=1):
        material_id, stored_path, sha256, size, title, original_name, agenda_order, uploaded_by = material
        source = data_dir / stored_path
        relative = f"資料/{number:02d}_{safe_filename(Path(original_name).stem)[:60]}{source.suffix}"
        (staging / "資料").mkdir(exist_ok=True)
        if not source.is_file():
            raise InputError(
                f"資料「{title}」のファイルが見つからないため確定できません。管理者に連絡してください。",
                f"missing {source}",
            )
        if copy_hashed(source, staging / relative) != sha256:
            raise InputError(
                f"資料「{title}」のファイルが登録時から変わっています（改ざんまたは破損の可能性）。"
                "資料を削除して登録し直してから確定してください。",
                f"sha256 of material {material_id} changed",
            )
        files.append(
            {"path": relative, "sha256": sha256, "size": size, "role": "material", "title": title}
            | {"original_name": original_name, "agenda_order": agenda_order, "uploaded_by": uploaded_by}
        )
    if snapshot.recording is not None:
        _recording_id, stored_path, original_name = snapshot.recording
        source = data_dir / stored_path
        relative = f"録音/{safe_filename(Path(original_name).stem)[:60]}{source.suffix}"
        (staging / "録音").mkdir(exist_ok=True)
        digest = copy_hashed(source, staging / relative)
        files.append(
            {"path": relative, "sha256": digest, "size": (staging / relative).stat().st_size, "role": "recording"}
        )
    return files


# ---------------------------------------------------------------- putting it in place


def install_staged(session: Session, staged: Staged) -> Path:
    """In ``session``'s transaction (under the write lock from here on): check that the meeting is still what was
    staged, move the folder into place, add its ``Archive`` row and the audit event with the manifest's SHA-256.
    The caller commits (or calls :func:`discard_staged`)."""
    write_lock(session.connection())
    meeting = store.get_meeting(session, meeting_id=staged.meeting_id)
    session.refresh(meeting)
    by, at = staged.snapshot.meeting[6:]  # as staged: the finalization being committed, or the one recorded
    if meeting.version != staged.version or _snapshot(session, staged.settings, meeting, by, at) != staged.snapshot:
        raise EditConflict(
            "確定の準備中に、他の人が会議録（発言・話者・資料・会議情報）を変更しました。"
            "最新の内容を確認してから、もう一度確定してください。",
            f"meeting {staged.meeting_id} changed while its archive was staged",
        )
    _refuse_existing(session, staged.meeting_id, staged.version)
    folder, data_dir = staged.folder, staged.settings.data_dir
    if folder.exists():  # left by a finalization killed before its commit: keep it aside, never overwrite
        folder.rename(folder.with_name(f"{folder.name}.abandoned-{uuid.uuid4().hex[:8]}"))
    staged.staging.rename(folder)
    staged.installed = folder
    make_read_only(folder)
    relative = str(folder.relative_to(data_dir))
    store.add_archive(
        session,
        archive=Archive(
            meeting_id=staged.meeting_id,
            version=staged.version,
            path=relative,
            manifest_sha256=staged.manifest_sha256,
            files=staged.files,
            total_bytes=staged.total_bytes,
            created_by=staged.actor[:100],
            created_at=staged.created_at,
        ),
    )
    store.audit.record(
        session, actor=staged.actor, action="archive", target_type="meeting", target_id=staged.meeting_id,
        after={"version": staged.version, "folder": relative, "manifest_sha256": staged.manifest_sha256,
               "files": staged.files, "bytes": staged.total_bytes},
    )  # fmt: skip
    return folder


def commit_staged(session: Session, staged: Staged) -> Path:
    """:func:`install_staged` and commit ``session`` with it; on any failure nothing stays behind (a meeting is
    finalized only with its archive, an archive exists only for a committed version)."""
    try:
        folder = install_staged(session, staged)
        session.commit()
    except BaseException:
        session.rollback()
        discard_staged(staged)
        raise
    return folder


def discard_staged(staged: Staged) -> None:
    """Remove what :func:`stage_archive` wrote (and the folder, if it was already moved into place)."""
    remove_folder(staged.staging)
    if staged.installed is not None:
        remove_folder(staged.installed)
        staged.installed = None


def make_read_only(folder: Path) -> None:
    for path in sorted(folder.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        path.chmod(
            stat.S_IRUSR
            | stat.S_IRGRP
            | stat.S_IROTH
            | (stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH if path.is_dir() else 0)
        )
    folder.chmod(0o555)


def remove_folder(folder: Path) -> None:
    """Remove a folder, read-only archive files included."""
    if not folder.exists():
        return
    for path in [folder, *folder.rglob("*")]:
        if path.is_dir() and not path.is_symlink():
            path.chmod(0o755)
    shutil.rmtree(folder, ignore_errors=True)


# ---------------------------------------------------------------- leftovers of killed processes


def _last_touched(folder: Path) -> float:
    """The newest modification time in the folder (a copy in progress keeps touching its file)."""
    times = [folder.stat().st_mtime]
    for path in folder.rglob("*"):
        try:
            times.append(path.stat().st_mtime)
        except OSError:  # removed meanwhile
            continue
    return max(times)


def _abandoned(folder: Path, now: float) -> bool:
    """Whether a staging folder belongs to no running finalization: its process (on this host) has died, or,
    whoever made it (another host, an older name without a pid, a reused pid), nothing touched it for an hour."""
    match = _STAGING.match(folder.name)
    if match is not None and match.group(2) == HOST:
        pid = int(match.group(1))
        if pid == os.getpid():
            return False  # another thread of this process is writing it
        if not pid_alive(pid):
            return True
    return now - _last_touched(folder) > STALE_SECONDS


def sweep_staging(settings: Settings) -> list[Path]:
    """Remove staging folders (``.v<N>.….part``) left by finalizations that were killed, and the ``v<N>.abandoned-…``
    folders set aside for never-committed archives; a staging folder of a finalization still running (in this or
    another live process) stays. Returns what was removed."""
    removed: list[Path] = []
    root = settings.archive_dir
    if not root.is_dir():
        return removed
    now = time.time()
    for meeting in root.iterdir():
        if not meeting.is_dir() or meeting.is_symlink():
            continue
        for entry in meeting.iterdir():
            staging = entry.name.startswith(".") and entry.name.endswith(".part")
            aside = re.fullmatch(r"v\d+\.abandoned-[0-9a-f]+", entry.name) is not None
            try:
                if entry.is_dir() and not entry.is_symlink() and (aside or (staging and _abandoned(entry, now))):
                    remove_folder(entry)
                    removed.append(entry)
            except OSError:  # gone meanwhile, or not ours to remove: never stops a start or a finalization
                continue
    return removed

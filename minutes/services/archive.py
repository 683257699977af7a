"""Archive packages of finalized meetings: tamper-evident, never changed in place.

Finalizing a meeting writes ``$MINUTES_DATA_DIR/archive/<meeting id>/v<version>/`` in the same transaction:

    会議録.docx  会議録.json  会議録.txt      the 会議録 as exported (``exports.FORMATS``)
    資料/NN_<name>.<ext>                    the materials, as uploaded (checked against their stored SHA-256)
    録音/<name>                             the recording, when the setting archive_recording is on
    manifest.json                           every file's SHA-256 and size, who finalized it when, the software version

Files are made read-only, and the manifest's own SHA-256 is kept in the database (``Archive.manifest_sha256``), so a
manifest rewritten to match changed files shows too. Reopening and finalizing again writes ``v<version+1>``.
``verify(path)`` lists every changed, missing or extra file.

The recording is copied in when ``archive_recording`` is on (``MINUTES_ARCHIVE_RECORDING=1`` or the 管理 page).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import shutil
import stat
import uuid
import zipfile
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path, PurePosixPath

from sqlmodel import Session

import exports
from minutes import store
from minutes.errors import InputError, NotFoundError
from minutes.services.base import Service
from minutes.services.documents import build_document, safe_filename
from minutes.services.permissions import Permission, check
from minutes.settings import Settings
from minutes.store.tables import Archive, utcnow

MANIFEST = "manifest.json"
FORMAT = "minutes-archive/1"
DOCUMENTS = {"docx": "会議録.docx", "json": "会議録.json", "txt": "会議録.txt"}


def software_version() -> str:
    try:
        return version("minutes")
    except PackageNotFoundError:
        return "unknown"


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while block := stream.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _copy_hashed(source: Path, target: Path) -> str:
    digest = hashlib.sha256()
    with source.open("rb") as reader, target.open("wb") as writer:
        while block := reader.read(1 << 20):
            digest.update(block)
            writer.write(block)
    return digest.hexdigest()


# ---------------------------------------------------------------- writing


def write_archive(session: Session, *, settings: Settings, meeting_id: int, actor: str) -> Path:
    """Write the archive of the meeting's current version (the meeting must be finalized in ``session``) and add its
    ``Archive`` row to the session; returns the folder. The caller commits, or calls ``discard`` on failure."""
    data_dir = settings.data_dir
    meeting = store.get_meeting(session, meeting_id=meeting_id)
    session.refresh(meeting)
    if meeting.finalized_at is None:
        raise InputError("確定していない会議録はアーカイブできません。", f"meeting {meeting_id} not finalized")
    folder = settings.archive_dir / str(meeting_id) / f"v{meeting.version}"
    if any(a.version == meeting.version for a in store.archives_of(session, meeting_id=meeting_id)):
        raise InputError(f"第{meeting.version}版のアーカイブはすでにあります。", f"archive v{meeting.version} exists")
    folder.parent.mkdir(parents=True, exist_ok=True)
    if folder.exists():  # left by a finalization that failed after writing: keep it aside, never overwrite
        folder.rename(folder.with_name(f"{folder.name}.abandoned-{uuid.uuid4().hex[:8]}"))
    store.audit.record(
        session, actor=actor, action="archive", target_type="meeting", target_id=meeting_id,
        after={"version": meeting.version, "folder": str(folder.relative_to(data_dir))},
    )  # fmt: skip
    staging = folder.with_name(f".{folder.name}.{uuid.uuid4().hex}.part")
    staging.mkdir()
    try:
        files = _write_files(session, staging, settings=settings, meeting=meeting)
        created_at = utcnow()
        manifest = {
            "format": FORMAT,
            "meeting": {
                "id": meeting.id,
                "title": meeting.title,
                "kind": meeting.kind,
                "held_at": meeting.held_at.isoformat() if meeting.held_at else None,
                "place": meeting.place,
            },
            "version": meeting.version,
            "finalized_by": meeting.finalized_by,
            "finalized_at": meeting.finalized_at.isoformat(),
            "created_at": created_at.isoformat(),
            "created_by": actor,
            "software": {"name": "minutes", "version": software_version()},
            "files": files,
        }
        data = json.dumps(manifest, ensure_ascii=False, indent=2).encode("utf-8") + b"\n"
        (staging / MANIFEST).write_bytes(data)
        staging.rename(folder)
    except BaseException:
        _remove(staging)
        raise
    _make_read_only(folder)
    store.add_archive(
        session,
        archive=Archive(
            meeting_id=meeting_id,
            version=meeting.version,
            path=str(folder.relative_to(data_dir)),
            manifest_sha256=hashlib.sha256(data).hexdigest(),
            files=len(files),
            total_bytes=sum(f["size"] for f in files),
            created_by=actor[:100],
            created_at=created_at,
        ),
    )
    return folder


def commit_with_archive(session: Session, *, settings: Settings, meeting_id: int, actor: str) -> Path:
    """Write the archive of the finalized meeting and commit ``session`` with it; if the commit fails, the folder is
    removed again (a meeting is finalized only with its archive, an archive exists only for a committed version)."""
    folder = write_archive(session, settings=settings, meeting_id=meeting_id, actor=actor)
    try:
        session.commit()
    except BaseException:
        discard(folder)
        raise
    return folder


def _write_files(session: Session, staging: Path, *, settings: Settings, meeting) -> list[dict]:
    data_dir = settings.data_dir
    files: list[dict] = []

    def add(relative: str, data: bytes, role: str, **extra) -> None:
        target = staging / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        files.append(
            {"path": relative, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data), "role": role} | extra
        )

    document = build_document(session, meeting_id=meeting.id)
    for fmt, name in DOCUMENTS.items():
        add(name, exports.FORMATS[fmt].render(document, None), "minutes", format=fmt)
    for number, material in enumerate(store.materials_of(session, meeting_id=meeting.id), start=1):
        source = data_dir / material.stored_path
        stem = safe_filename(Path(material.original_name).stem)[:60]
        relative = f"資料/{number:02d}_{stem}{source.suffix}"
        (staging / "資料").mkdir(exist_ok=True)
        if not source.is_file():
            raise InputError(
                f"資料「{material.title}」のファイルが見つからないため確定できません。管理者に連絡してください。",
                f"missing {source}",
            )
        digest = _copy_hashed(source, staging / relative)
        if digest != material.sha256:
            raise InputError(
                f"資料「{material.title}」のファイルが登録時から変わっています（改ざんまたは破損の可能性）。"
                "資料を削除して登録し直してから確定してください。",
                f"sha256 of material {material.id} changed",
            )
        files.append(
            {
                "path": relative,
                "sha256": digest,
                "size": material.size_bytes,
                "role": "material",
                "title": material.title,
                "original_name": material.original_name,
                "agenda_order": material.agenda_order,
                "uploaded_by": material.uploaded_by,
            }
        )
    recording = store.recording_of(session, meeting_id=meeting.id)
    if settings.archive_recording and recording is not None and (data_dir / recording.stored_path).is_file():
        source = data_dir / recording.stored_path
        relative = f"録音/{safe_filename(Path(recording.original_name).stem)[:60]}{source.suffix}"
        (staging / "録音").mkdir(exist_ok=True)
        digest = _copy_hashed(source, staging / relative)
        files.append(
            {"path": relative, "sha256": digest, "size": (staging / relative).stat().st_size, "role": "recording"}
        )
    return files


def _make_read_only(folder: Path) -> None:
    for path in sorted(folder.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        path.chmod(
            stat.S_IRUSR
            | stat.S_IRGRP
            | stat.S_IROTH
            | (stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH if path.is_dir() else 0)
        )
    folder.chmod(0o555)


def _remove(folder: Path) -> None:
    if not folder.exists():
        return
    for path in [folder, *folder.rglob("*")]:
        if path.is_dir():
            path.chmod(0o755)
    shutil.rmtree(folder, ignore_errors=True)


def discard(folder: Path) -> None:
    """Remove an archive folder whose database row was never committed (finalization failed)."""
    _remove(folder)


# ---------------------------------------------------------------- verifying


@dataclass(frozen=True)
class Problem:
    kind: str  # changed, missing, extra, manifest
    path: str
    detail: str = ""

    @property
    def line(self) -> str:
        label = {"changed": "変更", "missing": "欠落", "extra": "余分", "manifest": "目録"}[self.kind]
        return f"{label}: {self.path}{'（' + self.detail + '）' if self.detail else ''}"


@dataclass(frozen=True)
class Verification:
    folder: Path
    manifest: dict
    problems: tuple[Problem, ...]
    files: int

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(path: Path, *, manifest_sha256: str | None = None) -> Verification:
    """Compare an archive folder (or its manifest.json) with its manifest; ``manifest_sha256`` as recorded, if known."""
    path = Path(path)
    folder = path.parent if path.name == MANIFEST and path.is_file() else path
    manifest_path = folder / MANIFEST
    if not folder.is_dir():
        raise InputError(f"アーカイブ「{path}」が見つかりません。", f"no folder {folder}")
    if not manifest_path.is_file():
        raise InputError(
            f"「{folder}」に {MANIFEST} がありません。アーカイブのフォルダを指定してください。", "no manifest"
        )
    raw = manifest_path.read_bytes()
    try:
        manifest = json.loads(raw)
        entries = manifest["files"]
        if manifest.get("format") != FORMAT or not isinstance(entries, list):
            raise ValueError(manifest.get("format"))
    except (ValueError, KeyError, TypeError) as error:
        raise InputError(
            f"{MANIFEST} を読み取れません（アーカイブの目録ではないか、壊れています）。", str(error)
        ) from None
    problems: list[Problem] = []
    if manifest_sha256 is not None and hashlib.sha256(raw).hexdigest() != manifest_sha256:
        problems.append(Problem("manifest", MANIFEST, "作成時に記録した SHA-256 と一致しません"))
    listed: set[str] = set()
    for entry in entries:
        relative = str(entry.get("path", ""))
        pure = PurePosixPath(relative)
        if not relative or pure.is_absolute() or ".." in pure.parts:
            problems.append(Problem("manifest", relative or "（空）", "不正なパスが目録にあります"))
            continue
        listed.add(relative)
        target = folder / relative
        if not target.is_file() or target.is_symlink():
            problems.append(Problem("missing", relative))
        elif target.stat().st_size != entry.get("size"):
            problems.append(
                Problem("changed", relative, f"大きさが {entry.get('size')} → {target.stat().st_size} バイト")
            )
        elif _sha256_file(target) != entry.get("sha256"):
            problems.append(Problem("changed", relative, "SHA-256 が一致しません"))
    for found in sorted(folder.rglob("*")):
        relative = found.relative_to(folder).as_posix()
        if relative == MANIFEST or (found.is_dir() and not found.is_symlink()):
            continue
        if relative not in listed:
            problems.append(Problem("extra", relative))
    return Verification(folder, manifest, tuple(problems), len(listed))


# ---------------------------------------------------------------- the service


@dataclass(frozen=True)
class ArchiveInfo:
    id: int
    meeting_id: int
    version: int
    path: Path  # absolute
    manifest_sha256: str
    files: int
    total_bytes: int
    created_by: str
    created_at: dt.datetime


class ArchiveService(Service):
    """The archive packages of finalized meetings: list, verify, create, download as a zip."""

    def list(self, meeting_id: int) -> list[ArchiveInfo]:
        """The archive versions of a meeting (refused for a closed meeting the user is not a member of)."""
        with Session(self.engine) as session:
            self._readable(session, meeting_id)
            return [
                ArchiveInfo(
                    a.id,
                    a.meeting_id,
                    a.version,
                    self.settings.data_dir / a.path,
                    a.manifest_sha256,
                    a.files,
                    a.total_bytes,
                    a.created_by,
                    a.created_at,
                )
                for a in store.archives_of(session, meeting_id=meeting_id)
            ]

    def _known(self, session: Session, folder: Path) -> Archive | None:
        """The archive row of ``folder`` when it is one of this data directory's archives."""
        try:
            relative = str(folder.relative_to(self.settings.data_dir.resolve()))
        except ValueError:
            return None
        return store.archive_at(session, path=relative)

    def verify(self, path: Path) -> Verification:
        """Verify a folder; when it is one of this data directory's archives, its manifest is checked too. A signed-in
        user may verify only the archives of meetings they may see; the operating-system user (CLI) any folder."""
        path = Path(path).resolve()
        folder = path.parent if path.name == MANIFEST else path
        with Session(self.engine) as session:
            row = self._known(session, folder)
            if not self.user.local:
                if row is None:
                    raise NotFoundError("この保存版は見つかりません。", f"no archive at {folder}")
                check(session, self.user, Permission.READ, row.meeting_id)
            recorded = row.manifest_sha256 if row is not None else None
        return verify(folder, manifest_sha256=recorded)

    def create(self, meeting_id: int) -> ArchiveInfo:
        """Archive a finalized meeting that has no archive of its current version (e.g. finalized before archives)."""
        with Session(self.engine) as session:
            check(session, self.user, Permission.FINALIZE, meeting_id)
            folder = commit_with_archive(session, settings=self.settings, meeting_id=meeting_id, actor=self.actor)
        return next(a for a in self.list(meeting_id) if a.path == folder)

    def zip_bytes(self, path: Path) -> bytes:
        """One of this data directory's archive folders as a zip, for downloading: an export of the meeting (needs the
        export permission on it, and is recorded like one)."""
        folder = Path(path).resolve()
        with Session(self.engine) as session:
            row = self._known(session, folder)
            if row is None:
                raise NotFoundError("この保存版は見つかりません。", f"no archive at {folder}")
            check(session, self.user, Permission.EXPORT, row.meeting_id)
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
                for file in sorted(folder.rglob("*")):
                    if file.is_file():
                        archive.write(file, f"{folder.parent.name}-{folder.name}/{file.relative_to(folder).as_posix()}")
            data = buffer.getvalue()
            store.add_event(
                session,
                meeting_id=row.meeting_id,
                action="export",
                actor=self.actor,
                detail={"format": "archive-zip", "bytes": len(data), "version": row.version},
            )
            session.commit()
        return data

"""Archive packages of finalized meetings: tamper-evident, never changed in place.

Finalizing a meeting writes ``$MINUTES_DATA_DIR/archive/<meeting id>/v<version>/``:

    会議録.docx  会議録.json  会議録.txt      the 会議録 as exported (``exports.FORMATS``)
    資料/NN_<name>.<ext>                    the materials, as uploaded (checked against their stored SHA-256)
    録音/<name>                             the recording, when the setting archive_recording is on
    manifest.json                           every file's SHA-256 and size, who finalized it when, the software version

The files are copied into a staging folder with no transaction open, then moved into place in one short transaction
(``minutes.services.archive_writer``). Files are made read-only, and the manifest's own SHA-256 is written into the
``archive`` event of the hash-chained audit trail (and ``Archive.manifest_sha256``), so a manifest rewritten to match
changed files shows too. Reopening and finalizing again writes ``v<version+1>``. ``verify(path)`` lists every
changed, missing or extra file; ``ArchiveService.verify`` also checks the manifest against the audit trail and says
whether it could.

The recording is copied in when ``archive_recording`` is on (``MINUTES_ARCHIVE_RECORDING=1`` or the 管理 page).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from sqlmodel import Session

from minutes import clock, store
from minutes.errors import InputError, NotFoundError
from minutes.services.archive_writer import (
    DOCUMENTS,
    FORMAT,
    MANIFEST,
    Staged,
    commit_staged,
    discard_staged,
    sha256_file,
    software_version,
    stage_archive,
    sweep_staging,
)
from minutes.services.base import Service
from minutes.services.permissions import Permission, check
from minutes.store.tables import Archive, AuditEvent

__all__ = [
    "DOCUMENTS",
    "FORMAT",
    "MANIFEST",
    "ArchiveInfo",
    "ArchiveService",
    "Problem",
    "Staged",
    "Verification",
    "commit_staged",
    "discard_staged",
    "read_manifest",
    "software_version",
    "stage_archive",
    "sweep_staging",
    "verify",
]


# ---------------------------------------------------------------- verifying


@dataclass(frozen=True)
class Problem:
    kind: str  # changed, missing, extra, manifest, record
    path: str
    detail: str = ""

    @property
    def line(self) -> str:
        label = {"changed": "変更", "missing": "欠落", "extra": "余分", "manifest": "目録", "record": "記録"}[self.kind]
        return f"{label}: {self.path}{'（' + self.detail + '）' if self.detail else ''}"


@dataclass(frozen=True)
class Verification:
    folder: Path
    manifest: dict
    problems: tuple[Problem, ...]
    files: int
    note: str = ""  # what the manifest's SHA-256 was checked against, or that it could not be (Japanese)
    recorded: bool = False  # whether it was checked against the audit trail's record

    @property
    def ok(self) -> bool:
        return not self.problems


def read_manifest(path: Path) -> tuple[Path, bytes, dict]:
    """(the archive folder, the manifest's bytes, the manifest) of an archive folder or its manifest.json."""
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
    return folder, raw, manifest


def verify(path: Path, *, manifest_sha256: str | None = None, recorded_in: str = "作成時に記録した") -> Verification:
    """Compare an archive folder (or its manifest.json) with its manifest; ``manifest_sha256`` as recorded, if known
    (``recorded_in`` says where, for the message)."""
    folder, raw, manifest = read_manifest(path)
    problems: list[Problem] = []
    if manifest_sha256 is not None and hashlib.sha256(raw).hexdigest() != manifest_sha256:
        problems.append(
            Problem("manifest", MANIFEST, f"{recorded_in} SHA-256 と一致しません。作成後に目録が書き換えられています")
        )
    listed: set[str] = set()
    for entry in manifest["files"]:
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
        elif sha256_file(target) != entry.get("sha256"):
            problems.append(Problem("changed", relative, "SHA-256 が一致しません"))
    for found in sorted(folder.rglob("*")):
        relative = found.relative_to(folder).as_posix()
        if relative == MANIFEST or (found.is_dir() and not found.is_symlink()):
            continue
        if relative not in listed:
            problems.append(Problem("extra", relative))
    return Verification(folder, manifest, tuple(problems), len(listed))


def _manifest_key(manifest: dict) -> tuple[int, int] | None:
    """(meeting id, version) as the manifest names them, if it does plainly."""
    meeting, version = manifest.get("meeting"), manifest.get("version")
    meeting_id = meeting.get("id") if isinstance(meeting, dict) else None
    if isinstance(meeting_id, int) and isinstance(version, int):
        return meeting_id, version
    return None


def _archive_event(session: Session, key: tuple[int, int] | None) -> AuditEvent | None:
    """The audit trail's ``archive`` event of that meeting and version that recorded the manifest's SHA-256."""
    if key is None:
        return None
    found = [
        e
        for e in store.audit.archive_events(session, meeting_id=key[0])
        if isinstance(e.after, dict) and e.after.get("version") == key[1] and e.after.get("manifest_sha256")
    ]
    return found[-1] if found else None


def _against_audit(folder: Path, event: AuditEvent, intact: bool, row: Archive | None) -> Verification:
    """Verify ``folder`` with its manifest's SHA-256 as the audit event recorded it; the event itself must still be
    where the chain says, and the editable ``Archive`` row (if any) must agree with it."""
    recorded = event.after["manifest_sha256"]
    result = verify(folder, manifest_sha256=recorded, recorded_in=f"監査ログ（id {event.id}）に記録された")
    problems = list(result.problems)
    if not intact:
        what = "この版の作成の記録が記録後に変更されています。`minutes audit verify` で確認してください"
        problems.append(Problem("record", f"監査ログ id {event.id}", what))
    if row is not None and row.manifest_sha256 != recorded:
        what = "目録のハッシュが監査ログの記録と一致しません（データベースが書き換えられています）"
        problems.append(Problem("record", "archive 表", what))
    if any(p.kind in ("manifest", "record") for p in problems):
        return dataclasses.replace(result, problems=tuple(problems))
    note = (
        f"目録のハッシュは監査ログの記録と一致しました（監査ログ id {event.id}、"
        f"{clock.local(event.at, '%Y-%m-%d %H:%M')} に {event.actor} さんが作成）。"
    )
    return dataclasses.replace(result, problems=tuple(problems), note=note, recorded=True)


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
        """Verify a folder, and its manifest against the SHA-256 recorded in the hash-chained audit trail when it
        has one (an archive of this data folder, or a copy of one elsewhere: found by meeting and version); the note
        says what it was checked against, or plainly that it could not be. A signed-in user may verify only the
        archives of meetings they may see; the operating-system user (CLI) any folder."""
        folder, _raw, manifest = read_manifest(Path(path).resolve())
        with Session(self.engine) as session:
            row = self._known(session, folder)
            if row is not None:  # never another organisation's, not even for the operating-system user
                check(session, self.user, Permission.READ, row.meeting_id)
            elif not self.user.local:
                raise NotFoundError("この保存版は見つかりません。", f"no archive at {folder}")
            key = (row.meeting_id, row.version) if row is not None else _manifest_key(manifest)
            event = _archive_event(session, key)
            intact = event is not None and store.audit.link_intact(session, event)
        if event is not None:
            return _against_audit(folder, event, intact, row)
        if row is not None:  # archived before the audit trail kept the hash
            result = verify(folder, manifest_sha256=row.manifest_sha256, recorded_in="データベースに記録された")
            why = "監査ログにこの版の目録のハッシュがありません（監査ログがハッシュを記録する前に作成された版です）"
            note = f"記録されたハッシュと照合できませんでした（{why}）。データベースの値とだけ照合しました。"
            return dataclasses.replace(result, note=note)
        named = f"会議 ID {key[0]} 第{key[1]}版" if key is not None else "この目録の会議と版"
        why = (
            f"データフォルダ {self.settings.data_dir} のアーカイブではなく、"
            f"このデータフォルダの監査ログにも{named}の作成の記録がありません"
        )
        note = f"記録されたハッシュと照合できませんでした（{why}）。ファイルが目録と一致することだけを確かめました。"
        return dataclasses.replace(verify(folder), note=note)

    def create(self, meeting_id: int) -> ArchiveInfo:
        """Archive a finalized meeting that has no archive of its current version (e.g. finalized before archives):
        files are staged with no transaction open, then moved into place in one short one."""
        with Session(self.engine) as session:
            check(session, self.user, Permission.FINALIZE, meeting_id)
        staged = stage_archive(self.engine, settings=self.settings, meeting_id=meeting_id, actor=self.actor)
        with Session(self.engine) as session:
            folder = commit_staged(session, staged)
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

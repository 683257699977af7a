"""Backup and restore of a data folder: ``minutes backup DIR`` (nightly, while the app runs) and ``minutes restore
DIR`` (with the app and the worker stopped).

A backup folder holds:

    minutes.db                         the database, copied with SQLite's online backup API: a consistent snapshot
                                       while the app and the worker keep writing; checked with quick_check
    recordings/ materials/ archive/    the data folder's stored files (not the caches playback/, previews/, work/,
                                       nor models/, which are rebuilt or installed again)
    manifest.json                      every file's path, size and SHA-256, when and by whom, the schema version,
                                       the audit trail's head (its newest event's id and hash)

It is written as a hidden ``.<name>.<random>.part`` folder beside DIR and renamed to DIR once complete: a backup that
stopped half way never looks like one.

Restore copies every file into a staging folder, checking each against the manifest on the way, then checks the
database's integrity and schema version, refuses while another process has the database open, and only then swaps
by renames on the same disk: the current database and folders go aside into ``before-restore-<time>/`` (nothing is
deleted), the restored ones come in; if a rename fails, the ones done are undone. The restore is recorded in the
restored database's audit trail.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from sqlmodel import Session

from minutes import clock, store
from minutes.errors import InputError, MinutesError
from minutes.services.archive_writer import copy_hashed, make_read_only, remove_folder, sha256_file, software_version
from minutes.services.database import DatabaseUnavailable, database_path
from minutes.settings import Settings
from minutes.store import maintenance
from minutes.store.engine import known_revisions, make_engine, migrate
from minutes.store.tables import utcnow

FORMAT = "minutes-backup/1"
MANIFEST = "manifest.json"
DATABASE = "minutes.db"
FOLDERS = ("recordings", "materials", "archive")  # what a backup holds besides the database
CACHES = ("playback", "previews", "work")  # made again from the above; set aside on restore


@dataclass(frozen=True)
class BackupReport:
    folder: Path
    files: int  # the database included
    total_bytes: int
    revision: str | None  # the schema version
    audit_head: tuple[int, str | None] | None  # the newest audit event's (id, hash)
    vanished: tuple[str, ...]  # files deleted while the backup ran (after the database's snapshot)


@dataclass(frozen=True)
class RestoreReport:
    source: Path
    data_dir: Path
    files: int
    total_bytes: int
    created_at: str  # when the backup was made
    revision: str | None
    kept: Path | None  # where the replaced database and folders went (None: there was nothing to replace)


def _sqlite(settings: Settings, what: str) -> Path:
    path = database_path(settings)
    if path is None:
        raise InputError(
            f"SQLite 以外のデータベースの{what}は、そのデータベース製品の機能で行ってください。",
            f"not sqlite: {settings.database_url.split(':', 1)[0]}",
        )
    return path


# ---------------------------------------------------------------- backup


def backup(settings: Settings, target: Path, *, actor: str) -> BackupReport:
    """Write a backup of the data folder into the new (or empty) folder ``target``; safe while the app runs."""
    db = _sqlite(settings, "バックアップ")
    if not db.is_file():
        raise DatabaseUnavailable(f"データベースのファイル（{db}）がありません。", f"no file {db}")
    data_dir = settings.data_dir.resolve()
    target = Path(target).expanduser().resolve()
    if target == data_dir or data_dir in target.parents:
        raise InputError(
            f"バックアップ先（{target}）がデータフォルダの中です。別のディスクなど、データフォルダの外を指定してください。",
            "target inside the data folder",
        )
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise InputError(
            f"バックアップ先（{target}）はすでにあり、空ではありません。日付を付けるなどして新しいフォルダを指定してください。",
            "target not empty",
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f".{target.name}.{uuid.uuid4().hex[:12]}.part")
    staging.mkdir()
    try:
        report = _write_backup(db, data_dir, staging, actor)
        if target.exists():
            target.rmdir()
        staging.rename(target)
    except BaseException:
        remove_folder(staging)
        raise
    return dataclasses.replace(report, folder=target)


def _write_backup(db: Path, data_dir: Path, staging: Path, actor: str) -> BackupReport:
    copy = staging / DATABASE
    try:
        maintenance.backup_database(db, copy)
        problems = maintenance.integrity_problems(copy, quick=True)
    except Exception as error:  # the copy itself stopped at a damaged page
        failure = maintenance.failure(error, db)
        if failure is None:
            raise
        problems = [failure.detail]
    if problems:
        raise DatabaseUnavailable(
            f"データベース（{db}）に問題があるため、バックアップを作りませんでした（{problems[0]}）。"
            "前のバックアップは消さずに残し、`minutes db check` で状態を確かめてください。",
            "; ".join(problems[:5]),
        )
    files = [{"path": DATABASE, "size": copy.stat().st_size, "sha256": sha256_file(copy)}]
    vanished: list[str] = []
    for name in FOLDERS:
        for source in _stored_files(data_dir / name):
            relative = source.relative_to(data_dir).as_posix()
            target = staging / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                digest = copy_hashed(source, target)
            except FileNotFoundError:  # deleted after the database's snapshot was taken
                vanished.append(relative)
                continue
            files.append({"path": relative, "size": target.stat().st_size, "sha256": digest})
    revision = maintenance.schema_revision(copy)
    head = maintenance.audit_head(copy)
    manifest = {
        "format": FORMAT,
        "created_at": utcnow().isoformat(),
        "created_by": actor,
        "software": {"name": "minutes", "version": software_version()},
        "data_dir": str(data_dir),
        "schema_version": revision,
        "audit": None if head is None else {"last_id": head[0], "last_hash": head[1]},
        "files": files,
        "vanished": vanished,
    }
    (staging / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return BackupReport(staging, len(files), sum(f["size"] for f in files), revision, head, tuple(vanished))


def _stored_files(root: Path) -> list[Path]:
    """The stored files under ``root``: no links, no unfinished uploads (``*.part``), no staging (``.…``) or
    set-aside (``….abandoned-…``) archive folders."""
    if not root.is_dir():
        return []
    found = []
    for path in sorted(root.rglob("*")):
        parts = path.relative_to(root).parts
        if any(p.startswith(".") or p.endswith(".part") or ".abandoned-" in p for p in parts):
            continue
        if path.is_file() and not path.is_symlink():
            found.append(path)
    return found


# ---------------------------------------------------------------- restore


def read_backup(source: Path) -> dict:
    """The manifest of the backup folder ``source`` (checked to be one)."""
    manifest_path = Path(source) / MANIFEST
    if not manifest_path.is_file():
        raise InputError(
            f"「{source}」はバックアップのフォルダではありません（{MANIFEST} がありません）。"
            "`minutes backup` で作ったフォルダを指定してください。",
            f"no {manifest_path}",
        )
    try:
        manifest = json.loads(manifest_path.read_bytes())
        if manifest.get("format") != FORMAT or not isinstance(manifest.get("files"), list):
            raise ValueError(manifest.get("format"))
    except (ValueError, AttributeError) as error:
        raise InputError(
            f"「{manifest_path}」を読み取れません（バックアップの目録ではないか、壊れています）。", str(error)
        ) from None
    if not any(f.get("path") == DATABASE for f in manifest["files"] if isinstance(f, dict)):
        raise InputError(f"バックアップ「{source}」にデータベース（{DATABASE}）がありません。", "no database listed")
    return manifest


def restore(settings: Settings, source: Path, *, actor: str) -> RestoreReport:
    """Replace the data folder's database and stored files with the backup in ``source``, all or nothing."""
    db = _sqlite(settings, "復元")
    data_dir = settings.data_dir.resolve()
    source = Path(source).expanduser().resolve()
    manifest = read_backup(source)
    _refuse_in_use(db)
    data_dir.mkdir(parents=True, exist_ok=True)
    _sweep_unfinished(db, data_dir)
    token = uuid.uuid4().hex[:12]
    staging = data_dir / f".restore-{token}.part"
    staged_db = db.with_name(f".{db.name}.restore-{token}.part")
    try:
        total = _copy_checked(source, manifest, staging, staged_db)
        revision = _check_restored(staged_db, source)
        for version in (staging / "archive").glob("*/v*"):
            make_read_only(version)
        _refuse_in_use(db)  # once more, just before the swap
        kept = _swap(db, data_dir, staged_db, staging)
    finally:
        remove_folder(staging)
        staged_db.unlink(missing_ok=True)
    _record(settings, source, manifest, kept, actor)
    return RestoreReport(
        source, data_dir, len(manifest["files"]), total, str(manifest.get("created_at", "")), revision, kept
    )


def _refuse_in_use(db: Path) -> None:
    if maintenance.in_use(db):
        raise MinutesError(
            f"データベース（{db}）は使用中です（アプリかワーカーが動いています）。アプリ（streamlit）と"
            "ワーカー（minutes worker）を止めてから、もう一度 `minutes restore` を実行してください。",
            f"{db} is open in another process",
        )


def _sweep_unfinished(db: Path, data_dir: Path) -> None:
    """Remove the staging of a restore that was killed (nobody has the database open, so none is running)."""
    for leftover in data_dir.glob(".restore-*.part"):
        remove_folder(leftover)
    for leftover in db.parent.glob(f".{db.name}.restore-*.part"):
        leftover.unlink(missing_ok=True)


def _copy_checked(source: Path, manifest: dict, staging: Path, staged_db: Path) -> int:
    """Copy every listed file into the staging places, checking size and SHA-256 against the manifest."""
    total = 0
    for entry in manifest["files"]:
        relative = str(entry.get("path", "")) if isinstance(entry, dict) else ""
        pure = PurePosixPath(relative)
        allowed = relative == DATABASE or (len(pure.parts) > 1 and pure.parts[0] in FOLDERS)
        if not allowed or pure.is_absolute() or ".." in pure.parts:
            raise InputError(
                f"バックアップの目録に不正なパス「{relative}」があります。別の日のバックアップを指定してください。",
                f"bad path {relative!r}",
            )
        origin = source / relative
        if not origin.is_file():
            raise InputError(
                f"バックアップ「{source}」に「{relative}」がありません（途中までしかコピーされていないか、消されています）。"
                "別の日のバックアップを指定してください。",
                f"missing {origin}",
            )
        target = staged_db if relative == DATABASE else staging / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if copy_hashed(origin, target) != entry.get("sha256") or target.stat().st_size != entry.get("size"):
            raise InputError(
                f"バックアップの「{relative}」が目録と一致しません（壊れているか、書き換えられています）。"
                "別の日のバックアップを指定してください。",
                f"sha256 or size of {relative} differs from the manifest",
            )
        total += target.stat().st_size
    return total


def _check_restored(staged_db: Path, source: Path) -> str | None:
    problems = maintenance.integrity_problems(staged_db)
    if problems:
        raise DatabaseUnavailable(
            f"バックアップ「{source}」のデータベースが壊れています（{problems[0]}）。別の日のバックアップを指定してください。",
            "; ".join(problems[:5]),
        )
    revision = maintenance.schema_revision(staged_db)
    if revision is not None and revision not in known_revisions():
        raise InputError(
            f"このバックアップは、このソフトウェアより新しい版で作られています（スキーマ {revision}）。"
            "同じか新しい版の minutes で復元してください。",
            f"unknown schema revision {revision}",
        )
    return revision


def _swap(db: Path, data_dir: Path, staged_db: Path, staging: Path) -> Path | None:
    """Move the current database and folders aside and the restored ones in; undo the moves done if one fails."""
    kept = data_dir / f"before-restore-{clock.local(utcnow(), '%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:4]}"
    kept.mkdir()
    moves: list[tuple[Path, Path]] = []

    def move(origin: Path, target: Path) -> None:
        origin.rename(target)
        moves.append((origin, target))

    try:
        for suffix in ("", "-wal", "-shm"):
            current = db.with_name(db.name + suffix)
            if current.exists():
                inside = db.parent.resolve() == data_dir  # else beside it: a rename never crosses disks
                move(current, kept / current.name if inside else current.with_name(f"{current.name}.{kept.name}"))
        for name in FOLDERS + CACHES:
            if (data_dir / name).exists():
                move(data_dir / name, kept / name)
        move(staged_db, db)
        for name in FOLDERS:
            if (staging / name).exists():
                move(staging / name, data_dir / name)
    except BaseException as error:
        undone = _undo(moves)
        if not any(kept.iterdir()):
            kept.rmdir()
        if not isinstance(error, OSError):
            raise
        state = (
            "データフォルダは復元前のままです"
            if undone
            else f"元に戻せなかったものがあります。復元前のデータは {kept} にあります"
        )
        raise MinutesError(
            f"復元の途中でファイルを移動できなかったため、元に戻しました（{state}）。"
            "ディスクの状態と権限を確かめてから、もう一度 `minutes restore` を実行してください。",
            f"rename failed during the swap: {error}",
        ) from error
    if not any(kept.iterdir()):
        kept.rmdir()
        return None
    return kept


def _undo(moves: list[tuple[Path, Path]]) -> bool:
    """Move back what :func:`_swap` moved, newest first; False if something could not be moved back."""
    undone = True
    for origin, target in reversed(moves):
        try:
            target.rename(origin)
        except OSError:
            undone = False
    return undone


def _record(settings: Settings, source: Path, manifest: dict, kept: Path | None, actor: str) -> None:
    """Bring the restored database to this software's schema (as the app would at start) and record the restore."""
    engine = make_engine(settings.database_url, settings.database_pool_size)
    try:
        migrate(engine)
        with Session(engine) as session:
            store.audit.record(
                session, actor=actor, action="restore", target_type="database",
                after={"from": str(source), "backup_created_at": manifest.get("created_at"),
                       "backup_created_by": manifest.get("created_by"), "kept": str(kept) if kept else None},
            )  # fmt: skip
            session.commit()
    finally:
        engine.dispose()

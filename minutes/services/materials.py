"""Materials (資料) of a meeting: PDF, Word, Excel, PowerPoint, images and text, checked by their content.

A file is accepted only when its content is one of the supported types *and* its extension says the same type (a
``.pdf`` that is really a Word document is refused: people open files by their extension). Files are stored under
``$MINUTES_DATA_DIR/materials/YYYY/MM/<uuid><ext>`` with their SHA-256, never under the user's name. Their text goes
into ``MaterialText`` (one row per page, sheet or slide) for search. Pages are shown in the browser from local files
only: PDF pages rendered to PNG with PDFium, images as themselves (or a smaller copy), Office files as their text.

The largest material is the setting ``max_material_mb`` (``MINUTES_MAX_MATERIAL_MB``, default 200; an administrator
can change it on the 管理 page). A full disk is told as such (what to free, how much is free) and leaves nothing
behind. What a file is (type, page texts, previews) is decided in
:mod:`minutes.services.material_files`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from sqlmodel import Session

from minutes import store
from minutes.diskspace import disk_full, is_disk_full
from minutes.errors import FinalizedError, InputError, MinutesError
from minutes.services.base import Service
from minutes.services.documents import safe_filename
from minutes.services.material_files import (
    KIND_LABELS_JA,
    PAGE_WORDS_JA,
    PageText,
    check_name,
    detect,
    extract_pages,
    image_preview,
    render_pdf_page,
)
from minutes.services.permissions import Permission, check
from minutes.store.files import display_name
from minutes.store.tables import Material, MaterialKind

# ---------------------------------------------------------------- the service


@dataclass(frozen=True)
class MaterialInfo:
    id: int
    meeting_id: int
    agenda_order: int | None
    title: str
    original_name: str
    kind: str
    mime_type: str
    size_bytes: int
    sha256: str
    pages: int
    uploaded_by: str
    uploaded_at: dt.datetime
    path: Path  # absolute

    @property
    def kind_label(self) -> str:
        return KIND_LABELS_JA.get(self.kind, self.kind)

    @property
    def page_word(self) -> str:
        return PAGE_WORDS_JA.get(self.kind, "ページ")

    @property
    def download_name(self) -> str:
        """A safe download name: the original name if its extension is right, else the title with the type's."""
        stem, suffix = Path(self.original_name).stem, Path(self.original_name).suffix.lower()
        extension = suffix if suffix else Path(self.path).suffix
        return f"{safe_filename(stem)}{extension}"


def _info(material: Material, data_dir: Path) -> MaterialInfo:
    return MaterialInfo(
        material.id,
        material.meeting_id,
        material.agenda_order,
        material.title,
        material.original_name,
        material.kind,
        material.mime_type,
        material.size_bytes,
        material.sha256,
        material.pages,
        material.uploaded_by,
        material.uploaded_at,
        data_dir / material.stored_path,
    )


def _display(original_name: str) -> str:
    """The name to show (``uploads.display_name``), keeping the extension of a name cut for length."""
    name = display_name(original_name)
    suffix = Path(original_name.replace("\\", "/")).suffix
    if suffix and len(suffix) <= 10 and not name.endswith(suffix):
        name = name[: 255 - len(suffix)] + suffix
    return name


class MaterialService(Service):
    """Materials of meetings, for the signed-in user."""

    def add(
        self,
        meeting_id: int,
        source: BinaryIO | bytes | Path,
        *,
        original_name: str,
        agenda_order: int | None = None,
        title: str = "",
    ) -> MaterialInfo:
        """Check, store and index one file. Nothing is kept when it is refused (type, extension, size, damage)."""
        name = _display(original_name)
        with Session(self.engine) as session:
            self._editable(session, meeting_id, Permission.UPLOAD_MATERIAL)
        if isinstance(source, bytes):
            source = io.BytesIO(source)
        if isinstance(source, Path):
            with source.open("rb") as stream:
                stored, digest, size = self._store(stream)
        else:
            stored, digest, size = self._store(source)
        try:
            file_type = detect(stored)
            check_name(name, file_type)
            final = stored.with_suffix(file_type.extensions[0])
            stored.rename(final)
            stored = final
            pages = extract_pages(stored, file_type.kind)
            with Session(self.engine) as session:
                self._editable(session, meeting_id, Permission.UPLOAD_MATERIAL)
                material = store.add_material(
                    session,
                    material=Material(
                        meeting_id=meeting_id,
                        agenda_order=agenda_order,
                        title=(title.strip() or Path(name).stem or name)[:255],
                        original_name=name,
                        kind=file_type.kind,
                        mime_type=file_type.mime_type,
                        stored_path=str(stored.relative_to(self.settings.data_dir)),
                        size_bytes=size,
                        sha256=digest,
                        pages=len(pages),
                        uploaded_by=self.actor,
                    ),
                    pages=[(p.page, p.label, p.text) for p in pages],
                )
                store.add_event(
                    session,
                    meeting_id=meeting_id,
                    action="material_add",
                    actor=self.actor,
                    detail={"material": material.id, "name": name, "sha256": digest},
                )
                session.commit()
                return _info(material, self.settings.data_dir)
        except BaseException as error:
            stored.unlink(missing_ok=True)
            if isinstance(error, Exception) and not isinstance(error, MinutesError) and is_disk_full(error):
                raise disk_full(self.settings.data_dir, error) from None  # the database could not be written
            raise

    def _store(self, stream: BinaryIO) -> tuple[Path, str, int]:
        """Copy the upload into the materials folder (``YYYY/MM``) under a temporary name; (path, sha256, size)."""
        stored = store.files.save(
            stream,
            root=self.settings.data_dir,
            folder=self.settings.materials_dir / dt.datetime.now().strftime("%Y/%m"),
            suffix=".upload",
            max_bytes=self.settings.max_material_mb << 20,
            what="資料",
        )
        return self.settings.data_dir / stored.relative_path, stored.sha256, stored.size_bytes

    def list(self, meeting_id: int) -> list[MaterialInfo]:
        with Session(self.engine) as session:
            self._readable(session, meeting_id)
            return [_info(m, self.settings.data_dir) for m in store.materials_of(session, meeting_id=meeting_id)]

    def get(self, material_id: int) -> MaterialInfo:
        with Session(self.engine) as session:
            material = store.get_material(session, material_id=material_id)
            self._readable(session, material.meeting_id)
            return _info(material, self.settings.data_dir)

    def pages(self, material_id: int) -> list[PageText]:
        self.get(material_id)  # checks that the user may see it
        with Session(self.engine) as session:
            return [PageText(t.page, t.label, t.text) for t in store.material_pages(session, material_id=material_id)]

    def data(self, material_id: int) -> bytes:
        """The stored file, checked against its SHA-256 (for downloads)."""
        info = self.get(material_id)
        data = info.path.read_bytes()
        if hashlib.sha256(data).hexdigest() != info.sha256:
            raise InputError(
                "資料のファイルが登録時から変わっています（改ざんまたは破損の可能性）。管理者に連絡してください。",
                f"sha256 mismatch for material {material_id}",
            )
        return data

    def preview(self, material_id: int, page: int = 1) -> Path:
        """A PNG (or the image itself) to show page ``page`` of a PDF or an image."""
        info = self.get(material_id)
        cache = self.settings.previews_dir / f"material-{info.id}-{info.sha256[:12]}"
        if info.kind == MaterialKind.PDF:
            return render_pdf_page(info.path, cache / f"page-{page:05d}.png", page)
        if info.kind == MaterialKind.IMAGE:
            return image_preview(info.path, cache / "image.png")
        raise InputError("この資料は画像として表示できません。本文を表示します。", f"no preview for {info.kind}")

    def set_agenda(self, material_id: int, *, agenda_order: int | None) -> MaterialInfo:
        with Session(self.engine) as session:
            material = store.get_material(session, material_id=material_id)
            self._editable(session, material.meeting_id)
            store.set_material_agenda(session, material_id=material_id, agenda_order=agenda_order)
            session.commit()
        return self.get(material_id)

    def delete(self, material_id: int) -> None:
        """Remove a material of a meeting that is not finalized (archived copies stay in their archives)."""
        with Session(self.engine) as session:
            material = store.get_material(session, material_id=material_id)
            self._editable(session, material.meeting_id)
            path = self.settings.data_dir / material.stored_path
            store.add_event(
                session,
                meeting_id=material.meeting_id,
                action="material_delete",
                actor=self.actor,
                detail={"material": material.id, "name": material.original_name, "sha256": material.sha256},
            )
            store.delete_material(session, material_id=material_id)
            session.commit()
        path.unlink(missing_ok=True)

    def _editable(self, session: Session, meeting_id: int, permission: Permission = Permission.EDIT) -> None:
        meeting = check(session, self.user, permission, meeting_id)
        if meeting.finalized_at is not None:
            raise FinalizedError(
                "この会議録は確定済みのため、資料を追加・削除できません。必要な場合は「会議の情報・確定」で確定を"
                "解除してください。",
                f"meeting {meeting_id} finalized",
            )

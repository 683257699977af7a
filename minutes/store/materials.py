"""Materials (資料) and their extracted page texts."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from minutes.errors import NotFoundError
from minutes.store.tables import (
    Material,
    MaterialText,
)


def add_material(session: Session, *, material: Material, pages: Sequence[tuple[int, str, str]]) -> Material:
    """Store a material row and the text of its pages ``(page, label, text)``; the search index follows by trigger."""
    session.add(material)
    session.flush()
    for page, label, text_of_page in pages:
        session.add(MaterialText(material_id=material.id, page=page, label=label[:200], text=text_of_page))
    session.flush()
    return material


def get_material(session: Session, *, material_id: int) -> Material:
    material = session.get(Material, material_id)
    if material is None:
        raise NotFoundError(f"資料（ID {material_id}）が見つかりません。", f"material {material_id} not found")
    return material


def materials_of(session: Session, *, meeting_id: int) -> list[Material]:
    statement = (
        select(Material)
        .where(Material.meeting_id == meeting_id)
        .order_by(col(Material.agenda_order).is_(None), col(Material.agenda_order), col(Material.id))
    )
    return list(session.exec(statement))


def material_pages(session: Session, *, material_id: int) -> list[MaterialText]:
    statement = select(MaterialText).where(MaterialText.material_id == material_id).order_by(col(MaterialText.page))
    return list(session.exec(statement))


def delete_material(session: Session, *, material_id: int) -> None:
    session.exec(delete(MaterialText).where(col(MaterialText.material_id) == material_id))
    session.exec(delete(Material).where(col(Material.id) == material_id))


def set_material_agenda(session: Session, *, material_id: int, agenda_order: int | None) -> None:
    session.exec(update(Material).where(col(Material.id) == material_id).values(agenda_order=agenda_order))

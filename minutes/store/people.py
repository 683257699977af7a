"""The assembly's roster (名簿): people (``person``) and the titles they hold for a period (``persontitle``)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete
from sqlmodel import Session, col, select

from minutes.errors import NotFoundError
from minutes.store.tables import Person, PersonTitle


def people(session: Session, *, include_retired: bool = False) -> list[Person]:
    """Everyone on the roster (only those in office unless ``include_retired``), by id."""
    statement = select(Person).order_by(col(Person.id))
    if not include_retired:
        statement = statement.where(col(Person.retired).is_(False))
    return list(session.exec(statement))


def get_person(session: Session, *, person_id: int) -> Person:
    person = session.get(Person, person_id)
    if person is None:
        raise NotFoundError(f"名簿の人（ID {person_id}）が見つかりません。", f"person {person_id} not found")
    return person


def people_named(session: Session, *, name: str) -> list[Person]:
    """The people of exactly this (already normalised) name, retired ones included."""
    return list(session.exec(select(Person).where(Person.name == name).order_by(col(Person.id))))


def add_person(session: Session, *, person: Person) -> Person:
    session.add(person)
    session.flush()
    return person


def titles_of(session: Session, *, person_ids: Iterable[int] | None = None) -> dict[int, list[PersonTitle]]:
    """person id → their titles, oldest first (by start, open starts first, then id); every person's when
    ``person_ids`` is None."""
    statement = select(PersonTitle).order_by(
        col(PersonTitle.person_id), col(PersonTitle.starts).is_not(None), col(PersonTitle.starts), col(PersonTitle.id)
    )
    if person_ids is not None:
        statement = statement.where(col(PersonTitle.person_id).in_(list(person_ids)))
    found: dict[int, list[PersonTitle]] = {}
    for title in session.exec(statement):
        found.setdefault(title.person_id, []).append(title)
    return found


def get_title(session: Session, *, title_id: int) -> PersonTitle:
    title = session.get(PersonTitle, title_id)
    if title is None:
        raise NotFoundError(f"職名（ID {title_id}）が見つかりません。", f"person title {title_id} not found")
    return title


def add_title(session: Session, *, title: PersonTitle) -> PersonTitle:
    session.add(title)
    session.flush()
    return title


def delete_title(session: Session, *, title_id: int) -> None:
    session.flush()
    session.exec(delete(PersonTitle).where(col(PersonTitle.id) == title_id))

"""The assembly's roster (名簿): people (``person``) and the titles they hold for a period (``persontitle``)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete
from sqlmodel import Session, col, select

from minutes.errors import NotFoundError
from minutes.store.tables import Person, PersonTitle


def people(session: Session, *, org_id: int, include_retired: bool = False) -> list[Person]:
    """Everyone on organisation ``org_id``'s roster (only those in office unless ``include_retired``), by id."""
    statement = select(Person).where(Person.org_id == org_id).order_by(col(Person.id))
    if not include_retired:
        statement = statement.where(col(Person.retired).is_(False))
    return list(session.exec(statement))


def get_person(session: Session, *, person_id: int, org_id: int) -> Person:
    """The person, if they are on organisation ``org_id``'s roster."""
    person = session.get(Person, person_id)
    if person is None or person.org_id != org_id:
        raise NotFoundError(f"名簿の人（ID {person_id}）が見つかりません。", f"person {person_id} not found")
    return person


def people_named(session: Session, *, name: str, org_id: int) -> list[Person]:
    """The people of exactly this (already normalised) name on ``org_id``'s roster, retired ones included."""
    statement = select(Person).where(Person.name == name, Person.org_id == org_id)
    return list(session.exec(statement.order_by(col(Person.id))))


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

"""Voice profiles: the speaker embeddings of the roster's people (``VoiceSample``), and who chairs on a day."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

from sqlalchemy import delete, func, or_
from sqlmodel import Session, col, select

from minutes.store.tables import Person, PersonTitle, VoiceSample


def add_voice_samples(session: Session, *, samples: Iterable[VoiceSample]) -> list[VoiceSample]:
    added = list(samples)
    session.add_all(added)
    session.flush()
    return added


def voice_samples(
    session: Session, *, model: str, org_id: int, person_ids: Sequence[int] | None = None
) -> list[VoiceSample]:
    """The samples made with ``model``, of organisation ``org_id``'s people still in office (of ``person_ids`` when
    given)."""
    query = (
        select(VoiceSample)
        .join(Person, col(Person.id) == col(VoiceSample.person_id))
        .where(col(VoiceSample.model) == model, col(Person.retired).is_(False), Person.org_id == org_id)
    )
    if person_ids is not None:
        query = query.where(col(VoiceSample.person_id).in_(list(person_ids)))
    return list(session.exec(query.order_by(col(VoiceSample.person_id), col(VoiceSample.id))))


def voice_samples_of(session: Session, *, person_id: int) -> list[VoiceSample]:
    return list(
        session.exec(select(VoiceSample).where(col(VoiceSample.person_id) == person_id).order_by(col(VoiceSample.id)))
    )


def voice_summary(session: Session, *, org_id: int) -> list[tuple[int, int, float]]:
    """(person id, samples, seconds) of everyone of organisation ``org_id`` with a voice profile."""
    rows = session.exec(
        select(VoiceSample.person_id, func.count(col(VoiceSample.id)), func.sum(col(VoiceSample.seconds)))
        .join(Person, col(Person.id) == col(VoiceSample.person_id))
        .where(Person.org_id == org_id)
        .group_by(col(VoiceSample.person_id))
    )
    return [(person_id, count, float(seconds or 0.0)) for person_id, count, seconds in rows]


def delete_voice_samples(session: Session, *, person_id: int, meeting_id: int | None = None) -> int:
    """Remove a person's samples (only those from ``meeting_id`` when given); returns how many."""
    statement = delete(VoiceSample).where(col(VoiceSample.person_id) == person_id)
    if meeting_id is not None:
        statement = statement.where(col(VoiceSample.meeting_id) == meeting_id)
    return session.exec(statement).rowcount or 0


def delete_meeting_voice_samples(session: Session, *, meeting_id: int) -> int:
    """Remove the samples a meeting gave (when it is finalized again, its speakers' voices are taken anew)."""
    return session.exec(delete(VoiceSample).where(col(VoiceSample.meeting_id) == meeting_id)).rowcount or 0


def people_titled(session: Session, *, titles: Sequence[str], day: date, org_id: int) -> list[int]:
    """The people of organisation ``org_id`` who hold one of ``titles`` on ``day``."""
    query = (
        select(PersonTitle.person_id)
        .join(Person, col(Person.id) == col(PersonTitle.person_id))
        .where(Person.org_id == org_id)
    ).where(
        col(PersonTitle.title).in_(list(titles)),
        or_(col(PersonTitle.starts).is_(None), col(PersonTitle.starts) <= day),
        or_(col(PersonTitle.ends).is_(None), col(PersonTitle.ends) >= day),
    )
    return sorted(set(session.exec(query)))

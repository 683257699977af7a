"""Correction rules (誤→正) and the proposals learnt from clerks' edits."""

from __future__ import annotations

from sqlmodel import Session, col, select

from minutes.errors import NotFoundError
from minutes.store.engine import PROPOSALS_LOCK_KEY
from minutes.store.tables import Correction, CorrectionProposal, utcnow


def lock_proposals(session: Session, *, org_id: int) -> None:
    """Hold organisation ``org_id``'s proposals until the transaction ends, before reading one to count a place: two
    clerks' saves at once would otherwise both insert the same proposal, or each store its own list of places. On
    PostgreSQL an advisory lock per organisation (clerks' saves run at once there: ``engine.meeting_lock``); SQLite's
    write lock already holds the whole database."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({PROPOSALS_LOCK_KEY}, {int(org_id)})")


def corrections(session: Session, *, org_id: int) -> list[Correction]:
    """Organisation ``org_id``'s accepted rules, by 誤 then context."""
    statement = select(Correction).where(Correction.org_id == org_id)
    return list(session.exec(statement.order_by(col(Correction.wrong), col(Correction.context))))


def get_correction(session: Session, *, correction_id: int, org_id: int) -> Correction:
    row = session.get(Correction, correction_id)
    if row is None or row.org_id != org_id:
        raise NotFoundError(
            "指定された補正ルールが見つかりません（削除された可能性があります）。", f"rule {correction_id}"
        )
    return row


def correction_like(session: Session, *, wrong: str, right: str, context: str, org_id: int) -> Correction | None:
    statement = select(Correction).where(
        Correction.wrong == wrong, Correction.right == right, Correction.context == context, Correction.org_id == org_id
    )
    return session.exec(statement).first()


def add_correction(session: Session, *, wrong: str, right: str, context: str, actor: str, org_id: int) -> Correction:
    row = Correction(wrong=wrong, right=right, context=context, created_by=actor, org_id=org_id)
    session.add(row)
    session.flush()
    return row


def delete_correction(session: Session, *, row: Correction) -> None:
    session.delete(row)
    session.flush()


def proposals(session: Session, *, org_id: int, status: str = "open") -> list[CorrectionProposal]:
    statement = select(CorrectionProposal).where(
        CorrectionProposal.status == status, CorrectionProposal.org_id == org_id
    )
    return list(session.exec(statement.order_by(col(CorrectionProposal.updated_at).desc())))


def get_proposal(session: Session, *, proposal_id: int, org_id: int) -> CorrectionProposal:
    row = session.get(CorrectionProposal, proposal_id)
    if row is None or row.org_id != org_id:
        raise NotFoundError("指定された提案が見つかりません。", f"proposal {proposal_id}")
    return row


def proposal_for(session: Session, *, wrong: str, right: str, org_id: int) -> CorrectionProposal | None:
    statement = select(CorrectionProposal).where(
        CorrectionProposal.wrong == wrong, CorrectionProposal.right == right, CorrectionProposal.org_id == org_id
    )
    return session.exec(statement).first()


def note_replacement(session: Session, *, wrong: str, right: str, place: dict, org_id: int) -> CorrectionProposal:
    """Count a replacement seen at ``place`` ({"meeting", "utterance", "by"}) in organisation ``org_id``; one place
    per utterance."""
    row = proposal_for(session, wrong=wrong, right=right, org_id=org_id)
    if row is None:
        row = CorrectionProposal(wrong=wrong, right=right, places=[], org_id=org_id)
    if all(seen.get("utterance") != place.get("utterance") for seen in row.places):
        row.places = [*row.places, place]  # a new list: the JSON column notices only assignments
        row.updated_at = utcnow()
    session.add(row)
    session.flush()
    return row


def set_proposal_status(session: Session, *, row: CorrectionProposal, status: str) -> None:
    row.status, row.updated_at = status, utcnow()
    session.add(row)
    session.flush()

"""The assembly's dictionary (用語辞書): its terms, looked up by id or by 表記."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, col, or_, select

from minutes.errors import NotFoundError
from minutes.store.tables import DictionaryTerm, utcnow


def dictionary_terms(session: Session, *, org_id: int, query: str = "", kind: str = "") -> list[DictionaryTerm]:
    """Organisation ``org_id``'s terms, by 種別 then 読み then 表記; ``query`` matches 表記 or 読み (substring),
    ``kind`` the 種別."""
    statement = select(DictionaryTerm).where(DictionaryTerm.org_id == org_id)
    if query:
        pattern = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        text, reading = col(DictionaryTerm.text), col(DictionaryTerm.reading)
        statement = statement.where(or_(text.like(pattern, escape="\\"), reading.like(pattern, escape="\\")))
    if kind:
        statement = statement.where(DictionaryTerm.kind == kind)
    statement = statement.order_by(col(DictionaryTerm.kind), col(DictionaryTerm.reading), col(DictionaryTerm.text))
    return list(session.exec(statement))


def count_dictionary_terms(session: Session, *, org_id: int) -> int:
    return session.exec(select(func.count()).select_from(DictionaryTerm).where(DictionaryTerm.org_id == org_id)).one()


def get_dictionary_term(session: Session, *, term_id: int, org_id: int) -> DictionaryTerm:
    term = session.get(DictionaryTerm, term_id)
    if term is None or term.org_id != org_id:
        raise NotFoundError("指定された用語が見つかりません（削除された可能性があります）。", f"term {term_id}")
    return term


def dictionary_term_named(session: Session, *, text: str, org_id: int) -> DictionaryTerm | None:
    return session.exec(
        select(DictionaryTerm).where(DictionaryTerm.text == text, DictionaryTerm.org_id == org_id)
    ).first()


def put_dictionary_term(
    session: Session,
    *,
    text: str,
    reading: str,
    kind: str,
    actor: str,
    org_id: int,
    term: DictionaryTerm | None = None,
) -> DictionaryTerm:
    """Add a term to organisation ``org_id``'s dictionary, or change ``term``; flushed so that its id is known."""
    if term is None:
        term = DictionaryTerm(text=text, reading=reading, kind=kind, created_by=actor, updated_by=actor, org_id=org_id)
    else:
        term.text, term.reading, term.kind, term.updated_by, term.updated_at = text, reading, kind, actor, utcnow()
    session.add(term)
    session.flush()
    return term


def delete_dictionary_term(session: Session, *, term: DictionaryTerm) -> None:
    session.delete(term)
    session.flush()

"""The assembly's dictionary (用語辞書) and the words each transcription favours.

Everyone who may read minutes may read the dictionary; clerks and administrators change it
(``Permission.MANAGE_DICTIONARY``), every change recorded in the audit trail. A CSV import is all or nothing: every bad
row is reported by line and nothing is stored unless all rows are good.

:func:`recognition_terms` is the one place that puts together what a job favours, in order of priority: the
meeting's own words (its agenda, its people, its materials' titles, and ``extra`` terms from the caller: the people of
the roster go there once it exists), the assembly's dictionary, and the built-in 議会用語.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from sqlmodel import Session

from minutes import store
from minutes.errors import InputError
from minutes.pipeline import PipelineOptions
from minutes.pipeline.vocabulary import (
    KINDS,
    builtin_terms,
    check_term,
    read_terms_csv,
    terms_from_titles,
    write_terms_csv,
)
from minutes.records import Term
from minutes.services.base import Service
from minutes.services.permissions import Permission, require
from minutes.services.views import MeetingDetails
from minutes.store.tables import DictionaryTerm


@dataclass(frozen=True)
class TermView:
    """One dictionary term as pages and commands see it."""

    id: int
    text: str  # 表記
    reading: str  # 読み
    kind: str  # 種別
    updated_by: str

    def to_dict(self) -> dict:
        return {"id": self.id, "表記": self.text, "読み": self.reading, "種別": self.kind}


@dataclass(frozen=True)
class ImportResult:
    added: int
    updated: int
    unchanged: int


def _view(row: DictionaryTerm) -> TermView:
    return TermView(row.id, row.text, row.reading, row.kind, row.updated_by)


def _state(row: DictionaryTerm) -> dict:
    return {"text": row.text, "reading": row.reading, "kind": row.kind}


def dictionary_terms(session: Session, org_id: int) -> list[Term]:
    """Organisation ``org_id``'s dictionary as recognition terms."""
    return [
        Term(row.text, row.reading, row.kind, "dictionary") for row in store.dictionary_terms(session, org_id=org_id)
    ]


def meeting_terms(session: Session, meeting_id: int) -> list[Term]:
    """The meeting's own words: its people (出席者, 説明員), its agenda items (件名, 議案番号) and its materials'
    titles."""
    meeting = store.get_meeting(session, meeting_id=meeting_id)
    details = MeetingDetails.from_dict(meeting.details)
    people = [p.name for p in (*details.attendees, *details.explainers) if p.name]
    agenda = [text for entry in details.agenda for text in (entry.bill, entry.title) if text]
    materials = [m.title for m in store.materials_of(session, meeting_id=meeting_id)]
    return [
        *terms_from_titles(people, kind="人名"),
        *terms_from_titles(agenda),
        *terms_from_titles(materials),
    ]


def recognition_terms(
    session: Session,
    *,
    org_id: int,
    meeting_id: int | None = None,
    extra: Iterable[Term] = (),
    builtin: bool = True,
) -> tuple[Term, ...]:
    """Every term a transcription favours, highest priority first: the meeting's words and ``extra`` (given as
    meeting terms: the roster's people belong here), organisation ``org_id``'s dictionary and roster, then
    (``builtin``) the built-in 議会用語. Ranking and the prompt limit are the pipeline's business
    (``minutes.pipeline.vocabulary``)."""
    own = meeting_terms(session, meeting_id) if meeting_id is not None else []
    extra = [replace(term, source="meeting") for term in extra]
    return (
        *own,
        *extra,
        *dictionary_terms(session, org_id),
        *roster_terms(session, org_id),
        *(builtin_terms() if builtin else ()),
    )


def roster_terms(session: Session, org_id: int) -> list[Term]:
    """The names of organisation ``org_id``'s people in office (名簿), with their readings, as the assembly's 人名."""
    return [Term(p.name, p.yomi or "", "人名", "dictionary") for p in store.people(session, org_id=org_id)]


def with_meeting_terms(session: Session, meeting_id: int, options: PipelineOptions) -> PipelineOptions:
    """``options`` with the meeting's own words put before its terms, as the job starts (the agenda and materials
    may be entered after the recording was queued). Options without terms (the dictionary switched off) stay."""
    transcription = options.transcription
    if not transcription.terms:
        return options
    own = [t for t in meeting_terms(session, meeting_id) if t not in transcription.terms]
    return replace(options, transcription=replace(transcription, terms=(*own, *transcription.terms)))


class DictionaryService(Service):
    """The 用語辞書 page's and ``minutes dictionary``'s operations."""

    kinds = KINDS

    def terms(self, *, query: str = "", kind: str = "") -> list[TermView]:
        require(self.user, Permission.READ)
        with Session(self.engine) as session:
            return [
                _view(row)
                for row in store.dictionary_terms(session, org_id=self.user.org_id, query=query.strip(), kind=kind)
            ]

    def count(self) -> int:
        require(self.user, Permission.READ)
        with Session(self.engine) as session:
            return store.count_dictionary_terms(session, org_id=self.user.org_id)

    def add(self, text: str, *, reading: str = "", kind: str = "その他") -> TermView:
        require(self.user, Permission.MANAGE_DICTIONARY)
        term = check_term(text, reading, kind)
        with Session(self.engine) as session:
            if store.dictionary_term_named(session, text=term.text, org_id=self.user.org_id) is not None:
                raise InputError(f"「{term.text}」はすでに登録されています。", f"duplicate term {term.text!r}")
            row = store.put_dictionary_term(
                session, text=term.text, reading=term.reading, kind=term.kind, actor=self.actor, org_id=self.user.org_id
            )
            store.audit.record(
                session, actor=self.actor, action="term_add", target_type="term", target_id=row.id, after=_state(row)
            )
            session.commit()
            return _view(row)

    def update(self, term_id: int, text: str, *, reading: str = "", kind: str = "その他") -> TermView:
        require(self.user, Permission.MANAGE_DICTIONARY)
        term = check_term(text, reading, kind)
        with Session(self.engine) as session:
            row = store.get_dictionary_term(session, term_id=term_id, org_id=self.user.org_id)
            same = store.dictionary_term_named(session, text=term.text, org_id=self.user.org_id)
            if same is not None and same.id != term_id:
                raise InputError(f"「{term.text}」はすでに登録されています。", f"duplicate term {term.text!r}")
            before = _state(row)
            row = store.put_dictionary_term(
                session,
                text=term.text,
                reading=term.reading,
                kind=term.kind,
                actor=self.actor,
                org_id=self.user.org_id,
                term=row,
            )
            store.audit.record(
                session,
                actor=self.actor,
                action="term_update",
                target_type="term",
                target_id=term_id,
                before=before,
                after=_state(row),
            )
            session.commit()
            return _view(row)

    def delete(self, term_id: int) -> None:
        require(self.user, Permission.MANAGE_DICTIONARY)
        with Session(self.engine) as session:
            row = store.get_dictionary_term(session, term_id=term_id, org_id=self.user.org_id)
            before = _state(row)
            store.delete_dictionary_term(session, term=row)
            store.audit.record(
                session, actor=self.actor, action="term_delete", target_type="term", target_id=term_id, before=before
            )
            session.commit()

    def import_csv(self, data: bytes) -> ImportResult:
        """Add the CSV's terms; a 表記 already there gets the CSV's 読み and 種別. All or nothing."""
        require(self.user, Permission.MANAGE_DICTIONARY)
        terms = read_terms_csv(data)
        if not terms:
            raise InputError("CSV に用語がありません（見出しの行だけです）。", "no rows")
        added = updated = 0
        with Session(self.engine) as session:
            for term in terms:
                row = store.dictionary_term_named(session, text=term.text, org_id=self.user.org_id)
                if row is not None and (row.reading, row.kind) == (term.reading, term.kind):
                    continue
                store.put_dictionary_term(
                    session,
                    text=term.text,
                    reading=term.reading,
                    kind=term.kind,
                    actor=self.actor,
                    org_id=self.user.org_id,
                    term=row,
                )
                added, updated = added + (row is None), updated + (row is not None)
            result = ImportResult(added, updated, len(terms) - added - updated)
            store.audit.record(
                session,
                actor=self.actor,
                action="dictionary_import",
                target_type="dictionary",
                after={"rows": len(terms), "added": added, "updated": updated},
            )
            session.commit()
            return result

    def export_csv(self) -> bytes:
        """The dictionary as CSV (UTF-8 with BOM, header 表記,読み,種別)."""
        require(self.user, Permission.READ)
        with Session(self.engine) as session:
            return write_terms_csv(dictionary_terms(session, self.user.org_id))

    def recognition_terms(
        self, *, meeting_id: int | None = None, extra: Iterable[Term] = (), builtin: bool = True
    ) -> tuple[Term, ...]:
        """:func:`recognition_terms` for this user (reading the dictionary needs READ)."""
        require(self.user, Permission.READ)
        with Session(self.engine) as session:
            return recognition_terms(
                session, org_id=self.user.org_id, meeting_id=meeting_id, extra=extra, builtin=builtin
            )

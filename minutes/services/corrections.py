"""Correction rules (補正ルール: 誤→正) and the proposals learnt from clerks' edits.

Accepted rules are applied to every new draft's 整文 layer (``minutes.pipeline.cleanup``; the 素起こし is kept): the
worker puts the rules in force and the administrator's ケバ取り words into the job's options when it starts
(:func:`with_cleanup`). Everyone who may read minutes sees the rules; 書記 and 管理者 change them
(``Permission.MANAGE_DICTIONARY``, like the 用語辞書), every change audited.

Learning: when a clerk saves a line, the replacements made in it (``cleanup.edit_replacements``) are counted in
``correctionproposal`` with where they were seen (:func:`learn_from_edit`). A replacement seen in two or more
utterances (of one meeting or several) is proposed on the 用語辞書 page; nothing is applied until it is accepted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from sqlmodel import Session

from minutes import store
from minutes.errors import InputError
from minutes.pipeline import PipelineOptions
from minutes.pipeline.cleanup import CleanupOptions, edit_replacements, parse_fillers
from minutes.pipeline.vocabulary import check_term
from minutes.records import CorrectionRule
from minutes.services.base import Service
from minutes.services.permissions import Permission, require
from minutes.settings import Settings
from minutes.store.tables import Correction, CorrectionProposal

_NOT_A_WORD = re.compile(r"^[\s、。，．,.？！?!「」（）()・ー]*$")
PROPOSE_AFTER = 2  # places (utterances) a replacement must be seen in before it is proposed
_LONGEST = 60


@dataclass(frozen=True)
class RuleView:
    id: int
    wrong: str
    right: str
    context: str
    created_by: str

    def to_dict(self) -> dict:
        return {"id": self.id, "誤": self.wrong, "正": self.right, "文脈": self.context}


@dataclass(frozen=True)
class ProposalView:
    id: int
    wrong: str
    right: str
    places: int  # utterances it was seen in
    meetings: int  # meetings it was seen in
    term_known: bool  # the new word is in the 用語辞書 already


def _rule_view(row: Correction) -> RuleView:
    return RuleView(row.id, row.wrong, row.right, row.context, row.created_by)


def _rule_state(row: Correction) -> dict:
    return {"wrong": row.wrong, "right": row.right, "context": row.context}


def correction_rules(session: Session, org_id: int) -> tuple[CorrectionRule, ...]:
    """Organisation ``org_id``'s accepted rules as records for the pipeline."""
    return tuple(CorrectionRule(r.wrong, r.right, r.context, r.id) for r in store.corrections(session, org_id=org_id))


def with_cleanup(session: Session, settings: Settings, options: PipelineOptions, org_id: int) -> PipelineOptions:
    """``options`` with organisation ``org_id``'s rules in force and its administrator's ケバ取り words and number
    style (in ``settings``, that organisation's), as a job starts (a switched-off cleanup stays off)."""
    if not options.cleanup.enabled:
        return options
    cleanup = CleanupOptions(
        fillers=parse_fillers(settings.fillers), rules=correction_rules(session, org_id), numbers=settings.number_style
    )
    return replace(options, cleanup=cleanup)


def learn_from_edit(
    session: Session, *, meeting_id: int, utterance_id: int, before: str, after: str, actor: str
) -> None:
    """Count what the clerk replaced in a line (in the caller's transaction)."""
    for wrong, right in edit_replacements(before, after):
        _note(session, wrong, right, {"meeting": meeting_id, "utterance": utterance_id, "by": actor})


def learn_from_replace(session: Session, meeting_id: int, preview, actor: str) -> None:
    """A find and replace (置換) of a word counts as the replacement seen in each utterance it changed (up to
    ``PROPOSE_AFTER`` of them: enough to propose it)."""
    wrong, right = preview.find.strip(), preview.replace.strip()
    if not wrong or not right or max(len(wrong), len(right)) > 20 or _NOT_A_WORD.match(wrong + right):
        return
    for match in preview.matches[:PROPOSE_AFTER]:
        _note(session, wrong, right, {"meeting": meeting_id, "utterance": match.utterance_id, "by": actor})


def _note(session: Session, wrong: str, right: str, place: dict) -> None:
    """Count one place (in the organisation of its meeting); replacements the rules already make, or that were
    dismissed or accepted, are not counted."""
    org_id = store.get_meeting(session, meeting_id=place["meeting"]).org_id
    store.lock_proposals(session, org_id=org_id)  # before reading: another clerk may be counting the same one
    existing = store.proposal_for(session, wrong=wrong, right=right, org_id=org_id)
    if existing is not None and existing.status != "open":
        return
    if store.correction_like(session, wrong=wrong, right=right, context="", org_id=org_id) is not None:
        return
    store.note_replacement(session, wrong=wrong, right=right, place=place, org_id=org_id)


def _check_rule(wrong: str, right: str, context: str) -> tuple[str, str, str]:
    wrong, right, context = wrong.strip(), right.strip(), context.strip()
    if not wrong or not right:
        raise InputError("誤（直す前）と正（直した後）の両方を入力してください。", "empty rule")
    if wrong == right:
        raise InputError("誤と正が同じです。", "wrong == right")
    if max(len(wrong), len(right), len(context)) > _LONGEST:
        raise InputError(f"誤・正・文脈はそれぞれ {_LONGEST} 文字までです。", "rule too long")
    if context and wrong not in context and len(context) < 2:
        raise InputError("文脈は 2 文字以上で入力してください。", "context too short")
    return wrong, right, context


class CorrectionsService(Service):
    """The 補正ルール of the 用語辞書 page and ``minutes corrections``."""

    def rules(self) -> list[RuleView]:
        require(self.user, Permission.READ)
        with Session(self.engine) as session:
            return [_rule_view(row) for row in store.corrections(session, org_id=self.user.org_id)]

    def add(self, wrong: str, right: str, *, context: str = "") -> RuleView:
        require(self.user, Permission.MANAGE_DICTIONARY)
        wrong, right, context = _check_rule(wrong, right, context)
        with Session(self.engine) as session:
            row = self._add(session, wrong, right, context)
            session.commit()
            return _rule_view(row)

    def _add(self, session: Session, wrong: str, right: str, context: str) -> Correction:
        if (
            store.correction_like(session, wrong=wrong, right=right, context=context, org_id=self.user.org_id)
            is not None
        ):
            raise InputError(f"「{wrong}→{right}」はすでに登録されています。", "duplicate rule")
        row = store.add_correction(
            session, wrong=wrong, right=right, context=context, actor=self.actor, org_id=self.user.org_id
        )
        store.audit.record(
            session, actor=self.actor, action="rule_add", target_type="rule", target_id=row.id, after=_rule_state(row)
        )
        return row

    def delete(self, rule_id: int) -> None:
        require(self.user, Permission.MANAGE_DICTIONARY)
        with Session(self.engine) as session:
            row = store.get_correction(session, correction_id=rule_id, org_id=self.user.org_id)
            before = _rule_state(row)
            store.delete_correction(session, row=row)
            store.audit.record(
                session, actor=self.actor, action="rule_delete", target_type="rule", target_id=rule_id, before=before
            )
            session.commit()

    def delete_like(self, wrong: str, right: str | None = None, *, context: str | None = None) -> int:
        """Delete the rules for ``wrong`` (and ``right``, ``context`` when given); returns how many (the CLI)."""
        matching = [
            r
            for r in self.rules()
            if r.wrong == wrong.strip()
            and (right is None or r.right == right.strip())
            and (context is None or r.context == context.strip())
        ]
        if not matching:
            raise InputError(f"「{wrong}」の補正ルールはありません。", f"no rule {wrong!r}")
        for rule in matching:
            self.delete(rule.id)
        return len(matching)

    def proposals(self) -> list[ProposalView]:
        """Replacements seen in at least two utterances and not yet accepted or dismissed, most seen first."""
        require(self.user, Permission.READ)
        with Session(self.engine) as session:
            views = [
                ProposalView(
                    row.id,
                    row.wrong,
                    row.right,
                    len(row.places),
                    len({place.get("meeting") for place in row.places}),
                    store.dictionary_term_named(session, text=row.right, org_id=self.user.org_id) is not None,
                )
                for row in store.proposals(session, org_id=self.user.org_id)
                if len(row.places) >= PROPOSE_AFTER
            ]
        return sorted(views, key=lambda view: -view.places)

    def accept(self, proposal_id: int, *, add_term: bool = False) -> RuleView:
        """The proposal becomes a rule (and, with ``add_term``, its new word a 用語辞書 term of kind その他)."""
        require(self.user, Permission.MANAGE_DICTIONARY)
        with Session(self.engine) as session:
            proposal = self._open_proposal(session, proposal_id)
            row = store.correction_like(
                session, wrong=proposal.wrong, right=proposal.right, context="", org_id=self.user.org_id
            )
            row = row or self._add(session, proposal.wrong, proposal.right, "")
            term = None
            if add_term and store.dictionary_term_named(session, text=proposal.right, org_id=self.user.org_id) is None:
                term = check_term(proposal.right, "", "その他")
                store.put_dictionary_term(
                    session, text=term.text, reading="", kind=term.kind, actor=self.actor, org_id=self.user.org_id
                )
            self._decide(session, proposal, "accepted", {"rule": row.id, "term": term.text if term else None})
            session.commit()
            return _rule_view(row)

    def dismiss(self, proposal_id: int) -> None:
        """Not a rule: the replacement is not proposed again."""
        require(self.user, Permission.MANAGE_DICTIONARY)
        with Session(self.engine) as session:
            self._decide(session, self._open_proposal(session, proposal_id), "dismissed", {})
            session.commit()

    def _open_proposal(self, session: Session, proposal_id: int) -> CorrectionProposal:
        proposal = store.get_proposal(session, proposal_id=proposal_id, org_id=self.user.org_id)
        if proposal.status != "open":
            raise InputError("この提案はすでに処理されています。", f"proposal {proposal_id} {proposal.status}")
        return proposal

    def _decide(self, session: Session, proposal: CorrectionProposal, status: str, extra: dict) -> None:
        store.set_proposal_status(session, row=proposal, status=status)
        store.audit.record(
            session,
            actor=self.actor,
            action={"accepted": "proposal_accept", "dismissed": "proposal_dismiss"}[status],
            target_type="proposal",
            target_id=proposal.id,
            after={"wrong": proposal.wrong, "right": proposal.right, "places": len(proposal.places)} | extra,
        )

"""A meeting's speakers: talk time and a clip of each voice, names and roles, adding a speaker the separation did not
find, merging a speaker found twice, changing the speaker of many utterances at once, and who spoke when."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

from sqlmodel import Session

from minutes import store
from minutes.errors import EditConflict, InputError
from minutes.services.base import Service
from minutes.services.people import person_view, speaker_fields
from minutes.services.speaker_views import (
    ReassignMatch,
    ReassignPreview,
    ReassignScope,
    SpeakerCandidate,
    reassign_scope_label,
)
from minutes.services.transcript import audit_change, first_revision, revision_row
from minutes.services.views import ADDED_LABEL, SPEAKER_KINDS, MeetingDetails, SpeakerInfo, int_or_none, speaker_info
from minutes.store.engine import write_lock
from minutes.store.tables import Speaker, Utterance, utcnow

_FIELDS = ("name", "role", "seat", "kind", "yomi", "group")
_LINK = ("person_id", "person_score", "suggested_person_id", "person_confirmed")
CHAIR_ROLES = re.compile(r"^(?:議長|委員長|座長|会長)$")  # whose speaker calls on the others


class SpeakersService(Service):
    """The 話者 page's service."""

    def speakers(self, meeting_id: int) -> list[SpeakerInfo]:
        """Speakers with talk time and a clip (the middle of their longest utterance, at most 12 s)."""
        with Session(self.engine) as session:
            self._readable(session, meeting_id)
            totals = store.speaker_totals(session, meeting_id=meeting_id)
            numbers = store.speaker_numbers(session, meeting_id=meeting_id)
            result = []
            for s in store.speakers_of(session, meeting_id=meeting_id):
                seconds, count = totals.get(s.id, (0.0, 0))
                longest = store.longest_utterance_of(session, speaker_id=s.id)
                sample = None
                if longest is not None:
                    middle = (longest.start + longest.end) / 2
                    half = min(6.0, (longest.end - longest.start) / 2)
                    sample = (max(0.0, middle - half), middle + half)
                info = speaker_info(s, numbers.get(s.id, 0))
                result.append(replace(info, seconds=seconds, utterances=count, sample=sample))
            return result

    def update_speaker(self, speaker_id: int, *, expected: SpeakerInfo | None = None, **fields) -> SpeakerInfo:
        """Set a speaker's name, role, seat (議席番号), kind (議員/説明員/職員/その他), yomi and group (会派).

        ``expected`` is the speaker as the user saw it: if someone changed it since, nothing is saved (EditConflict).
        """
        _check_fields(fields)
        with Session(self.engine) as session:
            speaker = store.get_speaker(session, speaker_id=speaker_id)
            self._editable(session, speaker.meeting_id)
            if expected is not None and speaker_info(speaker).fields() != expected.fields():
                raise EditConflict(
                    f"この話者は他の人が変更しています（現在: {self._info(session, speaker).display}）。"
                    "最新の内容を確認してから保存してください。",
                    f"speaker {speaker_id} changed",
                    self._info(session, speaker),
                )
            before = speaker_info(speaker).fields()
            _set_fields(speaker, fields)
            if speaker.person_id is not None and speaker.name != before["name"]:
                _unlink(speaker)  # renamed: no longer the roster's person it was linked to
            store.add_event(
                session,
                meeting_id=speaker.meeting_id,
                action="speaker_details",
                actor=self.actor,
                detail={"speaker": speaker.label, "before": before, "after": speaker_info(speaker).fields()},
            )
            store.touch_meeting(session, meeting_id=speaker.meeting_id)
            session.commit()
            return self._info(session, speaker)

    def add_speaker(self, meeting_id: int, **fields) -> SpeakerInfo:
        """A speaker the separation did not find (町長 heard as 5番), by name and/or role (and seat, kind, yomi,
        group, as :meth:`update_speaker`); at once a choice in every speaker drop-down. Refuses a second speaker
        of the same name and role."""
        _check_fields(fields)
        name, role = (str(fields.get(key) or "").strip() for key in ("name", "role"))
        if not name and not role:
            raise InputError("追加する話者の氏名か役職を入力してください。", "no name or role")
        with Session(self.engine) as session:
            self._editable(session, meeting_id)
            existing = store.speakers_of(session, meeting_id=meeting_id)
            same = next((s for s in existing if (s.name or "", s.role or "") == (name, role)), None)
            if same is not None:
                raise InputError(
                    f"「{' '.join(p for p in (role, name) if p)}」はすでに話者にいます。", f"speaker {same.id} exists"
                )
            labels = {s.label for s in existing}
            number = 1 + sum(s.label.startswith(ADDED_LABEL) for s in existing)
            while f"{ADDED_LABEL}{number:02d}" in labels:
                number += 1
            speaker = Speaker(meeting_id=meeting_id, label=f"{ADDED_LABEL}{number:02d}")
            _set_fields(speaker, fields)
            store.add_speaker(session, speaker=speaker)
            store.add_event(
                session,
                meeting_id=meeting_id,
                action="speaker_add",
                actor=self.actor,
                detail={"speaker": speaker.id, "label": speaker.label, "after": speaker_info(speaker).fields()},
            )
            store.touch_meeting(session, meeting_id=meeting_id)
            session.commit()
            return self._info(session, speaker)

    def confirm_people(self, meeting_id: int) -> int:
        """Accept, in one step, every name the voices gave (speakers identified automatically, not yet confirmed);
        returns how many. Each is a :meth:`link_person`, in the record and the audit trail."""
        pending = [s for s in self.speakers(meeting_id) if s.person_id is not None and not s.person_confirmed]
        for speaker in pending:
            self.link_person(speaker.id, speaker.person_id, expected=speaker)
        return len(pending)

    def link_person(
        self, speaker_id: int, person_id: int | None, *, expected: SpeakerInfo | None = None
    ) -> SpeakerInfo:
        """Say which person of the roster (名簿) this speaker is: the link is confirmed (``person_confirmed``), the
        voice's score kept, a suggestion cleared, and the name, role, seat, kind, yomi and group copied from the
        person and the title held on the meeting's date (``people.speaker_fields``: ○議長（高橋一郎君）), so that a
        later change of the roster never alters this meeting's record.

        ``person_id`` None unlinks: the speaker is nobody of the roster (score and suggestion cleared too), and keeps
        the names it has, which the clerk changes as any speaker's (a record is never blanked by a click).
        ``expected`` is the speaker as the user saw it (EditConflict if changed since). Refused on a finalized
        meeting; in the meeting's record and the audit trail."""
        with Session(self.engine) as session:
            speaker = store.get_speaker(session, speaker_id=speaker_id)
            meeting = self._editable(session, speaker.meeting_id)
            if expected is not None and _link_state(speaker_info(speaker)) != _link_state(expected):
                raise EditConflict(
                    f"この話者は他の人が変更しています（現在: {self._info(session, speaker).display}）。"
                    "最新の内容を確認してから、もう一度選んでください。",
                    f"speaker {speaker_id} changed",
                    self._info(session, speaker),
                )
            before = _link_state(speaker_info(speaker))
            if person_id is None:
                _unlink(speaker)
                person_name = None
            else:
                person = person_view(session, person_id, meeting.org_id)
                _set_fields(speaker, speaker_fields(person, meeting.held_at.date() if meeting.held_at else None))
                speaker.person_id, speaker.person_confirmed, speaker.suggested_person_id = person.id, True, None
                person_name = person.name
            store.add_event(
                session,
                meeting_id=speaker.meeting_id,
                action="speaker_person",
                actor=self.actor,
                detail={
                    "speaker": speaker.label,
                    "person": person_name,
                    "before": before,
                    "after": _link_state(speaker_info(speaker)),
                },
            )
            store.touch_meeting(session, meeting_id=speaker.meeting_id)
            session.commit()
            return self._info(session, speaker)

    def header_people(self, meeting_id: int) -> list[SpeakerCandidate]:
        """The people of the meeting's header (議長, 出席議員, 説明員, 職員) as speakers to add; ``present`` marks
        those a speaker of that name already is."""
        with Session(self.engine) as session:
            meeting = self._readable(session, meeting_id)
            names = {s.name for s in store.speakers_of(session, meeting_id=meeting_id) if s.name}
        details = MeetingDetails.from_dict(meeting.details)
        people: list[SpeakerCandidate] = []
        for source, kind, group in (
            ("出席議員", "議員", details.attendees),
            ("説明のため出席した者", "説明員", details.explainers),
            ("職務のため出席した者", "職員", details.staff),
        ):
            for person in group:
                if person.name.strip():
                    role = person.role or ("議長" if person.name == details.chair else "")
                    people.append(SpeakerCandidate(person.name, role, person.seat, kind, source, person.name in names))
        if details.chair and all(p.name != details.chair for p in people):
            people.insert(0, SpeakerCandidate(details.chair, "議長", None, "議員", "議長", details.chair in names))
        return people

    def chair(self, meeting_id: int) -> SpeakerInfo | None:
        """The speaker who chairs (role 議長・委員長・座長・会長, else the header's 議長 by name), if there is one."""
        with Session(self.engine) as session:
            meeting = self._readable(session, meeting_id)
            speakers = store.speakers_of(session, meeting_id=meeting_id)
            chair_name = MeetingDetails.from_dict(meeting.details).chair
            found = next((s for s in speakers if CHAIR_ROLES.match((s.role or "").strip())), None)
            if found is None and chair_name:
                found = next((s for s in speakers if s.name == chair_name), None)
            return None if found is None else self._info(session, found)

    def _names(self, session: Session, meeting_id: int) -> Callable[[int | None], str]:
        """speaker id → the speaker's name as shown now (話者N for those nobody named)."""
        speakers = {s.id: s for s in store.speakers_of(session, meeting_id=meeting_id)}
        numbers = store.speaker_numbers(session, meeting_id=meeting_id)

        def shown(speaker_id: int | None) -> str:
            speaker = speakers.get(speaker_id) if speaker_id is not None else None
            return speaker_info(speaker, numbers.get(speaker.id, 0)).display if speaker else "指定した話者"

        return shown

    def _info(self, session: Session, speaker: Speaker) -> SpeakerInfo:
        return speaker_info(speaker, store.speaker_numbers(session, meeting_id=speaker.meeting_id).get(speaker.id, 0))

    # ------------------------------------------------------------ one speaker for many utterances

    def preview_reassign(
        self, utterance_id: int, *, speaker_id: int, scope: str = ReassignScope.ONE, until_speaker_id: int | None = None
    ) -> ReassignPreview:
        """The utterances a change of speaker from ``utterance_id`` on reaches (``views.ReassignScope``):
        ``one`` this utterance; ``same`` it and every later utterance of its current speaker; ``until`` it and every
        later one, whoever's, up to (not including) the next utterance of ``until_speaker_id`` (or the end)."""
        with Session(self.engine) as session:
            start = store.get_utterance(session, utterance_id=utterance_id)
            self._readable(session, start.meeting_id)
            matches = _reach(session, start, speaker_id, scope, until_speaker_id)
        return ReassignPreview(utterance_id, speaker_id, scope, until_speaker_id, matches)

    def reassign(self, preview: ReassignPreview) -> int:
        """Give the previewed utterances their new speaker, as one action: all or nothing, each only if nobody changed
        it (or the reach) since the preview (else EditConflict). Each changed utterance gets a new version and a
        revision; the audit trail gets one event per utterance and the meeting's record one. Returns the count."""
        with Session(self.engine) as session:
            start = store.get_utterance(session, utterance_id=preview.utterance_id)
            self._editable(session, start.meeting_id)
            write_lock(session.connection())  # the reach read now stays current until the commit
            current = _reach(session, start, preview.speaker_id, preview.scope, preview.until_speaker_id)
            if {m.utterance_id: m.version for m in current} != preview.expected:
                raise EditConflict(
                    "表示の後に、対象の発言が他の人に変更されました。画面を確認してから、もう一度実行してください。",
                    f"reach changed: {preview.expected} -> {[(m.utterance_id, m.version) for m in current]}",
                )
            rows = {u.id: u for u in store.utterances_from(session, meeting_id=start.meeting_id, seq=start.seq)}
            changing = [rows[m.utterance_id] for m in current if m.speaker_id != preview.speaker_id]
            shown = self._names(session, start.meeting_id)  # as the clerk saw them: 話者N before the change
            rule = reassign_scope_label(preview.scope, shown(start.speaker_id), shown(preview.until_speaker_id))
            now, values = utcnow(), {"speaker_id": preview.speaker_id}
            known = store.utterances_with_revisions(session, utterance_ids=[u.id for u in changing])
            revisions = [first_revision(u) | {"edited_at": now} for u in changing if u.id not in known]
            revisions += [
                revision_row(u, u.version, self.actor, "speaker", values) | {"edited_at": now} for u in changing
            ]
            updates = [{"target": u.id, "expected": u.version, "new_speaker": preview.speaker_id} for u in changing]
            if store.set_speakers(session, rows=updates) != len(updates):
                session.rollback()
                raise EditConflict("途中で他の人が発言を変更しました。もう一度実行してください。", "rowcount")
            store.add_revisions(session, rows=revisions)
            store.audit.record_many(
                session,
                actor=self.actor,
                action="utterance_speaker",
                target_type="utterance",
                changes=[(u.id, *audit_change(u, u.version, values)) for u in changing],
            )
            store.add_event(
                session,
                meeting_id=start.meeting_id,
                action="reassign",
                actor=self.actor,
                detail={
                    "speaker": shown(preview.speaker_id),
                    "rule": rule,
                    "from_seq": start.seq,
                    "utterances": [u.id for u in changing],
                    "count": len(changing),
                },
            )
            store.touch_meeting(session, meeting_id=start.meeting_id)
            session.commit()
        return len(changing)

    def merge_speakers(self, *, source_id: int, target_id: int) -> int:
        """Attribute everything of ``source`` to ``target`` (the same person detected twice); ``source`` goes away.
        Returns the number of utterances moved."""
        if source_id == target_id:
            raise InputError("同じ話者どうしは統合できません。", "same speaker")
        with Session(self.engine) as session:
            source = store.get_speaker(session, speaker_id=source_id)
            target = store.get_speaker(session, speaker_id=target_id)
            if source.meeting_id != target.meeting_id:
                raise InputError("別の会議の話者とは統合できません。", "different meetings")
            self._editable(session, source.meeting_id)
            names = (self._info(session, source).display, self._info(session, target).display)  # as shown before
            moved = store.reassign_speaker(session, from_id=source_id, to_id=target_id)
            if not any(getattr(target, k) for k in _FIELDS):
                for key in (*_FIELDS, *_LINK):
                    setattr(target, key, getattr(source, key))
            detail = {"source": source.label, "source_name": names[0], "target": target.label, "target_name": names[1]}
            store.delete_speaker(session, speaker_id=source_id)
            store.add_event(
                session,
                meeting_id=source.meeting_id,
                action="speaker_merge",
                actor=self.actor,
                detail=detail | {"utterances": moved},
            )
            store.touch_meeting(session, meeting_id=source.meeting_id)
            session.commit()
            return moved

    def timeline(self, meeting_id: int) -> list[tuple[int, float, float]]:
        """(speaker id, start, end) of every utterance: for the who-spoke-when chart."""
        with Session(self.engine) as session:
            self._readable(session, meeting_id)
            return store.timeline_of(session, meeting_id=meeting_id)


def _check_fields(fields: dict) -> None:
    unknown = set(fields) - set(_FIELDS)
    if unknown:
        raise TypeError(f"unknown speaker fields {unknown}")
    if fields.get("kind") not in (None, "", *SPEAKER_KINDS):
        raise InputError(f"区分は {'・'.join(SPEAKER_KINDS)} から選んでください。", f"kind={fields['kind']!r}")
    seat = fields.get("seat")
    if seat is not None and seat != "" and (int_or_none(seat) is None or not 1 <= int(seat) <= 999):
        raise InputError("議席番号は 1〜999 の整数で入力してください。", f"seat={seat!r}")


def _link_state(info: SpeakerInfo) -> dict:
    """The speaker's names and link to the roster, as compared for conflicts and recorded."""
    return info.fields() | {key: getattr(info, key) for key in _LINK}


def _unlink(speaker: Speaker) -> None:
    speaker.person_id, speaker.person_score, speaker.suggested_person_id = None, None, None
    speaker.person_confirmed = False


def _set_fields(speaker: Speaker, fields: dict) -> None:
    for key, value in fields.items():
        if key == "seat":
            value = int_or_none(value)
        elif isinstance(value, str):
            value = value.strip()[:100] or None
        setattr(speaker, key, value)


def _reach(
    session: Session, start: Utterance, speaker_id: int, scope: str, until_speaker_id: int | None
) -> tuple[ReassignMatch, ...]:
    """The utterances a change of speaker from ``start`` reaches under ``scope`` (see ``preview_reassign``)."""
    if scope not in ReassignScope.ALL:
        raise InputError("変更する範囲を選んでください。", f"scope={scope!r}")
    speaker = store.get_speaker(session, speaker_id=speaker_id)
    if speaker.meeting_id != start.meeting_id:
        raise InputError("別の会議の話者は選べません。", "speaker of another meeting")
    if scope == ReassignScope.UNTIL and until_speaker_id is None:
        raise InputError("どの話者が話す前までかを選んでください。", "no until speaker")
    if scope == ReassignScope.ONE:
        reach = [start]
    else:
        later = store.utterances_from(session, meeting_id=start.meeting_id, seq=start.seq)
        if scope == ReassignScope.SAME:
            reach = [u for u in later if u.speaker_id == start.speaker_id]
        else:
            reach = [start]
            for u in later[1:]:
                if u.speaker_id == until_speaker_id:
                    break
                reach.append(u)
    return tuple(ReassignMatch(u.id, u.seq, u.start, u.version, u.speaker_id, u.text) for u in reach)

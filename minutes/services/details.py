"""A meeting's header and state: the 会議録 header (会議名 … 議事日程), finalize and reopen, who may see a closed
meeting, the agenda item of utterances, and the meeting's own record of actions.

Every change names the version it was made against (``Meeting.edit_version``); the row is updated only where that
version is still current, and otherwise ``EditConflict`` says who changed it when. Finalizing writes the archive
package (copied with no transaction open, committed with the finalization): a meeting is finalized only with its
archive.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import replace

from sqlmodel import Session

from minutes import clock, store
from minutes.errors import EditConflict, InputError
from minutes.services.archive import commit_staged, discard_staged, stage_archive
from minutes.services.base import Service
from minutes.services.permissions import Permission, check
from minutes.services.views import (
    TIME_MARK_KINDS,
    Event,
    JobState,
    MeetingDetails,
    MeetingInfo,
    RecordingInfo,
    TimeMarkEntry,
    job_state,
)
from minutes.services.voices import queue_meeting_voices
from minutes.store.engine import write_lock
from minutes.store.tables import JobStatus, utcnow


def _mark_text(mark: TimeMarkEntry) -> str:
    place = "最初の発言の前" if mark.after_seq is None else f"発言 {mark.after_seq + 1} の後"
    return f"{place}の「{mark.time:%H:%M} {mark.kind}」"


def _check_marks(session: Session, meeting_id: int, marks: Sequence[TimeMarkEntry]) -> None:
    """Each mark of a known kind, after an utterance of the meeting (by seq, shown 1-based as in the editor)."""
    if not marks:
        return
    last = max((row[1] for row in store.agenda_rows(session, meeting_id=meeting_id)), default=None)
    for mark in marks:
        if mark.kind not in TIME_MARK_KINDS:
            raise InputError(
                f"時刻の記録の種類「{mark.kind}」は使えません（{'・'.join(TIME_MARK_KINDS)}）。",
                f"unknown time mark kind {mark.kind!r}",
            )
        if mark.after_seq is not None and (last is None or not 0 <= mark.after_seq <= last):
            known = f"この会議の発言は 1〜{last + 1} です" if last is not None else "この会議にはまだ発言がありません"
            raise InputError(
                f"発言 {mark.after_seq + 1} はありません（{known}）。{mark.kind}の位置を確かめてください。",
                f"time mark after seq {mark.after_seq}, last seq {last}",
            )


class MeetingDetailsService(Service):
    """The meeting page's service: header, state, finalize, access."""

    def meeting(self, meeting_id: int) -> MeetingInfo:
        with Session(self.engine) as session:
            m = self._readable(session, meeting_id)
            recording = store.recording_of(session, meeting_id=meeting_id)
            return MeetingInfo(
                m.id,
                m.title,
                m.kind,
                m.held_at,
                m.place,
                m.language,
                m.version,
                m.edit_version,
                m.finalized_at,
                m.finalized_by,
                MeetingDetails.from_dict(m.details),
                None
                if recording is None
                else RecordingInfo(
                    recording.id,
                    recording.original_name,
                    self.settings.data_dir / recording.stored_path,
                    recording.duration,
                    recording.size_bytes,
                ),
                job_state(store.latest_job(session, meeting_id=meeting_id)),
                store.count_utterances(session, meeting_id=meeting_id),
            )

    def job(self, meeting_id: int) -> JobState | None:
        with Session(self.engine) as session:
            self._readable(session, meeting_id)
            return job_state(store.latest_job(session, meeting_id=meeting_id))

    def update_meeting(
        self,
        meeting_id: int,
        *,
        expected_version: int,
        title: str,
        kind: str = "",
        held_at: dt.datetime | None = None,
        place: str = "",
        details: MeetingDetails | None = None,
    ) -> MeetingInfo:
        """Save the meeting's header (会議名 … 議事日程) if nobody changed it since ``expected_version``."""
        title = title.strip()
        if not title:
            raise InputError("会議名を入力してください。", "empty title")
        details = details or MeetingDetails()
        with Session(self.engine) as session:
            meeting = self._editable(session, meeting_id)
            stored = set(MeetingDetails.from_dict(meeting.details).time_marks)
            # only new marks: one recorded earlier stays valid after the utterance it followed was merged away
            _check_marks(session, meeting_id, [m for m in details.time_marks if m not in stored])
            values = dict(
                title=title[:200],
                kind=kind.strip()[:100],
                held_at=held_at,
                place=place.strip()[:200],
                details=details.to_dict(),
            )
            if not store.update_meeting_row(
                session, meeting_id=meeting_id, expected_version=expected_version, **values
            ):
                raise EditConflict(
                    f"会議情報は {clock.local(meeting.updated_at, '%H:%M')} 以降に他の人が変更しています。"
                    "最新の内容を表示しましたので、確認してからもう一度保存してください。",
                    f"meeting {meeting_id} edit_version {meeting.edit_version} != {expected_version}",
                )
            store.add_event(session, meeting_id=meeting_id, action="details", actor=self.actor)
            session.commit()
        return self.meeting(meeting_id)

    def add_time_mark(
        self, meeting_id: int, *, expected_version: int, kind: str, time: dt.time, after_seq: int | None
    ) -> MeetingInfo:
        """Record a time note of the proceedings — 「午前１１時０５分休憩」 — after the utterance ``after_seq``
        (``Line.seq``; None: before the first). ``kind``: 休憩 or 再開, or 開議/開会 and 散会/閉会/延会, which replace
        the lines printed from the header's opening and closing times. Refused on a finalized meeting and when the
        header changed since ``expected_version``; recorded in the meeting's log."""
        mark = TimeMarkEntry(kind.strip(), time.replace(second=0, microsecond=0), after_seq)
        with Session(self.engine) as session:
            meeting = self._editable(session, meeting_id)
            details = MeetingDetails.from_dict(meeting.details)
            _check_marks(session, meeting_id, [mark])
            if mark in details.time_marks:
                raise InputError(
                    f"{_mark_text(mark)}はすでに記録されています。", f"duplicate time mark {mark.to_dict()}"
                )
            marks = (*details.time_marks, mark)
            self._save_marks(session, meeting, details, marks, expected_version, "time_mark_add", mark)
        return self.meeting(meeting_id)

    def remove_time_mark(self, meeting_id: int, mark: TimeMarkEntry, *, expected_version: int) -> MeetingInfo:
        """Remove a recorded time note (one of ``MeetingInfo.details.time_marks``); same rules as ``add_time_mark``."""
        with Session(self.engine) as session:
            meeting = self._editable(session, meeting_id)
            details = MeetingDetails.from_dict(meeting.details)
            if mark not in details.time_marks:
                raise InputError(
                    f"{_mark_text(mark)}は記録されていません。最新の内容を確認してください。",
                    f"no time mark {mark.to_dict()}",
                )
            marks = tuple(m for m in details.time_marks if m != mark)
            self._save_marks(session, meeting, details, marks, expected_version, "time_mark_remove", mark)
        return self.meeting(meeting_id)

    def _save_marks(
        self,
        session: Session,
        meeting,
        details: MeetingDetails,
        marks: tuple[TimeMarkEntry, ...],
        expected_version: int,
        action: str,
        mark: TimeMarkEntry,
    ) -> None:
        changed = replace(details, time_marks=marks).to_dict()
        if not store.update_meeting_row(
            session, meeting_id=meeting.id, expected_version=expected_version, details=changed
        ):
            raise EditConflict(
                f"会議情報は {clock.local(meeting.updated_at, '%H:%M')} 以降に他の人が変更しています。"
                "最新の内容を表示しましたので、確認してからもう一度操作してください。",
                f"meeting {meeting.id} edit_version {meeting.edit_version} != {expected_version}",
            )
        store.add_event(session, meeting_id=meeting.id, action=action, actor=self.actor, detail=mark.to_dict())
        session.commit()

    def finalize(self, meeting_id: int, *, expected_version: int) -> MeetingInfo:
        """Make the meeting read-only, recording who and when, with its archive package: a meeting is finalized only
        with its archive. The files (a recording may be gigabytes) are copied and hashed into a staging folder with
        no transaction open; then one short transaction checks that nothing changed meanwhile (else the staging
        folder goes and ``EditConflict`` says so), marks the meeting finalized and adds the archive
        (``minutes.services.archive_writer``)."""
        with Session(self.engine) as session:
            check(session, self.user, Permission.FINALIZE, meeting_id)
            meeting = self._editable(session, meeting_id)
            job = store.latest_job(session, meeting_id=meeting_id)
            if job is None or job.status != JobStatus.SUCCEEDED:
                raise InputError("文字起こしが完了していないため確定できません。", "job not succeeded")
            if meeting.edit_version != expected_version:  # before copying anything
                raise self._finalize_conflict(meeting_id)
        finalized_at = utcnow()
        staged = stage_archive(
            self.engine, settings=self.settings, meeting_id=meeting_id, actor=self.actor, finalized_at=finalized_at
        )
        with Session(self.engine) as session:
            try:
                write_lock(session.connection())
                if not store.update_meeting_row(
                    session,
                    meeting_id=meeting_id,
                    expected_version=expected_version,
                    finalized_at=finalized_at,
                    finalized_by=self.actor,
                ):
                    raise self._finalize_conflict(meeting_id)
                store.add_event(
                    session, meeting_id=meeting_id, action="finalize", actor=self.actor,
                    detail={"version": staged.version},
                )  # fmt: skip
                queue_meeting_voices(session, meeting_id, self.actor)  # its named speakers' voices for the profiles
            except BaseException:
                session.rollback()
                discard_staged(staged)
                raise
            commit_staged(session, staged)
        return self.meeting(meeting_id)

    @staticmethod
    def _finalize_conflict(meeting_id: int) -> EditConflict:
        return EditConflict(
            "確定の前に他の人が会議情報を変更しました。最新の内容を確認してから確定してください。",
            f"meeting {meeting_id} changed",
        )

    def assign_agenda(self, meeting_id: int, utterance_ids: Sequence[int], *, agenda_order: int | None) -> int:
        """Put utterances under 日程第N (None: no item). Not an edit of their text: versions stay. Returns how many."""
        with Session(self.engine) as session:
            meeting = self._editable(session, meeting_id)
            orders = {a.order for a in MeetingDetails.from_dict(meeting.details).agenda if a.order is not None}
            if agenda_order is not None and agenda_order not in orders:
                raise InputError(
                    f"日程第{agenda_order}は議事日程にありません。先に「会議の情報・確定」で議事日程に加えてください。",
                    f"agenda order {agenda_order} not in {sorted(orders)}",
                )
            changed = store.set_agenda_order(
                session, meeting_id=meeting_id, utterance_ids=utterance_ids, agenda_order=agenda_order
            )
            store.add_event(
                session,
                meeting_id=meeting_id,
                action="agenda",
                actor=self.actor,
                detail={"order": agenda_order, "utterances": changed},
            )
            store.touch_meeting(session, meeting_id=meeting_id)
            session.commit()
        return changed

    def reopen(self, meeting_id: int, *, reason: str, expected_version: int) -> MeetingInfo:
        """Make a finalized meeting editable again; recorded with its reason; the document version rises."""
        reason = reason.strip()
        if not reason:
            raise InputError("確定を解除する理由を入力してください。", "empty reason")
        with Session(self.engine) as session:
            meeting = check(session, self.user, Permission.FINALIZE, meeting_id)
            if meeting.finalized_at is None:
                raise InputError("この会議録は確定されていません。", "not finalized")
            # read before the update: the session refreshes ``meeting`` from it
            was = {"finalized_by": meeting.finalized_by, "finalized_at": meeting.finalized_at.isoformat()}
            version = meeting.version + 1
            if not store.update_meeting_row(
                session,
                meeting_id=meeting_id,
                expected_version=expected_version,
                finalized_at=None,
                finalized_by=None,
                version=version,
            ):
                raise EditConflict("他の人がすでに確定を解除しました。", f"meeting {meeting_id} changed")
            store.add_event(
                session,
                meeting_id=meeting_id,
                action="reopen",
                actor=self.actor,
                detail={"reason": reason[:500], "version": version} | was,
            )
            session.commit()
        return self.meeting(meeting_id)

    def events(self, meeting_id: int) -> list[Event]:
        with Session(self.engine) as session:
            self._readable(session, meeting_id)
            return [
                Event(e.action, e.actor, e.at, dict(e.detail)) for e in store.events_of(session, meeting_id=meeting_id)
            ]

    def members(self, meeting_id: int) -> tuple[bool, set[int]]:
        """Whether the meeting is closed (非公開・秘密会), and the ids of the users who may see it."""
        with Session(self.engine) as session:
            meeting = self._readable(session, meeting_id)
            return meeting.closed, store.members_of(session, meeting_id=meeting_id)

    def set_access(self, meeting_id: int, *, closed: bool, members: Sequence[int]) -> None:
        """Mark the meeting closed (visible only to ``members``) or open. The acting user always stays a member."""
        members = set(members) | ({self.user.id} if not self.user.local else set())
        if closed and not members:
            raise InputError("非公開の会議には閲覧できる利用者を 1 人以上選んでください。", "closed without members")
        with Session(self.engine) as session:
            meeting = check(session, self.user, Permission.MANAGE_ACCESS, meeting_id)
            if members - {u.id for u in store.users(session, org_id=meeting.org_id)} - {self.user.id}:
                raise InputError("この団体の利用者だけを選んでください。", f"members outside org {meeting.org_id}")
            before = {"closed": meeting.closed, "members": sorted(store.members_of(session, meeting_id=meeting_id))}
            store.set_access(session, meeting_id=meeting_id, closed=closed, members=members)
            store.add_event(
                session,
                meeting_id=meeting_id,
                action="access",
                actor=self.actor,
                detail={"before": before, "after": {"closed": closed, "members": sorted(members) if closed else []}},
            )
            session.commit()

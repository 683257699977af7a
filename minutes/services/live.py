"""A meeting transcribed live, run from the app: 開会 (a new meeting and its ``live`` job, which the worker runs),
休憩・再開・散会 as states in the database (the job follows them: ``minutes.services.live_job``), the clerk's marks
(日程第N, notes) and the 字幕表示 links an administrator issues per meeting for the gallery's screen.

A 字幕表示 link needs no account: it holds a random token, of which only the SHA-256 is stored; it shows only the
captions of its meeting, is refused for (and stops showing) a 非公開・秘密会 meeting (``Meeting.closed``), and can be
revoked; issuing and revoking are audited.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session

from minutes import store
from minutes.errors import InputError, JobError, NotFoundError
from minutes.pipeline.live_input import describe_input
from minutes.records import Caption
from minutes.services.base import Service
from minutes.services.live_job import adjourn
from minutes.services.meetings import MeetingsService
from minutes.services.permissions import Permission, check, require
from minutes.services.views import JobView, job_view
from minutes.store.live_tables import LiveState
from minutes.store.tables import JobStatus

STATE_LABELS = {
    LiveState.RUNNING: "開会中",
    LiveState.PAUSED: "休憩中",
    LiveState.ADJOURNING: "散会を処理中",
    LiveState.ADJOURNED: "散会",
}
MARK_KINDS = {"agenda": "日程", "note": "メモ", "休憩": "休憩", "再開": "再開"}


@dataclass(frozen=True)
class LiveView:
    meeting_id: int
    title: str
    state: str  # a LiveState value
    source: str
    realtime: bool
    started_by: str
    started_at: datetime
    seconds: float  # recorded so far
    provisional: str
    message: str
    job: JobView | None  # the live job
    batch_job_id: int | None  # the transcription queued at 散会

    @property
    def state_label(self) -> str:
        return STATE_LABELS.get(self.state, self.state)

    @property
    def running(self) -> bool:
        return self.state == LiveState.RUNNING

    @property
    def paused(self) -> bool:
        return self.state == LiveState.PAUSED

    @property
    def adjourned(self) -> bool:
        return self.state == LiveState.ADJOURNED

    @property
    def stopped(self) -> bool:
        """The live job failed or was cancelled before 散会 (the clerk may continue it or adjourn)."""
        return self.job is not None and self.job.status in (JobStatus.FAILED, JobStatus.CANCELLED)


@dataclass(frozen=True)
class MarkView:
    id: int
    at: float
    kind: str  # agenda, note, 休憩, 再開
    number: int | None
    text: str
    created_by: str

    @property
    def label(self) -> str:
        if self.kind == "agenda":
            return f"日程第{self.number}" + (f"　{self.text}" if self.text else "")
        return MARK_KINDS.get(self.kind, self.kind) + (f"　{self.text}" if self.text else "")


@dataclass(frozen=True)
class DisplayLinkView:
    id: int
    meeting_id: int
    created_by: str
    created_at: datetime
    revoked_by: str | None
    revoked_at: datetime | None


@dataclass(frozen=True)
class CaptionDisplay:
    """What a 字幕表示 link shows: the meeting's title, its last committed lines and the text being recognized."""

    title: str
    lines: tuple[str, ...]
    provisional: str
    state: str


def _live_view(live, title: str, job) -> LiveView:
    return LiveView(
        live.meeting_id, title, live.state, live.source, live.realtime, live.started_by, live.started_at,
        live.seconds, live.provisional, live.message, job_view(job) if job is not None else None, live.batch_job_id,
    )  # fmt: skip


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class LiveService(Service):
    """Live sessions, their marks and their 字幕表示 links."""

    def start(self, *, title: str, source: str, realtime: bool = False) -> int:
        """開会: a new meeting transcribed live from ``source`` (a device such as ``alsa:default``, a stream URL or a
        file on the server, read at the pace of real time with ``realtime``); returns the meeting's id."""
        require(self.user, Permission.CREATE_MEETING)
        title, source = title.strip(), source.strip()
        if not title:
            raise InputError("会議名を入力してください。", "empty title")
        if not source:
            raise InputError("入力（録音デバイス、ストリームの URL、またはファイル）を指定してください。", "no input")
        describe_input(source)  # a missing file or an unknown kind: refused before anything is stored
        options = self._pipeline_options()
        started = datetime.now().replace(second=0, microsecond=0)
        with Session(self.engine) as session:
            meeting = store.create_meeting(session, title=title[:200], held_at=started, org_id=self.user.org_id)
            recording = store.add_recording(
                session,
                meeting_id=meeting.id,
                original_name=f"ライブ録音 {started:%Y-%m-%d %H:%M}",
                stored_path=f"live/meeting-{meeting.id}.wav",  # until 散会 stores the joined parts
                size_bytes=0,
                sha256="",
            )
            job = store.enqueue_job(
                session,
                meeting_id=meeting.id,
                recording_id=recording.id,
                options=options | {"kind": store.JobKind.LIVE, "requested_by": self.actor},
            )
            store.create_live_session(
                session, meeting_id=meeting.id, source=source, realtime=realtime, started_by=self.actor, job_id=job.id
            )
            store.audit.record(
                session, actor=self.actor, action="create", target_type="meeting", target_id=meeting.id,
                after={"title": meeting.title, "live": source, "job": job.id},
            )  # fmt: skip
            store.add_event(
                session, meeting_id=meeting.id, action="live_open", actor=self.actor, detail={"job": job.id}
            )
            session.commit()
            return meeting.id

    def _pipeline_options(self) -> dict:
        """Those of a new upload: the settings in force and the dictionary (the transcription at 散会 keeps them)."""
        return MeetingsService(self.engine, self.settings, self.user).pipeline_options().to_dict()

    def sessions(self) -> list[LiveView]:
        """The live sessions not yet adjourned that this user may see, newest first."""
        with Session(self.engine) as session:
            views = []
            for live in store.open_live_sessions(session):
                try:
                    meeting = self._readable(session, live.meeting_id)
                except Exception:  # not visible to this user
                    continue
                views.append(_live_view(live, meeting.title, store.get_job(session, job_id=live.job_id)))
            return views

    def session(self, meeting_id: int) -> LiveView | None:
        """The meeting's live session (None for a meeting not transcribed live)."""
        with Session(self.engine) as session:
            meeting = self._readable(session, meeting_id)
            live = store.get_live_session(session, meeting_id=meeting_id)
            if live is None:
                return None
            return _live_view(live, meeting.title, store.get_job(session, job_id=live.job_id))

    def captions(self, meeting_id: int) -> list[Caption]:
        """The committed captions so far, in order."""
        with Session(self.engine) as session:
            self._readable(session, meeting_id)
            return store.live_captions_of(session, meeting_id=meeting_id)

    def pause(self, meeting_id: int) -> LiveView:
        """休憩: the job stops recognizing (what was heard is committed) and goes on recording."""
        return self._change(meeting_id, (LiveState.RUNNING,), LiveState.PAUSED, "休憩")

    def resume(self, meeting_id: int) -> LiveView:
        """再開 after 休憩."""
        return self._change(meeting_id, (LiveState.PAUSED,), LiveState.RUNNING, "再開")

    def adjourn(self, meeting_id: int) -> LiveView:
        """散会: the job commits what it heard, stores the recording and queues the meeting's transcription. When the
        job is not running (it failed or was cancelled), that is done here at once."""
        view = self._change(meeting_id, (LiveState.RUNNING, LiveState.PAUSED), LiveState.ADJOURNING, "散会")
        if view.job is not None and view.job.status in (JobStatus.QUEUED, JobStatus.RUNNING):
            return view
        with Session(self.engine) as session:
            adjourn(session, self.settings, meeting_id, self.actor)
            session.commit()
        return self.session(meeting_id)

    def _change(self, meeting_id: int, allowed: tuple[str, ...], state: str, what: str) -> LiveView:
        with Session(self.engine) as session:
            meeting = check(session, self.user, Permission.CREATE_MEETING, meeting_id)
            live = store.get_live_session(session, meeting_id=meeting_id)
            if live is None:
                raise NotFoundError("この会議はライブで文字起こしされていません。", f"meeting {meeting_id} not live")
            if live.state not in allowed:
                raise InputError(
                    f"{STATE_LABELS[live.state]}のため「{what}」はできません。", f"{live.state} -> {state}"
                )
            store.update_live_session(session, meeting_id=meeting_id, state=state)
            if what in ("休憩", "再開"):
                store.add_live_mark(session, meeting_id=meeting_id, at=live.seconds, kind=what, created_by=self.actor)
            store.add_event(
                session, meeting_id=meeting_id, action=f"live_{state}", actor=self.actor, detail={"at": live.seconds}
            )
            session.commit()
            return _live_view(live, meeting.title, store.get_job(session, job_id=live.job_id))

    def resume_job(self, meeting_id: int) -> LiveView:
        """続行: queue a live job that failed or was cancelled again; it records a new part after the kept ones."""
        view = self.session(meeting_id)
        if view is None or view.job is None or not view.stopped or view.state == LiveState.ADJOURNED:
            raise JobError("ライブ処理は止まっていないため、続行の必要はありません。", f"meeting {meeting_id}")
        MeetingsService(self.engine, self.settings, self.user).retry_job(view.job.id)
        return self.session(meeting_id)

    # ------------------------------------------------------------ marks

    def add_mark(self, meeting_id: int, *, kind: str, number: int | None = None, text: str = "") -> MarkView:
        """A mark at the current time of the recording: 日程第N (``kind`` agenda) or a note."""
        text = text.strip()[:500]
        if kind == "agenda" and (number is None or not 1 <= number <= 999):
            raise InputError("日程の番号（1〜999）を入力してください。", f"agenda number {number}")
        if kind == "note" and not text:
            raise InputError("メモを入力してください。", "empty note")
        if kind not in ("agenda", "note"):
            raise InputError("印の種類は「日程」か「メモ」です。", f"kind {kind}")
        with Session(self.engine) as session:
            check(session, self.user, Permission.CREATE_MEETING, meeting_id)
            live = store.get_live_session(session, meeting_id=meeting_id)
            if live is None or live.state == LiveState.ADJOURNED:
                raise InputError("散会した会議には印を付けられません。", f"meeting {meeting_id} not live")
            mark = store.add_live_mark(
                session, meeting_id=meeting_id, at=live.seconds, kind=kind,
                number=number if kind == "agenda" else None, text=text, created_by=self.actor,
            )  # fmt: skip
            store.add_event(
                session, meeting_id=meeting_id, action="live_mark", actor=self.actor,
                detail={"kind": kind, "number": mark.number, "text": text, "at": mark.at},
            )  # fmt: skip
            session.commit()
            return MarkView(mark.id, mark.at, mark.kind, mark.number, mark.text, mark.created_by)

    def marks(self, meeting_id: int) -> list[MarkView]:
        with Session(self.engine) as session:
            self._readable(session, meeting_id)
            return [
                MarkView(m.id, m.at, m.kind, m.number, m.text, m.created_by)
                for m in store.live_marks_of(session, meeting_id=meeting_id)
            ]

    # ------------------------------------------------------------ 字幕表示 links

    def issue_display_link(self, meeting_id: int) -> str:
        """A new 字幕表示 link's token (shown once; only its hash is kept). Refused for a 非公開・秘密会 meeting."""
        require(self.user, Permission.ISSUE_DISPLAY_LINK)
        with Session(self.engine) as session:
            meeting = check(session, self.user, Permission.ISSUE_DISPLAY_LINK, meeting_id)
            if meeting.closed:
                raise InputError(
                    "非公開・秘密会の会議には字幕表示リンクを発行できません。", f"meeting {meeting_id} closed"
                )
            token = secrets.token_urlsafe(24)
            link = store.add_display_link(
                session, meeting_id=meeting_id, token_sha256=_token_hash(token), created_by=self.actor
            )
            store.audit.record(
                session, actor=self.actor, action="display_link_issue", target_type="meeting", target_id=meeting_id,
                after={"link": link.id},
            )  # fmt: skip
            session.commit()
            return token

    def display_links(self, meeting_id: int) -> list[DisplayLinkView]:
        require(self.user, Permission.ISSUE_DISPLAY_LINK)
        with Session(self.engine) as session:
            check(session, self.user, Permission.ISSUE_DISPLAY_LINK, meeting_id)
            return [
                DisplayLinkView(r.id, r.meeting_id, r.created_by, r.created_at, r.revoked_by, r.revoked_at)
                for r in store.display_links_of(session, meeting_id=meeting_id)
            ]

    def revoke_display_link(self, link_id: int) -> None:
        require(self.user, Permission.ISSUE_DISPLAY_LINK)
        with Session(self.engine) as session:
            link = store.get_display_link(session, link_id=link_id)
            if link is None:
                raise NotFoundError("字幕表示リンクが見つかりません。", f"display link {link_id}")
            check(session, self.user, Permission.ISSUE_DISPLAY_LINK, link.meeting_id)
            if link.revoked_at is None:
                store.revoke_display_link(session, link=link, revoked_by=self.actor)
                store.audit.record(
                    session, actor=self.actor, action="display_link_revoke", target_type="meeting",
                    target_id=link.meeting_id, after={"link": link.id},
                )  # fmt: skip
            session.commit()


DISPLAY_REFUSED = "この字幕表示リンクは使えません（取り消されたか、誤っています）。管理者に確かめてください。"


def caption_display(engine: Engine, token: str | None, *, lines: int = 3) -> CaptionDisplay:
    """What the 字幕表示 link ``token`` shows (no account); NotFoundError for a revoked or unknown link, or a meeting
    that is 非公開・秘密会."""
    with Session(engine) as session:
        link = store.display_link_by_hash(session, token_sha256=_token_hash(token)) if token else None
        if link is None or link.revoked_at is not None:
            raise NotFoundError(DISPLAY_REFUSED, "display link unknown or revoked")
        meeting = store.get_meeting(session, meeting_id=link.meeting_id)
        if meeting.closed:
            raise NotFoundError(DISPLAY_REFUSED, f"meeting {meeting.id} closed")
        live = store.get_live_session(session, meeting_id=meeting.id)
        recent = store.recent_live_captions(session, meeting_id=meeting.id, limit=lines)
        return CaptionDisplay(
            meeting.title,
            tuple(c.text for c in recent),
            live.provisional if live is not None else "",
            live.state if live is not None else LiveState.ADJOURNED,
        )

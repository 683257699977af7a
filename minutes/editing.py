"""Editing a stored transcript: the service behind the editor, speaker and meeting pages.

Every change is saved at once, in one transaction, and recorded: utterance edits as ``UtteranceRevision`` rows (the
state after each version, so any earlier version can be restored), meeting-wide actions as ``MeetingEvent`` rows.

Two people editing the same meeting never overwrite each other silently: every change names the version it was made
against (``Utterance.version``, ``Meeting.edit_version``, or the speaker fields as shown), the database is updated only
where that version is still current, and otherwise ``EditConflict`` says what is there now. A finalized meeting
refuses every change (``FinalizedError``) until it is reopened, which is recorded and raises ``Meeting.version``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from sqlalchemy import bindparam, insert, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, delete

from minutes import audit, auth, repository
from minutes.auth import Permission, Principal
from minutes.errors import InputError, MinutesError
from minutes.tables import JobStatus, Meeting, MeetingAccess, Speaker, Utterance, UtteranceRevision, utcnow

LOW_CONFIDENCE = 0.5  # words recognised with a lower probability are marked for checking
SPEAKER_KINDS = ("議員", "説明員", "職員", "その他")  # exports.SpeakerKind values
RECOGNIZER = "自動認識"  # shown as the author of version 1
NO_SPACE_LANGUAGES = ("ja", "zh")

ACTION_LABELS_JA = {
    "recognized": "自動認識",
    "edit": "本文の修正",
    "speaker": "話者の変更",
    "split": "分割",
    "merge": "結合",
    "replace": "一括置換",
    "revert": "元に戻す",
    "finalize": "確定",
    "reopen": "確定の解除",
    "details": "会議情報の変更",
    "speaker_details": "話者情報の変更",
    "speaker_merge": "話者の統合",
    "export": "書き出し",
    "agenda": "議事日程の割り当て",
    "material_add": "資料の追加",
    "material_delete": "資料の削除",
}


class EditConflict(MinutesError):
    """Someone else changed the record since it was shown. ``current`` is what is stored now (a view)."""

    def __init__(self, message: str, detail: str = "", current: object = None) -> None:
        super().__init__(message, detail)
        self.current = current


class FinalizedError(MinutesError):
    """The meeting is finalized: nothing in it can change until it is reopened."""


# ---------------------------------------------------------------- views (plain copies, safe to keep across reruns)


@dataclass(frozen=True)
class Person:
    """One line of a roster (出席者, 欠席者, 説明のため出席した者, 職務のため出席した者)."""

    name: str
    seat: int | None = None  # 議席番号
    role: str = ""  # 職名


@dataclass(frozen=True)
class AgendaEntry:
    """One item of the 議事日程."""

    title: str
    order: int | None = None  # 日程第N
    bill: str = ""  # 議案第５号 ...


@dataclass(frozen=True)
class MeetingDetails:
    """The 会議録 header beyond title, kind, date and place; stored as JSON in ``Meeting.details``."""

    assembly: str = ""  # 議会名: 大磯町議会
    session: int | None = None  # 第N回
    issue: int | None = None  # 第N号
    convened: dt.date | None = None  # 招集年月日
    opened: dt.time | None = None  # 開会 (開議) time
    closed: dt.time | None = None  # 閉会 (散会) time
    attendees: tuple[Person, ...] = ()
    absentees: tuple[Person, ...] = ()
    explainers: tuple[Person, ...] = ()
    staff: tuple[Person, ...] = ()
    agenda: tuple[AgendaEntry, ...] = ()

    def to_dict(self) -> dict:
        return {
            "assembly": self.assembly,
            "session": self.session,
            "issue": self.issue,
            "convened": self.convened.isoformat() if self.convened else None,
            "opened": self.opened.strftime("%H:%M") if self.opened else None,
            "closed": self.closed.strftime("%H:%M") if self.closed else None,
            "attendees": [asdict(p) for p in self.attendees],
            "absentees": [asdict(p) for p in self.absentees],
            "explainers": [asdict(p) for p in self.explainers],
            "staff": [asdict(p) for p in self.staff],
            "agenda": [asdict(a) for a in self.agenda],
        }

    @classmethod
    def from_dict(cls, data: Mapping | None) -> MeetingDetails:
        data = data or {}

        def people(key: str) -> tuple[Person, ...]:
            return tuple(
                Person(str(p.get("name") or ""), _int_or_none(p.get("seat")), str(p.get("role") or ""))
                for p in data.get(key) or ()
            )

        return cls(
            assembly=str(data.get("assembly") or ""),
            session=_int_or_none(data.get("session")),
            issue=_int_or_none(data.get("issue")),
            convened=dt.date.fromisoformat(data["convened"]) if data.get("convened") else None,
            opened=dt.time.fromisoformat(data["opened"]) if data.get("opened") else None,
            closed=dt.time.fromisoformat(data["closed"]) if data.get("closed") else None,
            attendees=people("attendees"),
            absentees=people("absentees"),
            explainers=people("explainers"),
            staff=people("staff"),
            agenda=tuple(
                AgendaEntry(str(a.get("title") or ""), _int_or_none(a.get("order")), str(a.get("bill") or ""))
                for a in data.get("agenda") or ()
            ),
        )


def _int_or_none(value) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class JobState:
    id: int
    status: str
    stage: str
    progress: float
    error_message: str | None
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    cancel_requested: bool

    @property
    def running(self) -> bool:
        return self.status in (JobStatus.QUEUED, JobStatus.RUNNING)

    def eta_seconds(self, now: dt.datetime | None = None) -> float | None:
        """Seconds left, extrapolated from the time taken so far (None until there is something to go on)."""
        if self.status != JobStatus.RUNNING or self.started_at is None or self.progress < 2.0:
            return None
        elapsed = ((now or utcnow()) - self.started_at).total_seconds()
        return max(0.0, elapsed * (100.0 - self.progress) / self.progress)


STATUS_LABELS_JA = {
    "queued": "処理待ち",
    "running": "処理中",
    "succeeded": "完了",
    "failed": "失敗",
    "cancelled": "取消",
    "finalized": "確定済み",
    "none": "録音なし",
}


@dataclass(frozen=True)
class MeetingSummary:
    id: int
    title: str
    kind: str
    held_at: dt.datetime | None
    place: str
    status: str  # a key of STATUS_LABELS_JA
    progress: float
    created_at: dt.datetime

    @property
    def status_label(self) -> str:
        if self.status == "running":
            return f"処理中 {self.progress:.0f}%"
        return STATUS_LABELS_JA[self.status]


@dataclass(frozen=True)
class RecordingInfo:
    id: int
    original_name: str
    path: Path  # absolute
    duration: float | None
    size_bytes: int


@dataclass(frozen=True)
class MeetingInfo:
    id: int
    title: str
    kind: str
    held_at: dt.datetime | None
    place: str
    language: str
    version: int  # 第N版: raised by every reopen
    edit_version: int  # for optimistic locking of the meeting row
    finalized_at: dt.datetime | None
    finalized_by: str | None
    details: MeetingDetails
    recording: RecordingInfo | None
    job: JobState | None
    utterance_count: int

    @property
    def finalized(self) -> bool:
        return self.finalized_at is not None


@dataclass(frozen=True)
class SpeakerInfo:
    id: int
    label: str
    name: str | None
    role: str | None
    seat: int | None
    kind: str | None
    yomi: str | None
    group: str | None
    seconds: float = 0.0  # talk time
    utterances: int = 0
    sample: tuple[float, float] | None = None  # (start, end) of a clip to listen to

    @property
    def display(self) -> str:
        return " ".join(part for part in (self.role, self.name) if part) or self.label

    def fields(self) -> dict:
        return {k: getattr(self, k) for k in ("name", "role", "seat", "kind", "yomi", "group")}


@dataclass(frozen=True)
class Line:
    """One utterance as the editor shows it; the speaker is an id (names are joined at display time)."""

    id: int
    seq: int
    speaker_id: int
    start: float
    end: float
    text: str
    words: tuple[dict, ...]
    edited: bool
    version: int
    agenda_order: int | None = None  # 日程第N

    def low_confidence(self, threshold: float = LOW_CONFIDENCE) -> list[tuple[str, bool]]:
        """The text in pieces, each marked True when recognised with low confidence. Marks only while the text still
        matches the recognised words (after an edit, nothing is marked)."""
        pieces = [(str(w.get("text", "")).strip(), float(w.get("probability", 1.0)) < threshold) for w in self.words]
        if not pieces or "".join(text for text, _ in pieces) != self.text:
            return [(self.text, False)]
        merged: list[tuple[str, bool]] = []
        for text, low in pieces:
            if merged and merged[-1][1] == low:
                merged[-1] = (merged[-1][0] + text, low)
            elif text:
                merged.append((text, low))
        return merged


@dataclass(frozen=True)
class Page:
    lines: tuple[Line, ...]
    total: int
    page: int  # 0-based
    pages: int
    per_page: int


@dataclass(frozen=True)
class Revision:
    version: int
    text: str
    speaker_id: int
    action: str
    edited_by: str
    edited_at: dt.datetime | None

    @property
    def action_label(self) -> str:
        return ACTION_LABELS_JA.get(self.action, self.action)


@dataclass(frozen=True)
class ReplaceMatch:
    utterance_id: int
    seq: int
    start: float
    version: int
    count: int
    before: str
    after: str


@dataclass(frozen=True)
class ReplacePreview:
    find: str
    replace: str
    matches: tuple[ReplaceMatch, ...] = field(default_factory=tuple)

    @property
    def count(self) -> int:
        return sum(m.count for m in self.matches)

    @property
    def expected(self) -> dict[int, int]:
        return {m.utterance_id: m.version for m in self.matches}


@dataclass(frozen=True)
class Event:
    action: str
    actor: str
    at: dt.datetime
    detail: dict

    @property
    def action_label(self) -> str:
        return ACTION_LABELS_JA.get(self.action, self.action)


def _line(u: Utterance) -> Line:
    return Line(u.id, u.seq, u.speaker_id, u.start, u.end, u.text, tuple(u.words), u.edited, u.version, u.agenda_order)


def _job_state(job) -> JobState | None:
    if job is None:
        return None
    return JobState(
        job.id,
        job.status,
        job.stage,
        job.progress,
        job.error_message,
        job.started_at,
        job.finished_at,
        job.cancel_requested,
    )


def _revision(r: UtteranceRevision) -> Revision:
    return Revision(r.version, r.text, r.speaker_id, r.action, r.edited_by or RECOGNIZER, r.edited_at)


def status_of(meeting: Meeting, job) -> str:
    if meeting.finalized_at is not None:
        return "finalized"
    return job.status if job is not None else "none"


# ---------------------------------------------------------------- pure helpers


def split_words(
    words: Sequence[dict], text: str, at: int, start: float, end: float
) -> tuple[list[dict], list[dict], float]:
    """Split an utterance's words at character ``at`` of ``text``: (first words, second words, time of the split).

    While the words still spell the text, the split follows them exactly (a word cut in two gets a time in
    proportion to its characters); after an edit, the time is proportional to the characters and words go by their
    middle.
    """
    stripped = [str(w.get("text", "")).strip() for w in words]
    first: list[dict] = []
    second: list[dict] = []
    if words and "".join(stripped) == text:
        position = 0
        for word, word_text in zip(words, stripped, strict=True):
            n = len(word_text)
            if position + n <= at:
                first.append(dict(word, text=word_text))
            elif position >= at:
                second.append(dict(word, text=word_text))
            else:
                k = at - position
                cut = word["start"] + (word["end"] - word["start"]) * k / n
                first.append(dict(word, text=word_text[:k], end=cut))
                second.append(dict(word, text=word_text[k:], start=cut))
            position += n
        if first:
            split_time = first[-1]["end"]
        elif second:
            split_time = second[0]["start"]
        else:
            split_time = start
    else:
        split_time = start + (end - start) * at / max(len(text), 1)
        for word in words:
            (first if (word["start"] + word["end"]) / 2 < split_time else second).append(dict(word))
    return first, second, min(max(split_time, start), end)


def suggest_split(text: str) -> int:
    """A natural place to split: after the sentence end nearest the middle (or the middle itself)."""
    middle = len(text) // 2
    ends = [i + 1 for i, ch in enumerate(text[:-1]) if ch in "。？！?!"]
    return min(ends, key=lambda i: abs(i - middle)) if ends else max(1, middle)


def _snippet(text: str, needle: str, width: int = 24) -> str:
    i = text.find(needle)
    if i < 0:
        return text[: width * 2]
    left = max(0, i - width)
    right = min(len(text), i + len(needle) + width)
    return ("…" if left else "") + text[left:right] + ("…" if right < len(text) else "")


def _editor(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise InputError("編集者名を入力してください（画面左の「編集者」欄）。", "empty editor name")
    return name[:100]


# ---------------------------------------------------------------- the service


class EditingService:
    """One per process, shared by all sessions: every call opens its own database session, so it is thread-safe."""

    def __init__(self, engine: Engine, data_dir: Path, user: Principal | None = None) -> None:
        self.engine = engine
        self.data_dir = data_dir
        self.user = user  # the signed-in user every call is checked against (None: the local OS user, CLI)

    @classmethod
    def of(cls, service, user: Principal | None = None) -> EditingService:
        """The editing service over a ``MinutesService`` (same engine, same data folder), acting for ``user``."""
        return cls(service.engine, service.settings.data_dir, user)

    def _who(self, editor: str) -> str:
        """The name recorded for a change: the signed-in user's, else the name given (CLI, tests)."""
        return self.user.name if self.user is not None else _editor(editor)

    def _readable(self, session: Session, meeting_id: int) -> Meeting:
        return auth.check(session, self.user, Permission.READ, meeting_id)

    # ------------------------------------------------------------ meetings

    def meetings(self) -> list[MeetingSummary]:
        with Session(self.engine) as session:
            hidden = auth.hidden_meetings(session, self.user)
            return [
                MeetingSummary(
                    m.id,
                    m.title,
                    m.kind,
                    m.held_at,
                    m.place,
                    status_of(m, job),
                    job.progress if job is not None else 0.0,
                    m.created_at,
                )
                for m, job in repository.list_meetings_with_jobs(session)
                if m.id not in hidden
            ]

    def meeting(self, meeting_id: int) -> MeetingInfo:
        with Session(self.engine) as session:
            m = self._readable(session, meeting_id)
            recording = repository.recording_of(session, meeting_id=meeting_id)
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
                    self.data_dir / recording.stored_path,
                    recording.duration,
                    recording.size_bytes,
                ),
                _job_state(repository.latest_job(session, meeting_id=meeting_id)),
                repository.count_utterances(session, meeting_id=meeting_id),
            )

    def job(self, meeting_id: int) -> JobState | None:
        with Session(self.engine) as session:
            self._readable(session, meeting_id)
            return _job_state(repository.latest_job(session, meeting_id=meeting_id))

    def update_meeting(
        self,
        meeting_id: int,
        *,
        expected_version: int,
        editor: str,
        title: str,
        kind: str = "",
        held_at: dt.datetime | None = None,
        place: str = "",
        details: MeetingDetails | None = None,
    ) -> MeetingInfo:
        """Save the meeting's header (会議名 … 議事日程) if nobody changed it since ``expected_version``."""
        editor = self._who(editor)
        title = title.strip()
        if not title:
            raise InputError("会議名を入力してください。", "empty title")
        with Session(self.engine) as session:
            meeting = self._editable(session, meeting_id)
            values = dict(
                title=title[:200],
                kind=kind.strip()[:100],
                held_at=held_at,
                place=place.strip()[:200],
                details=(details or MeetingDetails()).to_dict(),
            )
            if not repository.update_meeting_row(
                session, meeting_id=meeting_id, expected_version=expected_version, **values
            ):
                raise EditConflict(
                    f"会議情報は {auth._local(meeting.updated_at)} 以降に他の人が変更しています。"
                    "最新の内容を表示しましたので、確認してからもう一度保存してください。",
                    f"meeting {meeting_id} edit_version {meeting.edit_version} != {expected_version}",
                )
            repository.add_event(session, meeting_id=meeting_id, action="details", actor=editor)
            session.commit()
        return self.meeting(meeting_id)

    def finalize(self, meeting_id: int, *, editor: str, expected_version: int) -> MeetingInfo:
        """Make the meeting read-only, recording who and when, and write its archive package (``minutes.archive``) in
        the same transaction: a meeting is finalized only with its archive."""
        editor = self._who(editor)
        with Session(self.engine) as session:
            auth.check(session, self.user, Permission.FINALIZE, meeting_id)
            self._editable(session, meeting_id)
            job = repository.latest_job(session, meeting_id=meeting_id)
            if job is None or job.status != JobStatus.SUCCEEDED:
                raise InputError("文字起こしが完了していないため確定できません。", "job not succeeded")
            if not repository.update_meeting_row(
                session,
                meeting_id=meeting_id,
                expected_version=expected_version,
                finalized_at=utcnow(),
                finalized_by=editor,
            ):
                raise EditConflict(
                    "確定の前に他の人が会議情報を変更しました。最新の内容を確認してから確定してください。",
                    f"meeting {meeting_id} changed",
                )
            version = repository.get_meeting(session, meeting_id=meeting_id).version
            repository.add_event(
                session, meeting_id=meeting_id, action="finalize", actor=editor, detail={"version": version}
            )
            from minutes.archive import discard, write_archive  # archive needs this module: imported late

            folder = write_archive(session, data_dir=self.data_dir, meeting_id=meeting_id, actor=editor)
            try:
                session.commit()
            except BaseException:
                discard(folder)
                raise
        return self.meeting(meeting_id)

    def assign_agenda(
        self, meeting_id: int, utterance_ids: Sequence[int], *, agenda_order: int | None, editor: str
    ) -> int:
        """Put utterances under 日程第N (None: no item). Not an edit of their text: versions stay. Returns how many."""
        editor = self._who(editor)
        with Session(self.engine) as session:
            meeting = self._editable(session, meeting_id)
            orders = {a.order for a in MeetingDetails.from_dict(meeting.details).agenda if a.order is not None}
            if agenda_order is not None and agenda_order not in orders:
                raise InputError(
                    f"日程第{agenda_order}は議事日程にありません。先に「会議の情報・確定」で議事日程に加えてください。",
                    f"agenda order {agenda_order} not in {sorted(orders)}",
                )
            changed = repository.set_agenda_order(
                session, meeting_id=meeting_id, utterance_ids=utterance_ids, agenda_order=agenda_order
            )
            repository.add_event(
                session,
                meeting_id=meeting_id,
                action="agenda",
                actor=editor,
                detail={"order": agenda_order, "utterances": changed},
            )
            repository.touch_meeting(session, meeting_id=meeting_id)
            session.commit()
        return changed

    def reopen(self, meeting_id: int, *, editor: str, reason: str, expected_version: int) -> MeetingInfo:
        """Make a finalized meeting editable again; recorded with its reason; the document version rises."""
        editor = self._who(editor)
        reason = reason.strip()
        if not reason:
            raise InputError("確定を解除する理由を入力してください。", "empty reason")
        with Session(self.engine) as session:
            meeting = auth.check(session, self.user, Permission.FINALIZE, meeting_id)
            if meeting.finalized_at is None:
                raise InputError("この会議録は確定されていません。", "not finalized")
            # read before the update: the session refreshes ``meeting`` from it
            was = {"finalized_by": meeting.finalized_by, "finalized_at": meeting.finalized_at.isoformat()}
            version = meeting.version + 1
            if not repository.update_meeting_row(
                session,
                meeting_id=meeting_id,
                expected_version=expected_version,
                finalized_at=None,
                finalized_by=None,
                version=version,
            ):
                raise EditConflict("他の人がすでに確定を解除しました。", f"meeting {meeting_id} changed")
            repository.add_event(
                session,
                meeting_id=meeting_id,
                action="reopen",
                actor=editor,
                detail={"reason": reason[:500], "version": version} | was,
            )
            session.commit()
        return self.meeting(meeting_id)

    def events(self, meeting_id: int) -> list[Event]:
        with Session(self.engine) as session:
            self._readable(session, meeting_id)
            return [
                Event(e.action, e.actor, e.at, dict(e.detail))
                for e in repository.events_of(session, meeting_id=meeting_id)
            ]

    def members(self, meeting_id: int) -> tuple[bool, set[int]]:
        """Whether the meeting is closed (非公開・秘密会), and the ids of the users who may see it."""
        with Session(self.engine) as session:
            meeting = self._readable(session, meeting_id)
            return meeting.closed, auth.members_of(session, meeting_id)

    def set_access(self, meeting_id: int, *, closed: bool, members: Sequence[int], editor: str) -> None:
        """Mark the meeting closed (visible only to ``members``) or open. The acting user always stays a member."""
        editor = self._who(editor)
        members = set(members) | ({self.user.id} if self.user is not None else set())
        if closed and not members:
            raise InputError("非公開の会議には閲覧できる利用者を 1 人以上選んでください。", "closed without members")
        with Session(self.engine) as session:
            meeting = auth.check(session, self.user, Permission.MANAGE_ACCESS, meeting_id)
            before = {"closed": meeting.closed, "members": sorted(auth.members_of(session, meeting_id))}
            session.exec(delete(MeetingAccess).where(col(MeetingAccess.meeting_id) == meeting_id))
            for user_id in sorted(members) if closed else []:
                session.add(MeetingAccess(meeting_id=meeting_id, user_id=user_id))
            meeting.closed = closed
            session.add(meeting)
            repository.add_event(
                session,
                meeting_id=meeting_id,
                action="access",
                actor=editor,
                detail={"before": before, "after": {"closed": closed, "members": sorted(members) if closed else []}},
            )
            session.commit()

    # ------------------------------------------------------------ reading the transcript

    def page(self, meeting_id: int, page: int = 0, per_page: int = 50, speaker_id: int | None = None) -> Page:
        with Session(self.engine) as session:
            self._readable(session, meeting_id)
            total = repository.count_utterances(session, meeting_id=meeting_id, speaker_id=speaker_id)
            pages = max(1, -(-total // per_page))
            page = min(max(page, 0), pages - 1)
            rows = repository.utterance_page(
                session, meeting_id=meeting_id, offset=page * per_page, limit=per_page, speaker_id=speaker_id
            )
            return Page(tuple(_line(u) for u in rows), total, page, pages, per_page)

    def page_at(self, meeting_id: int, seconds: float, per_page: int = 50, speaker_id: int | None = None) -> int:
        """The page holding the utterance spoken at ``seconds`` (or the next one)."""
        with Session(self.engine) as session:
            self._readable(session, meeting_id)
            index = repository.count_utterances_before(
                session, meeting_id=meeting_id, seconds=seconds, speaker_id=speaker_id
            )
            total = repository.count_utterances(session, meeting_id=meeting_id, speaker_id=speaker_id)
        return min(index, max(total - 1, 0)) // per_page

    def line(self, utterance_id: int) -> Line:
        with Session(self.engine) as session:
            u = repository.get_utterance(session, utterance_id=utterance_id)
            self._readable(session, u.meeting_id)
            return _line(u)

    def history(self, utterance_id: int) -> list[Revision]:
        """Every version of the utterance, oldest first (just the current one while it was never edited)."""
        return self.histories([utterance_id]).get(utterance_id, [])

    def histories(self, utterance_ids: Sequence[int]) -> dict[int, list[Revision]]:
        with Session(self.engine) as session:
            for meeting_id in {repository.get_utterance(session, utterance_id=i).meeting_id for i in utterance_ids}:
                self._readable(session, meeting_id)
            result: dict[int, list[Revision]] = {}
            for r in repository.revisions_of(session, utterance_ids=utterance_ids):
                result.setdefault(r.utterance_id, []).append(_revision(r))
            for utterance_id in utterance_ids:
                if utterance_id not in result:
                    u = repository.get_utterance(session, utterance_id=utterance_id)
                    result[utterance_id] = [Revision(u.version, u.text, u.speaker_id, "recognized", RECOGNIZER, None)]
            return result

    # ------------------------------------------------------------ changing utterances

    def edit_text(self, utterance_id: int, *, text: str, expected_version: int, editor: str) -> Line:
        return self._change(utterance_id, expected_version, editor, "edit", text=text.strip())

    def change_speaker(self, utterance_id: int, *, speaker_id: int, expected_version: int, editor: str) -> Line:
        with Session(self.engine) as session:
            utterance = repository.get_utterance(session, utterance_id=utterance_id)
            speaker = repository.get_speaker(session, speaker_id=speaker_id)
            if speaker.meeting_id != utterance.meeting_id:
                raise InputError("別の会議の話者は選べません。", "speaker of another meeting")
        return self._change(utterance_id, expected_version, editor, "speaker", speaker_id=speaker_id)

    def revert(self, utterance_id: int, *, to_version: int, expected_version: int, editor: str) -> Line:
        """Restore the text and speaker of an earlier version (as a new version; nothing is lost)."""
        old = next((r for r in self.history(utterance_id) if r.version == to_version), None)
        if old is None:
            raise InputError(f"第{to_version}版は見つかりません。", f"no version {to_version}")
        return self._change(utterance_id, expected_version, editor, "revert", text=old.text, speaker_id=old.speaker_id)

    def split(self, utterance_id: int, *, at: int, expected_version: int, editor: str) -> tuple[Line, Line]:
        """Split an utterance before character ``at``; the second part becomes a new utterance right after it."""
        editor = self._who(editor)
        with Session(self.engine) as session:
            u = self._current(session, utterance_id, expected_version)
            if not 0 < at < len(u.text):
                raise InputError("分割する位置は発言の途中を選んでください。", f"split at {at} of {len(u.text)}")
            first_words, second_words, cut = split_words(u.words, u.text, at, u.start, u.end)
            first_text, second_text = u.text[:at].strip(), u.text[at:].strip()
            if not first_text or not second_text:
                raise InputError("分割すると空の発言ができてしまいます。位置を変えてください。", "empty part")
            self._snapshot(session, u)
            repository.shift_seq(session, meeting_id=u.meeting_id, after_seq=u.seq)
            second = repository.add_utterance(
                session,
                utterance=Utterance(
                    meeting_id=u.meeting_id,
                    speaker_id=u.speaker_id,
                    seq=u.seq + 1,
                    start=cut,
                    end=u.end,
                    text=second_text,
                    words=second_words,
                    edited=True,
                    agenda_order=u.agenda_order,
                ),
            )
            self._save(session, u, expected_version, editor, "split", text=first_text, end=cut, words=first_words)
            repository.add_revision(
                session,
                revision=UtteranceRevision(
                    utterance_id=second.id,
                    version=1,
                    text=second_text,
                    speaker_id=u.speaker_id,
                    action="split",
                    edited_by=editor,
                ),
            )
            repository.touch_meeting(session, meeting_id=u.meeting_id)
            session.commit()
            second_id = second.id
        return self.line(utterance_id), self.line(second_id)

    def merge_with_next(
        self, utterance_id: int, *, expected_version: int, editor: str, next_expected_version: int | None = None
    ) -> Line:
        """Join the next utterance onto this one (its speaker is this one's); the next one is removed."""
        editor = self._who(editor)
        with Session(self.engine) as session:
            u = self._current(session, utterance_id, expected_version)
            following = repository.next_utterance(session, utterance=u)
            if following is None:
                raise InputError("最後の発言なので、次の発言と結合できません。", "no next utterance")
            if next_expected_version is not None and following.version != next_expected_version:
                raise EditConflict(
                    f"次の発言は他の人が変更しています（現在:「{following.text}」）。確認してからやり直してください。",
                    f"utterance {following.id} version {following.version} != {next_expected_version}",
                    _line(following),
                )
            meeting = repository.get_meeting(session, meeting_id=u.meeting_id)
            glue = "" if meeting.language in NO_SPACE_LANGUAGES else " "
            self._snapshot(session, u)
            text = u.text + glue + following.text
            words = list(u.words) + list(following.words)
            end = max(u.end, following.end)
            repository.delete_utterance(session, utterance_id=following.id)
            self._save(session, u, expected_version, editor, "merge", text=text, end=end, words=words)
            session.commit()
        return self.line(utterance_id)

    # ------------------------------------------------------------ find and replace

    def preview_replace(self, meeting_id: int, find: str, replace_with: str) -> ReplacePreview:
        if not find:
            raise InputError("検索する語を入力してください。", "empty search")
        with Session(self.engine) as session:
            self._readable(session, meeting_id)
            matches = tuple(
                ReplaceMatch(
                    u.id,
                    u.seq,
                    u.start,
                    u.version,
                    u.text.count(find),
                    _snippet(u.text, find),
                    _snippet(u.text.replace(find, replace_with), replace_with or find),
                )
                for u in repository.utterances_containing(session, meeting_id=meeting_id, needle=find)
            )
        return ReplacePreview(find, replace_with, matches)

    def apply_replace(self, meeting_id: int, preview: ReplacePreview, *, editor: str) -> int:
        """Replace in exactly the utterances of ``preview``; refuses if any of them changed since. Returns the number
        of replacements."""
        editor = self._who(editor)
        expected = preview.expected  # a property that builds a dict: once, not once per utterance
        with Session(self.engine) as session:
            self._editable(session, meeting_id)
            current = {
                u.id: u for u in repository.utterances_containing(session, meeting_id=meeting_id, needle=preview.find)
            }
            changed = [i for i, version in expected.items() if i not in current or current[i].version != version]
            added = [i for i in current if i not in expected]
            if changed or added:
                raise EditConflict(
                    f"プレビューの後に {len(changed) + len(added)} 件の発言が変更されました。"
                    "もう一度プレビューしてから置換してください。",
                    f"changed {changed}, added {added}",
                )
            # 1,000 places are one transaction of a few statements, not 3,000 ORM flushes: one executemany UPDATE
            # (still conditional on each version), one INSERT of the revisions, one of the per-utterance audit rows.
            now = utcnow()
            known = repository.utterances_with_revisions(session, utterance_ids=list(expected))
            count, updates, revisions, trail = 0, [], [], []
            for utterance_id, version in expected.items():
                u = current[utterance_id]
                count += u.text.count(preview.find)
                text = u.text.replace(preview.find, preview.replace)
                if utterance_id not in known:
                    revisions.append(_first_revision(u) | {"edited_at": now})
                updates.append({"target": utterance_id, "expected": version, "new_text": text})
                revisions.append(_revision_row(u, version, editor, "replace", {"text": text}) | {"edited_at": now})
                trail.append((utterance_id, *_audit_change(u, version, {"text": text})))
            if _replace_texts(session, updates) != len(updates):
                session.rollback()
                raise EditConflict(
                    "置換の途中で他の人が発言を変更しました。もう一度プレビューしてから置換してください。",
                    "conditional update matched fewer rows than previewed",
                )
            session.connection().execute(insert(UtteranceRevision), revisions)
            audit.record_many(session, actor=editor, action="utterance_replace", target_type="utterance", changes=trail)
            repository.add_event(
                session,
                meeting_id=meeting_id,
                action="replace",
                actor=editor,
                detail={"find": preview.find, "replace": preview.replace, "count": count},
            )
            repository.touch_meeting(session, meeting_id=meeting_id)
            session.commit()
        return count

    # ------------------------------------------------------------ speakers

    def speakers(self, meeting_id: int) -> list[SpeakerInfo]:
        """Speakers with talk time and a clip (the middle of their longest utterance, at most 12 s)."""
        with Session(self.engine) as session:
            self._readable(session, meeting_id)
            totals = repository.speaker_totals(session, meeting_id=meeting_id)
            result = []
            for s in repository.speakers_of(session, meeting_id=meeting_id):
                seconds, count = totals.get(s.id, (0.0, 0))
                longest = repository.longest_utterance_of(session, speaker_id=s.id)
                sample = None
                if longest is not None:
                    middle = (longest.start + longest.end) / 2
                    half = min(6.0, (longest.end - longest.start) / 2)
                    sample = (max(0.0, middle - half), middle + half)
                result.append(replace(_speaker_info(s), seconds=seconds, utterances=count, sample=sample))
            return result

    def update_speaker(
        self, speaker_id: int, *, editor: str, expected: SpeakerInfo | None = None, **fields
    ) -> SpeakerInfo:
        """Set a speaker's name, role, seat (議席番号), kind (議員/説明員/職員/その他), yomi and group (会派).

        ``expected`` is the speaker as the user saw it: if someone changed it since, nothing is saved (EditConflict).
        """
        editor = self._who(editor)
        allowed = {"name", "role", "seat", "kind", "yomi", "group"}
        unknown = set(fields) - allowed
        if unknown:
            raise TypeError(f"unknown speaker fields {unknown}")
        if fields.get("kind") not in (None, "", *SPEAKER_KINDS):
            raise InputError(f"区分は {'・'.join(SPEAKER_KINDS)} から選んでください。", f"kind={fields['kind']!r}")
        seat = fields.get("seat")
        if seat is not None and seat != "" and (_int_or_none(seat) is None or not 1 <= int(seat) <= 999):
            raise InputError("議席番号は 1〜999 の整数で入力してください。", f"seat={seat!r}")
        with Session(self.engine) as session:
            speaker = repository.get_speaker(session, speaker_id=speaker_id)
            self._editable(session, speaker.meeting_id)
            if expected is not None and _speaker_info(speaker).fields() != expected.fields():
                raise EditConflict(
                    f"この話者は他の人が変更しています（現在: {_speaker_info(speaker).display}）。"
                    "最新の内容を確認してから保存してください。",
                    f"speaker {speaker_id} changed",
                    _speaker_info(speaker),
                )
            before = _speaker_info(speaker).fields()
            for key, value in fields.items():
                if key == "seat":
                    value = _int_or_none(value)
                elif isinstance(value, str):
                    value = value.strip()[:100] or None
                setattr(speaker, key, value)
            session.add(speaker)
            repository.add_event(
                session,
                meeting_id=speaker.meeting_id,
                action="speaker_details",
                actor=editor,
                detail={"speaker": speaker.label, "before": before, "after": _speaker_info(speaker).fields()},
            )
            repository.touch_meeting(session, meeting_id=speaker.meeting_id)
            session.commit()
            return _speaker_info(speaker)

    def merge_speakers(self, *, source_id: int, target_id: int, editor: str) -> int:
        """Attribute everything of ``source`` to ``target`` (the same person detected twice); ``source`` goes away.
        Returns the number of utterances moved."""
        editor = self._who(editor)
        if source_id == target_id:
            raise InputError("同じ話者どうしは統合できません。", "same speaker")
        with Session(self.engine) as session:
            source = repository.get_speaker(session, speaker_id=source_id)
            target = repository.get_speaker(session, speaker_id=target_id)
            if source.meeting_id != target.meeting_id:
                raise InputError("別の会議の話者とは統合できません。", "different meetings")
            self._editable(session, source.meeting_id)
            moved = repository.reassign_speaker(session, from_id=source_id, to_id=target_id)
            if not any(getattr(target, k) for k in ("name", "role", "seat", "kind", "yomi", "group")):
                for key in ("name", "role", "seat", "kind", "yomi", "group"):
                    setattr(target, key, getattr(source, key))
                session.add(target)
            detail = {"source": source.label, "source_name": _speaker_info(source).display, "target": target.label}
            session.flush()
            repository.delete_speaker(session, speaker_id=source_id)
            repository.add_event(
                session,
                meeting_id=source.meeting_id,
                action="speaker_merge",
                actor=editor,
                detail=detail | {"utterances": moved},
            )
            repository.touch_meeting(session, meeting_id=source.meeting_id)
            session.commit()
            return moved

    def timeline(self, meeting_id: int) -> list[tuple[int, float, float]]:
        """(speaker id, start, end) of every utterance: for the who-spoke-when chart."""
        with Session(self.engine) as session:
            self._readable(session, meeting_id)
            return repository.timeline_of(session, meeting_id=meeting_id)

    # ------------------------------------------------------------ internals

    def _editable(self, session: Session, meeting_id: int) -> Meeting:
        meeting = auth.check(session, self.user, Permission.EDIT, meeting_id)
        if meeting.finalized_at is not None:
            raise FinalizedError(
                f"この会議録は {meeting.finalized_by} さんが確定済みのため編集できません。"
                "修正が必要な場合は、会議ページで「確定を解除」してください。",
                f"meeting {meeting_id} finalized",
            )
        return meeting

    def _current(self, session: Session, utterance_id: int, expected_version: int) -> Utterance:
        u = repository.get_utterance(session, utterance_id=utterance_id)
        self._editable(session, u.meeting_id)
        if u.version != expected_version:
            raise self._conflict(session, u, expected_version)
        return u

    def _conflict(self, session: Session, u: Utterance, expected_version: int) -> EditConflict:
        revisions = repository.revisions_of(session, utterance_ids=[u.id])
        last = revisions[-1] if revisions else None
        who = f"{last.edited_by or RECOGNIZER} さんが {auth._local(last.edited_at)} に" if last else "他の人が"
        return EditConflict(
            f"この発言は表示の後に {who}変更しました。あなたの変更は保存していません。"
            f"現在の内容:「{u.text}」。確認してからもう一度編集してください。",
            f"utterance {u.id} version {u.version} != {expected_version}",
            _line(u),
        )

    def _snapshot(self, session: Session, u: Utterance) -> None:
        """Store the state before the first edit as a revision, so it can be restored."""
        if not repository.has_revisions(session, utterance_id=u.id):
            repository.add_revision(session, revision=UtteranceRevision(**_first_revision(u)))

    def _save(self, session: Session, u: Utterance, expected_version: int, editor: str, action: str, **values) -> None:
        if not repository.update_utterance_row(session, utterance_id=u.id, expected_version=expected_version, **values):
            session.rollback()
            raise self._conflict(session, repository.get_utterance(session, utterance_id=u.id), expected_version)
        repository.add_revision(
            session, revision=UtteranceRevision(**_revision_row(u, expected_version, editor, action, values))
        )
        before, after = _audit_change(u, expected_version, values)
        audit.record(
            session,
            actor=editor,
            action=f"utterance_{action}",
            target_type="utterance",
            target_id=u.id,
            before=before,
            after=after,
        )

    def _change(self, utterance_id: int, expected_version: int, editor: str, action: str, **values) -> Line:
        editor = self._who(editor)
        if "text" in values and not values["text"]:
            raise InputError("発言を空にはできません。不要な発言は前後の発言と結合してください。", "empty text")
        with Session(self.engine) as session:
            u = self._current(session, utterance_id, expected_version)
            if all(getattr(u, key) == value for key, value in values.items()):
                return _line(u)  # nothing changed: no new version
            self._snapshot(session, u)
            self._save(session, u, expected_version, editor, action, **values)
            repository.touch_meeting(session, meeting_id=u.meeting_id)
            session.commit()
        return self.line(utterance_id)


def _first_revision(u: Utterance) -> dict:
    """The revision row of the state before the first edit (kept so that it can be restored)."""
    return {
        "utterance_id": u.id,
        "version": u.version,
        "text": u.text,
        "speaker_id": u.speaker_id,
        "action": "recognized" if not u.edited else "edit",
        "edited_by": None,
    }


def _revision_row(u: Utterance, expected_version: int, editor: str, action: str, values: Mapping) -> dict:
    """The revision row of the version an edit of ``u`` (at ``expected_version``) to ``values`` creates."""
    return {
        "utterance_id": u.id,
        "version": expected_version + 1,
        "text": values.get("text", u.text),
        "speaker_id": values.get("speaker_id", u.speaker_id),
        "action": action,
        "edited_by": editor,
    }


_AUDITED = ("text", "speaker_id", "start", "end")


def _audit_change(u: Utterance, expected_version: int, values: Mapping) -> tuple[dict, dict]:
    """(before, after) of an utterance edit as the audit trail records it."""
    before = {"meeting": u.meeting_id, "version": expected_version} | {k: getattr(u, k) for k in _AUDITED}
    after = {"version": expected_version + 1} | {k: v for k, v in values.items() if k in _AUDITED}
    return before, after


_utterances = Utterance.__table__
_REPLACE_TEXT = (
    update(_utterances)
    .where(_utterances.c.id == bindparam("target"), _utterances.c.version == bindparam("expected"))
    .values(text=bindparam("new_text"), version=_utterances.c.version + 1, edited=True)
)


def _replace_texts(session: Session, rows: list[dict]) -> int:
    """Set many utterances' text, each only if still at its expected version (raising it), as one executemany;
    returns how many rows changed (the FTS index follows by trigger)."""
    if not rows:
        return 0
    return session.connection().execute(_REPLACE_TEXT, rows).rowcount


def _speaker_info(s: Speaker) -> SpeakerInfo:
    return SpeakerInfo(s.id, s.label, s.name, s.role, s.seat, s.kind, s.yomi, s.group)

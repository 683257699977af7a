"""What the services hand to the pages and the CLI: plain frozen copies of stored rows, safe to keep across
Streamlit reruns (never live ORM rows), and the meeting header (``MeetingDetails``) as it is stored in JSON.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from minutes.pipeline.cleanup import mark_words
from minutes.services.speaker_views import seat_label
from minutes.store.tables import JobStatus, Meeting, Speaker, Utterance, UtteranceRevision, utcnow
from minutes.store.tables import MaterialKind as MaterialKind  # the stored enums the pages compare with

__all__ = ["JobStatus", "MaterialKind"]  # and every class below
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
    "speaker_add": "話者の追加",
    "speaker_person": "話者と名簿の結び付け",
    "reassign": "話者の一括変更",
    "rediarize_request": "話者の分け直しの依頼",
    "rediarize": "話者の分け直し",
    "export": "書き出し",
    "agenda": "議事日程の割り当て",
    "material_add": "資料の追加",
    "material_delete": "資料の削除",
    "time_mark_add": "時刻の記録の追加",
    "time_mark_remove": "時刻の記録の削除",
}


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


TIME_MARK_KINDS = ("休憩", "再開", "開議", "散会", "開会", "閉会", "延会")  # exports.TimeMarkKind values
OPENING_MARKS = ("開議", "開会")  # a mark of these kinds replaces the 開議 printed from the header's opening time
CLOSING_MARKS = ("散会", "閉会", "延会")  # … and of these, the 散会 printed from its closing time


@dataclass(frozen=True)
class TimeMarkEntry:
    """A time note of the proceedings the clerk records: 「午前１１時０５分休憩」 after utterance ``after_seq``
    (``Line.seq``; None: before the first utterance). 開議・散会 … override the lines printed from the header."""

    kind: str  # one of TIME_MARK_KINDS
    time: dt.time
    after_seq: int | None = None

    def to_dict(self) -> dict:
        return {"kind": self.kind, "time": self.time.strftime("%H:%M"), "after_seq": self.after_seq}

    @classmethod
    def from_dict(cls, data: Mapping) -> TimeMarkEntry | None:
        """The stored mark, or None when it cannot be read (an unknown kind, a broken time)."""
        kind = str(data.get("kind") or "")
        try:
            time = dt.time.fromisoformat(str(data.get("time") or ""))
        except ValueError:
            return None
        if kind not in TIME_MARK_KINDS:
            return None
        return cls(kind, time.replace(second=0, microsecond=0), int_or_none(data.get("after_seq")))


@dataclass(frozen=True)
class MeetingDetails:
    """The 会議録 header beyond title, kind, date and place; stored as JSON in ``Meeting.details``. Keys missing from
    stored JSON (headers saved by older versions) read as the defaults."""

    assembly: str = ""  # 議会名: 大磯町議会
    session: int | None = None  # 第N回
    issue: int | None = None  # 第N号
    convened: dt.date | None = None  # 招集年月日
    opened: dt.time | None = None  # 開会 (開議) time; None: the time of ``Meeting.held_at``
    closed: dt.time | None = None  # 閉会 (散会) time
    attendees: tuple[Person, ...] = ()
    absentees: tuple[Person, ...] = ()
    explainers: tuple[Person, ...] = ()
    staff: tuple[Person, ...] = ()
    agenda: tuple[AgendaEntry, ...] = ()
    chair: str = ""  # 議長 who signs the 会議録 (地方自治法第123条第2項)
    signers: tuple[str, ...] = ()  # 会議録署名議員, usually two
    time_marks: tuple[TimeMarkEntry, ...] = ()  # 休憩・再開 … in the body

    def opening_time(self, held_at: dt.datetime | None) -> dt.time | None:
        """The 開会 time: ``opened``, else the time of day the meeting was held at (``Meeting.held_at``; midnight is
        taken for a date given without a time)."""
        if self.opened:
            return self.opened
        if held_at is not None and held_at.time() != dt.time():
            return held_at.time().replace(second=0, microsecond=0)
        return None

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
            "chair": self.chair,
            "signers": list(self.signers),
            "time_marks": [m.to_dict() for m in self.time_marks],
        }

    @classmethod
    def from_dict(cls, data: Mapping | None) -> MeetingDetails:
        data = data or {}

        def people(key: str) -> tuple[Person, ...]:
            return tuple(
                Person(str(p.get("name") or ""), int_or_none(p.get("seat")), str(p.get("role") or ""))
                for p in data.get(key) or ()
            )

        marks = (TimeMarkEntry.from_dict(m) for m in data.get("time_marks") or () if isinstance(m, Mapping))
        return cls(
            assembly=str(data.get("assembly") or ""),
            session=int_or_none(data.get("session")),
            issue=int_or_none(data.get("issue")),
            convened=dt.date.fromisoformat(data["convened"]) if data.get("convened") else None,
            opened=dt.time.fromisoformat(data["opened"]) if data.get("opened") else None,
            closed=dt.time.fromisoformat(data["closed"]) if data.get("closed") else None,
            attendees=people("attendees"),
            absentees=people("absentees"),
            explainers=people("explainers"),
            staff=people("staff"),
            agenda=tuple(
                AgendaEntry(str(a.get("title") or ""), int_or_none(a.get("order")), str(a.get("bill") or ""))
                for a in data.get("agenda") or ()
            ),
            chair=str(data.get("chair") or ""),
            signers=tuple(str(name) for name in data.get("signers") or () if str(name or "").strip()),
            time_marks=tuple(mark for mark in marks if mark is not None),
        )


def int_or_none(value) -> int | None:
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


_FULL_WIDTH_DIGITS = str.maketrans("0123456789", "０１２３４５６７８９")


def unnamed_speaker(number: int) -> str:
    """話者１, 話者２ …: a speaker nobody has named, by order of first appearance (as the exports print it)."""
    return f"話者{str(number).translate(_FULL_WIDTH_DIGITS)}" if number else "話者"


SURE_SCORE = 0.8  # an automatic name scoring below this is marked 要確認


@dataclass(frozen=True)
class SpeakerInfo:
    id: int
    label: str  # the diarization label (SPEAKER_00) or ADDED_01: an internal key, never shown
    name: str | None
    role: str | None
    seat: int | None
    kind: str | None
    yomi: str | None
    group: str | None
    seconds: float = 0.0  # talk time
    utterances: int = 0
    sample: tuple[float, float] | None = None  # (start, end) of a clip to listen to
    number: int = 0  # 1, 2 … by order of first utterance in the meeting: the N of 話者N
    person_id: int | None = None  # the roster's person this speaker is (services.people)
    person_score: float | None = None  # how well the voice matched (0–1), when identified by voice
    suggested_person_id: int | None = None  # the person the voice suggests, not yet linked
    person_confirmed: bool = False  # a clerk linked (or accepted) the person

    @property
    def display(self) -> str:
        """「議長 大磯一郎」, 「町長」, 「５番 佐藤花子」 (a member without a title, by seat, as the 会議録 heads the
        line: ○５番（佐藤花子君）), or 話者１ … for a speaker nobody has named."""
        role = self.role or (seat_label(self.seat) if self.seat is not None else "")
        return " ".join(part for part in (role, self.name) if part) or unnamed_speaker(self.number)

    @property
    def unsure(self) -> bool:
        """Named from the voice profiles without a clerk's confirmation and with a score under 0.8: to be checked."""
        return self.person_id is not None and not self.person_confirmed and (self.person_score or 0.0) < SURE_SCORE

    @property
    def detected(self) -> bool:
        """Found by speaker separation (not added by the clerk)."""
        return not self.label.startswith(ADDED_LABEL)

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
    raw: str = ""  # 素起こし (as recognized; the text for meetings stored before the layers)
    kebatori: str = ""  # ケバ取り (fillers removed)
    corrections: tuple[dict, ...] = ()  # the rules the draft applied: {"wrong", "right", "context", "id"}

    def low_confidence(self, threshold: float = LOW_CONFIDENCE) -> list[tuple[str, bool]]:
        """The text in pieces, each marked True when recognised with low confidence: the words as found in the text
        in order (the 整文 drops fillers and adds punctuation). After a clerk's edit, nothing is marked."""
        pieces = [(str(w.get("text", "")).strip(), float(w.get("probability", 1.0)) < threshold) for w in self.words]
        if not pieces or (self.edited and "".join(text for text, _ in pieces) != self.text):
            return [(self.text, False)]
        return mark_words(self.text, pieces)


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


def line_view(u: Utterance) -> Line:
    layers = (u.raw if u.raw is not None else u.text, u.kebatori if u.kebatori is not None else u.text)
    fields = (u.id, u.seq, u.speaker_id, u.start, u.end, u.text, tuple(u.words), u.edited, u.version, u.agenda_order)
    return Line(*fields, *layers, tuple(u.corrections or ()))


def job_state(job) -> JobState | None:
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


def revision_view(r: UtteranceRevision) -> Revision:
    return Revision(r.version, r.text, r.speaker_id, r.action, r.edited_by or RECOGNIZER, r.edited_at)


def status_of(meeting: Meeting, job) -> str:
    if meeting.finalized_at is not None:
        return "finalized"
    return job.status if job is not None else "none"


def speaker_info(s: Speaker, number: int = 0) -> SpeakerInfo:
    """``number``: the speaker's place by first utterance (``store.speaker_numbers``), for 話者N."""
    return SpeakerInfo(
        s.id, s.label, s.name, s.role, s.seat, s.kind, s.yomi, s.group, number=number, person_id=s.person_id,
        person_score=s.person_score, suggested_person_id=s.suggested_person_id, person_confirmed=s.person_confirmed,
    )  # fmt: skip


ADDED_LABEL = "ADDED_"  # label prefix of speakers the clerk added (ADDED_01 …)


# ---------------------------------------------------------------- the CLI's and the worker's views


@dataclass(frozen=True)
class JobView:
    id: int
    meeting_id: int
    status: str
    stage: str
    progress: float
    error_message: str | None
    error_detail: str | None
    attempts: int
    options: dict
    model: str
    stage_seconds: dict


@dataclass(frozen=True)
class TranscriptView:
    meeting_id: int
    title: str
    language: str
    duration: float | None
    speakers: tuple[SpeakerInfo, ...]
    utterances: tuple[Line, ...] = field(default_factory=tuple)

    def speaker(self, line: Line) -> SpeakerInfo:
        """The speaker of one of the utterances."""
        return next(s for s in self.speakers if s.id == line.speaker_id)


def job_view(job) -> JobView:
    return JobView(
        job.id,
        job.meeting_id,
        job.status,
        job.stage,
        job.progress,
        job.error_message,
        job.error_detail,
        job.attempts,
        dict(job.options),
        job.model,
        dict(job.stage_seconds),
    )

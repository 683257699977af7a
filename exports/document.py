"""The input record of every export: one 会議録 (minutes of one meeting day), built by the caller from the database.

Small frozen dataclasses and nothing else: no formatting here (see ``notation``) and no database access. Times inside
the recording (``start``, ``end``) are seconds from the start of the recording; wall-clock times are ``datetime.time``
or ``datetime.datetime`` (naive, local time of the assembly).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum
from typing import NamedTuple


class MeetingKind(StrEnum):
    """Kind of meeting; plenary sessions (定例会・臨時会) get the composed title 「…第N回…定例会会議録（第N号）」."""

    REGULAR = "定例会"
    EXTRAORDINARY = "臨時会"
    COMMITTEE = "委員会"
    OTHER = "その他"


class SpeakerKind(StrEnum):
    """Who is speaking, which decides the honorific (see ``NotationOptions``) and ``speakerRole`` in open data."""

    MEMBER = "議員"  # includes the chair (議長・委員長) and other members
    OFFICIAL = "説明員"  # 説明のため出席した者: mayor, department heads ...
    STAFF = "職員"  # 職務のため出席した者: assembly secretariat
    OTHER = "その他"  # 参考人, 公述人, 証人 ...


class TimeMarkKind(StrEnum):
    """The time notes of the proceedings: 「午前１０時００分開議」."""

    OPENING = "開会"
    SITTING = "開議"
    RECESS = "休憩"
    RESUMPTION = "再開"
    ADJOURNMENT = "散会"
    CLOSING = "閉会"
    SUSPENSION = "延会"


class WordTiming(NamedTuple):
    """One recognised word with its time in the recording. A plain ``(start, end, text)`` tuple works too, and so
    does any object with those attributes (``minutes.records.Word``)."""

    start: float
    end: float
    text: str


@dataclass(frozen=True)
class Person:
    """One line of a roster: a member (``seat`` set) or an official / staff member (``role`` set)."""

    name: str
    seat: int | None = None  # 議席番号
    role: str = ""  # 職名: 町長, 総務課長, 議会事務局長 ...


@dataclass(frozen=True)
class AgendaItem:
    """One 議事日程 entry: 「日程第１　議案第５号　大磯町職員の給与に関する条例の一部を改正する条例」."""

    title: str
    order: int | None = None  # 日程第N; None for items outside the numbered schedule
    bill: str = ""  # 議案番号 as written: 議案第５号, 請願第１号 ...


@dataclass(frozen=True)
class Speech:
    """One 発言. ``role`` is the position the speaker speaks in (議長, 町長, 総務課長); members speaking from their
    seat usually have no role and a ``seat`` number. ``label`` is the diarization label it came from."""

    name: str
    text: str
    role: str = ""
    seat: int | None = None
    kind: SpeakerKind = SpeakerKind.MEMBER
    start: float | None = None
    end: float | None = None
    label: str = ""
    yomi: str = ""  # reading of the name in katakana or hiragana, when known
    group: str = ""  # 会派
    words: tuple[WordTiming, ...] = ()  # optional word timings used to time caption cues
    raw: str = ""  # 素起こし (as recognized); ``text`` is the 整文 that is printed. "": the same as ``text``


@dataclass(frozen=True)
class StageNote:
    """A ト書き, written without brackets: 「異議なし」と呼ぶ者あり → 〔「異議なし」と呼ぶ者あり〕.
    Timed notes (``start`` set) also become caption cues."""

    text: str
    start: float | None = None
    end: float | None = None


@dataclass(frozen=True)
class TimeMark:
    """A time note of the proceedings, at wall-clock ``time``: 午前１０時００分開議."""

    kind: TimeMarkKind
    time: dt.time


Item = Speech | StageNote | TimeMark


@dataclass(frozen=True)
class MinutesDocument:
    """One 会議録.

    The title is composed from ``era year of convened`` + 第``session``回 + ``assembly`` + ``kind`` + 会議録 +
    （第``issue``号） for plenary sessions, e.g. 「令和７年第４回大磯町議会定例会会議録（第２号）」;
    ``title`` overrides it (committees and internal meetings: 「総務常任委員会会議録」).
    """

    assembly: str  # 大磯町議会
    convened: dt.date  # 招集年月日 (plenary) or date of the meeting
    kind: MeetingKind = MeetingKind.REGULAR
    session: int | None = None  # 第N回
    issue: int | None = None  # 第N号
    title: str = ""
    meeting_date: dt.date | None = None  # date of this meeting day; defaults to ``convened``
    opened: dt.datetime | None = None  # 開会 (or 開議) of this day
    closed: dt.datetime | None = None  # 閉会 (or 散会)
    place: str = ""  # 場所: 大磯町議会議場
    attendees: tuple[Person, ...] = ()  # 出席議員
    absentees: tuple[Person, ...] = ()  # 欠席議員
    explainers: tuple[Person, ...] = ()  # 説明のため出席した者
    staff: tuple[Person, ...] = ()  # 職務のため出席した者
    agenda: tuple[AgendaItem, ...] = ()  # 議事日程
    business: tuple[AgendaItem, ...] | None = None  # 本日の会議に付した事件; None: 「議事日程に同じ」
    items: tuple[Item, ...] = ()  # the proceedings, in order
    finalized: bool = False  # False: a draft, marked 案 on every page
    version: int = 1
    finalized_by: str = ""
    finalized_at: dt.datetime | None = None
    duration: float | None = None  # length of the recording in seconds; captions stay inside it
    extras: tuple[tuple[str, str], ...] = field(default_factory=tuple)  # more header lines: (見出し, 内容)
    chair: str = ""  # 議長 (委員長) who signs; "" leaves a line to sign on
    signers: tuple[str, ...] = ()  # 会議録署名議員; plenary sessions get lines to sign for at least two

    @property
    def plenary(self) -> bool:
        """A 本会議 (定例会・臨時会): its 会議録 is signed under 地方自治法第123条第2項."""
        return self.kind in (MeetingKind.REGULAR, MeetingKind.EXTRAORDINARY)

    @property
    def date(self) -> dt.date:
        """The date of this meeting day."""
        return self.meeting_date or self.convened

    @property
    def speeches(self) -> tuple[Speech, ...]:
        return tuple(item for item in self.items if isinstance(item, Speech))


def word_fields(word: WordTiming | tuple[float, float, str] | object) -> tuple[float, float, str]:
    """``(start, end, text)`` of a word given as a tuple or as an object with those attributes."""
    if isinstance(word, tuple):
        start, end, text = word[:3]
    else:
        start, end, text = word.start, word.end, word.text  # type: ignore[attr-defined]
    return float(start), float(end), str(text)

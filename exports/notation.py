"""How a 会議録 writes speakers, dates and times, configurable per assembly. Pure functions.

The defaults follow common 町村議会 practice: 「○議長（山田太郎君）」, 「○３番（佐藤花子君）」,
和暦 with full-width digits (「令和７年１２月２日（火曜日）」, 「午前１０時００分開議」).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from enum import StrEnum

from exports.document import MeetingKind, MinutesDocument, Person, SpeakerKind, Speech, StageNote, TimeMark


class Calendar(StrEnum):
    WAREKI = "wareki"  # 和暦: 令和７年
    SEIREKI = "seireki"  # 西暦: 2025年


class SpeakerOrder(StrEnum):
    ROLE_FIRST = "role_first"  # ○議長（山田太郎君）
    NAME_FIRST = "name_first"  # ○山田太郎議長


@dataclass(frozen=True)
class NotationOptions:
    """Notation of one assembly. Each default is the common practice; change only what the assembly does differently."""

    speaker_mark: str = "○"  # before every speaker
    honorific: str = "君"  # after the names of members, officials and others (「山田太郎君」)
    staff_honorific: str = "君"  # after the names of staff (職務のため出席した者); "" for none
    order: SpeakerOrder = SpeakerOrder.ROLE_FIRST
    member_seat: bool = True  # members without a role are written by seat: ○３番（佐藤花子君）; else ○佐藤花子君
    full_width_digits: bool = True  # digits in dates, times, seats, numbers, and in the printed body (body_text)
    calendar: Calendar = Calendar.WAREKI
    gannen: bool = True  # 令和元年 rather than 令和１年
    weekday: bool = True  # 令和７年１２月２日（火曜日）
    speaker_separator: str = "\u3000"  # between the speaker and the speech: a full-width space
    stage_note_brackets: tuple[str, str] = ("〔", "〕")
    time_mark_separator: str = ""  # 午前１０時００分開議; some assemblies write 午前１０時００分　開議


# (first day, name). Dates before 1873-01-01 (明治6年, the switch to the Gregorian calendar) are not supported.
ERAS: tuple[tuple[dt.date, str], ...] = (
    (dt.date(2019, 5, 1), "令和"),
    (dt.date(1989, 1, 8), "平成"),
    (dt.date(1926, 12, 25), "昭和"),
    (dt.date(1912, 7, 30), "大正"),
    (dt.date(1873, 1, 1), "明治"),
)
_MEIJI_FIRST_YEAR = 1868
WEEKDAYS = "月火水木金土日"
_FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def digits(value: int | str, options: NotationOptions) -> str:
    """The number or text with its ASCII digits made full-width when the options say so."""
    text = str(value)
    return text.translate(_FULL_WIDTH) if options.full_width_digits else text


_ASCII_RUN = re.compile(r"[!-~]+")  # a run of printable ASCII: a number, a code, a URL
_NUMBER_SEPARATOR = re.compile(r"(?<=[0-9])[,.](?=[0-9])")  # 1,234 and 3.5
_FULL_WIDTH_SEPARATOR = {",": "，", ".": "．"}


def body_text(text: str, options: NotationOptions) -> str:
    """Speech or stage-note text as printed in the body of a 会議録.

    With ``full_width_digits`` the numbers the recogniser wrote in ASCII are made full-width like the rest of the
    document: 「3番」→「３番」, 「1,234万円」→「１，２３４万円」, 「3.5%」→「３．５%」. A comma or point is part of a
    number only between digits. A run of ASCII holding a letter is a name or a code and stays as it is
    (「COVID-19」, 「5G」, 「A4」, URLs); so does everything but digits and those separators (%, :, /, letters).
    """
    if not options.full_width_digits:
        return text
    return _ASCII_RUN.sub(_full_width_number, text)


def _full_width_number(match: re.Match[str]) -> str:
    run = match.group()
    if any(ch.isalpha() for ch in run):
        return run
    return _NUMBER_SEPARATOR.sub(lambda m: _FULL_WIDTH_SEPARATOR[m.group()], run).translate(_FULL_WIDTH)


def wareki(date: dt.date) -> tuple[str, int]:
    """(era name, year of the era) of a date: 2019-04-30 → ("平成", 31), 2019-05-01 → ("令和", 1)."""
    for first_day, name in ERAS:
        if date >= first_day:
            first_year = _MEIJI_FIRST_YEAR if name == "明治" else first_day.year
            return name, date.year - first_year + 1
    raise ValueError(f"{date.isoformat()} is before 1873 (明治6年); 和暦 is not supported for it")


def year_text(date: dt.date, options: NotationOptions) -> str:
    """令和７年, 令和元年, or 2025年 with the 西暦 option."""
    if options.calendar is Calendar.SEIREKI:
        return f"{digits(date.year, options)}年"
    era, year = wareki(date)
    if year == 1 and options.gannen:
        return f"{era}元年"
    return f"{era}{digits(year, options)}年"


def date_text(date: dt.date, options: NotationOptions, *, weekday: bool | None = None) -> str:
    """令和７年１２月２日（火曜日）."""
    text = f"{year_text(date, options)}{digits(date.month, options)}月{digits(date.day, options)}日"
    if options.weekday if weekday is None else weekday:
        text += f"（{WEEKDAYS[date.weekday()]}曜日）"
    return text


def time_text(time: dt.time | dt.datetime, options: NotationOptions) -> str:
    """午前１０時００分; noon is 午後０時００分, midnight 午前０時００分."""
    half = "午前" if time.hour < 12 else "午後"
    return f"{half}{digits(time.hour % 12, options)}時{digits(f'{time.minute:02d}', options)}分"


def seat_text(seat: int, options: NotationOptions) -> str:
    """３番."""
    return f"{digits(seat, options)}番"


def honorific_for(kind: SpeakerKind, options: NotationOptions) -> str:
    return options.staff_honorific if kind is SpeakerKind.STAFF else options.honorific


def person_name(person: Person, kind: SpeakerKind, options: NotationOptions) -> str:
    """A roster name with its honorific: 佐藤花子君."""
    return f"{body_text(person.name, options)}{honorific_for(kind, options)}"


def speaker_text(speech: Speech, options: NotationOptions) -> str:
    """The speaker line: ○議長（山田太郎君）, ○３番（佐藤花子君）, or name-first ○山田太郎議長. Digits the clerk typed
    in a role or name (「5番」, 「話者1」) follow ``full_width_digits`` like the seat and the body."""
    name = body_text(speech.name, options)
    honorific = honorific_for(speech.kind, options)
    role = body_text(speech.role, options)
    if not role and speech.seat is not None and options.member_seat and options.order is SpeakerOrder.ROLE_FIRST:
        role = seat_text(speech.seat, options)
    if not name:  # an unidentified speaker: the role (or the diarization label) alone
        return f"{options.speaker_mark}{role or body_text(speech.label, options) or '発言者'}"
    if not role:
        return f"{options.speaker_mark}{name}{honorific}"
    if options.order is SpeakerOrder.NAME_FIRST:
        return f"{options.speaker_mark}{name}{role}"
    return f"{options.speaker_mark}{role}（{name}{honorific}）"


def speaker_short(speech: Speech) -> str:
    """A short speaker name for captions: the role, else the name, else the diarization label."""
    return speech.role or speech.name or speech.label


def speech_paragraphs(speech: Speech) -> list[str]:
    """The paragraphs of a speech: its lines, stripped, without empty ones."""
    return [line.strip() for line in speech.text.splitlines() if line.strip()] or [""]


def speech_text(speech: Speech, options: NotationOptions) -> str:
    """The whole speech as printed, paragraphs joined by newlines: ○議長（山田太郎君）　ただいまから…"""
    first, *rest = speech_paragraphs(speech)
    lines = [f"{speaker_text(speech, options)}{options.speaker_separator}{first}"]
    lines += [f"\u3000{line}" for line in rest]
    return "\n".join(lines)


def stage_note_text(note: StageNote, options: NotationOptions) -> str:
    """〔「異議なし」と呼ぶ者あり〕."""
    opening, closing = options.stage_note_brackets
    return f"{opening}{note.text.strip().strip(opening + closing)}{closing}"


def time_mark_text(mark: TimeMark, options: NotationOptions) -> str:
    """午前１０時００分開議."""
    return f"{time_text(mark.time, options)}{options.time_mark_separator}{mark.kind.value}"


def meeting_title(document: MinutesDocument, options: NotationOptions) -> str:
    """令和７年第４回大磯町議会定例会会議録（第２号）, or the document's own title. Without the draft mark."""
    if document.title:
        return document.title
    text = year_text(document.convened, options)
    if document.session is not None:
        text += f"第{digits(document.session, options)}回"
    kind = document.kind.value if document.kind in (MeetingKind.REGULAR, MeetingKind.EXTRAORDINARY) else ""
    text += f"{document.assembly}{kind}会議録"
    if document.issue is not None:
        text += f"（第{digits(document.issue, options)}号）"
    return text


def issue_text(document: MinutesDocument, options: NotationOptions) -> str:
    """第２号, or "" when the document has no issue number."""
    return f"第{digits(document.issue, options)}号" if document.issue is not None else ""

"""議事日程 in the transcript: which agenda item (日程第N) each utterance belongs to, and suggestions for it.

The chair announces each item (「日程第１、議案第５号…を議題といたします」); ``suggest`` finds those announcements —
Arabic, full-width or kanji numerals — and proposes assigning every utterance from one announcement up to the next to
that item. The clerk accepts a suggestion (or all of them) in one click; ``MeetingDetailsService.assign_agenda``
stores it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel import Session

from minutes import store
from minutes.services.base import Service
from minutes.services.views import AgendaEntry, MeetingDetails

_KANJI_DIGITS = {"〇": 0, "零": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_KANJI_UNITS = {"十": 10, "百": 100}
ANNOUNCEMENT = re.compile(r"日程\s*第\s*([0-9０-９]+|[〇零一二三四五六七八九十百]+)")
CHAIR_ROLES = ("議長", "委員長", "会長", "座長", "司会")


def parse_number(text: str) -> int | None:
    """「12」「１２」「十二」「二十一」「百五」 → the number; None when it is not one."""
    text = unicodedata.normalize("NFKC", text.strip())
    if text.isdigit():
        return int(text)
    if not text or any(ch not in _KANJI_DIGITS and ch not in _KANJI_UNITS for ch in text):
        return None
    if all(ch in _KANJI_DIGITS for ch in text):  # 一二 (positional) is rare but unambiguous
        return int("".join(str(_KANJI_DIGITS[ch]) for ch in text))
    total, digit = 0, None
    for ch in text:
        if ch in _KANJI_DIGITS:
            digit = _KANJI_DIGITS[ch]
        else:
            total += (digit if digit is not None else 1) * _KANJI_UNITS[ch]
            digit = None
    return total + (digit or 0)


def announced(text: str) -> int | None:
    """The first 日程第N named in an utterance, or None."""
    match = ANNOUNCEMENT.search(text)
    return parse_number(match.group(1)) if match else None


def agenda_label(entry: AgendaEntry) -> str:
    """「日程第１　議案第５号　令和７年度大磯町一般会計補正予算（第３号）」"""
    head = f"日程第{_full_width(entry.order)}" if entry.order is not None else ""
    return "　".join(part for part in (head, entry.bill, entry.title) if part)


def _full_width(number: int) -> str:
    return str(number).translate(str.maketrans("0123456789", "０１２３４５６７８９"))


@dataclass(frozen=True)
class Suggestion:
    order: int  # 日程第N
    label: str
    first_id: int  # the announcing utterance
    first_seq: int
    last_seq: int
    utterance_ids: tuple[int, ...]
    quote: str  # the announcement, shortened
    unchanged: int  # how many of them already have this item


def suggest(
    rows: Sequence[tuple[int, int, int, str, int | None]],
    agenda: Sequence[AgendaEntry],
    chair_ids: set[int] | None = None,
) -> list[Suggestion]:
    """Suggestions from utterance rows ``(id, seq, speaker id, text, agenda order)`` in order. Only announcements by
    ``chair_ids`` count when given; only items on the agenda count when there is one."""
    known = {a.order: a for a in agenda if a.order is not None}
    starts: list[tuple[int, int]] = []  # (row index, order)
    for index, (_id, _seq, speaker_id, text, _order) in enumerate(rows):
        if chair_ids and speaker_id not in chair_ids:
            continue
        number = announced(text)
        if number is None or (known and number not in known):
            continue
        if starts and starts[-1][1] == number:
            continue  # the same item named again
        starts.append((index, number))
    suggestions = []
    for n, (index, number) in enumerate(starts):
        end = starts[n + 1][0] if n + 1 < len(starts) else len(rows)
        part = rows[index:end]
        entry = known.get(number, AgendaEntry(title="", order=number))
        match = ANNOUNCEMENT.search(part[0][3])
        left = max(0, match.start() - 10) if match else 0
        quote = part[0][3][left : left + 60]
        suggestions.append(
            Suggestion(
                number,
                agenda_label(entry),
                part[0][0],
                part[0][1],
                part[-1][1],
                tuple(r[0] for r in part),
                ("…" if left else "") + quote + ("…" if left + 60 < len(part[0][3]) else ""),
                sum(1 for r in part if r[4] == number),
            )
        )
    return suggestions


class AgendaService(Service):
    """Agenda suggestions for the editor."""

    def suggestions(self, meeting_id: int) -> list[Suggestion]:
        """Suggestions for a stored meeting (announcements by speakers whose role is 議長, 委員長 …, when anyone has
        such a role; else by anyone). Suggestions already fully applied are left out."""
        with Session(self.engine) as session:
            meeting = self._readable(session, meeting_id)
            agenda = MeetingDetails.from_dict(meeting.details).agenda
            chairs = {
                s.id
                for s in store.speakers_of(session, meeting_id=meeting_id)
                if any(role in (s.role or "") for role in CHAIR_ROLES)
            }
            rows = store.agenda_rows(session, meeting_id=meeting_id)
        return [s for s in suggest(rows, agenda, chairs or None) if s.unchanged < len(s.utterance_ids)]

"""The roster's views (名簿): plain frozen copies a page, the CLI or the identification of speakers may keep, and what
a meeting's speaker becomes when linked to a person (:func:`speaker_fields`). Re-exported by
:mod:`minutes.services.people`, where the service is."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from minutes import clock
from minutes.services.speaker_views import seat_label
from minutes.services.views import SPEAKER_KINDS
from minutes.services.views import Person as HeaderPerson


def today() -> dt.date:
    """The assembly's today (Japan), for a day given as None."""
    return dt.datetime.now(clock.LOCAL).date()


@dataclass(frozen=True)
class TitleView:
    """A title held for a period: both ends inclusive; ``starts`` None since ever, ``ends`` None still held."""

    id: int
    title: str
    starts: dt.date | None
    ends: dt.date | None

    def held_on(self, day: dt.date | None) -> bool:
        """Whether the title is held on ``day`` (None: today in Japan, so an ended title is not held now)."""
        day = day or today()
        return (self.starts is None or self.starts <= day) and (self.ends is None or day <= self.ends)

    @property
    def period(self) -> str:
        """「2023/05/01〜」, 「2023/04/01〜2024/03/31」, 「〜2024/03/31」, or "" for always."""
        if self.starts is None and self.ends is None:
            return ""
        return "〜".join(f"{d:%Y/%m/%d}" if d else "" for d in (self.starts, self.ends))


@dataclass(frozen=True)
class PersonView:
    id: int
    name: str
    yomi: str
    kind: str  # one of SPEAKER_KINDS
    seat: int | None
    group: str
    retired: bool
    titles: tuple[TitleView, ...] = ()  # oldest first

    def title_on(self, day: dt.date | None) -> str:
        """The title held on ``day`` (None: today), "" if none; of several, the most recently started (a title
        without a start counts as the oldest)."""
        held = [t for t in self.titles if t.held_on(day)]
        if not held:
            return ""
        return max(enumerate(held), key=lambda pair: (pair[1].starts or dt.date.min, pair[0]))[1].title

    @property
    def display(self) -> str:
        """「５番 佐藤花子」「町長 鈴木健二」「高橋一郎（退任）」: for choosing a person in a list."""
        seat = f"{seat_label(self.seat)} " if self.seat is not None else ""
        title = self.title_on(None)
        return f"{seat}{title + ' ' if title else ''}{self.name}" + ("（退任）" if self.retired else "")


def speaker_fields(person: PersonView, day: dt.date | None) -> dict:
    """The fields of a meeting's speaker who is ``person`` on ``day`` (the meeting's date; None: today), such that the
    会議録 prints the line as the assembly does (``exports.notation.speaker_text``): the title held that day is the
    role (○議長（高橋一郎君）, ○町長（鈴木健二君）); a member holding none is printed by seat (role empty, seat kept:
    ○５番（佐藤花子君）); anyone else without a title by name (○鈴木健二君)."""
    return {
        "name": person.name,
        "role": person.title_on(day),
        "seat": person.seat,
        "kind": person.kind,
        "yomi": person.yomi,
        "group": person.group,
    }


@dataclass(frozen=True)
class ImportReport:
    """What a roster CSV changed (or, previewed, would change): names of people added, updated and unchanged, the
    titles added and updated, and the problems (「3 行目: …」) that stop it."""

    added: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    titles_added: int = 0
    titles_updated: int = 0
    problems: tuple[str, ...] = ()
    applied: bool = False

    @property
    def summary(self) -> str:
        return (
            f"追加 {len(self.added)} 人、更新 {len(self.updated)} 人、変更なし {len(self.unchanged)} 人"
            f"（職名の追加 {self.titles_added} 件、更新 {self.titles_updated} 件）"
        )


@dataclass(frozen=True)
class MeetingRoster:
    """The header's lists (``views.Person``) from the roster on a meeting's date: 出席議員 by seat with the titles they
    hold, 説明のため出席した者 and 職務のため出席した者 by title."""

    day: dt.date
    attendees: tuple[HeaderPerson, ...]
    explainers: tuple[HeaderPerson, ...]
    staff: tuple[HeaderPerson, ...]


def roster_order(person: PersonView) -> tuple:
    """議員 by seat, then 説明員, 職員, その他; by reading within each."""
    kind = SPEAKER_KINDS.index(person.kind) if person.kind in SPEAKER_KINDS else len(SPEAKER_KINDS)
    return (kind, person.seat is None, person.seat or 0, person.yomi or person.name, person.id)

"""The rosters of the 会議録 header (``views.Person``) as lines of text: what a clerk pastes from a list or a
spreadsheet, one person a line, and the same lines back for the form to show."""

from __future__ import annotations

import re

from minutes.services.speaker_views import seat_label
from minutes.services.views import Person

_SEAT_LINE = re.compile(r"^(?:議席)?(?:第)?(\d{1,3})番?\s*(.*)$")  # \d and \s: full-width too
_HONORIFICS = ("議員", "君", "様", "さん")
_ROLE_AFTER = re.compile(r"^(.*?)[（(]([^（）()]+)[）)]$")  # 山田太郎（議長）


def clean_name(text: str) -> str:
    """A name as pasted: spaces inside it dropped (山田　太郎 → 山田太郎), an honorific after it dropped."""
    name = re.sub(r"\s+", "", text)
    for honorific in _HONORIFICS:
        if name.endswith(honorific) and len(name) > len(honorific) + 1:
            return name[: -len(honorific)]
    return name


def parse_people(text: str, *, members: bool) -> tuple[Person, ...]:
    """A roster from pasted lines, one person a line: 「１番　山田太郎」 (seat and name; 「１番　山田太郎（議長）」 with
    a 職名), 「山田太郎」, or for officials and staff (``members`` False) 「総務課長　佐藤一郎」 (the first word is the
    職名). Digits may be full-width, the separator any spaces or a tab (cells pasted from a spreadsheet);
    「１番山田太郎」 needs none. Spaces inside a name and an honorific after it (君, 議員) are dropped."""
    people = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        seat = _SEAT_LINE.match(line)
        if seat and seat.group(2):
            rest, role = seat.group(2), ""
            if bracketed := _ROLE_AFTER.match(rest):
                rest, role = bracketed.groups()
            people.append(Person(clean_name(rest), int(seat.group(1)), role.strip()))  # int() reads full-width digits
            continue
        words = line.split()
        if not members and len(words) > 1:
            people.append(Person(clean_name("".join(words[1:])), None, words[0]))
        else:
            people.append(Person(clean_name(line)))
    return tuple(person for person in people if person.name)


def people_lines(people: tuple[Person, ...]) -> str:
    """The roster as the lines ``parse_people`` reads: 「１番　山田太郎」 or 「総務課長　佐藤一郎」."""
    lines = []
    for person in people:
        if person.seat is not None:
            role = f"（{person.role}）" if person.role else ""
            lines.append(f"{seat_label(person.seat)}\u3000{person.name}{role}")
        elif person.role:
            lines.append(f"{person.role}\u3000{person.name}")
        else:
            lines.append(person.name)
    return "\n".join(lines)

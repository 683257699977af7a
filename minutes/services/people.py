"""The assembly's roster (名簿): people, the titles they hold for a period, and what a meeting's speaker becomes when
linked to one of them.

Everyone signed in may read the roster (``Permission.READ``); changing it is for 書記 and 管理者
(``Permission.MANAGE_ROSTER``), and every change is in the audit trail. Names are kept as a 会議録 prints them: no
spaces, no honorific (「高橋　一郎君」 is stored as 高橋一郎), and one person per name, since the CLI, the CSV file and
the clerks name people by it. Days are the assembly's calendar days (Japan); a day of None means today.

The CSV file's form is described in :mod:`minutes.services.roster_csv`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlmodel import Session

from minutes import clock, store
from minutes.errors import InputError, NotFoundError
from minutes.services import roster_csv
from minutes.services.base import Service
from minutes.services.permissions import Permission, require
from minutes.services.person_views import (
    ImportReport,
    MeetingRoster,
    PersonView,
    TitleView,
    roster_order,
    speaker_fields,
    today,
)
from minutes.services.rosters import clean_name
from minutes.services.views import SPEAKER_KINDS
from minutes.services.views import Person as HeaderPerson
from minutes.store.tables import Person, PersonTitle, utcnow

__all__ = [
    "ImportReport",
    "MeetingRoster",
    "PeopleService",
    "PersonView",
    "TitleView",
    "clean_fields",
    "person_view",
    "roster_order",
    "speaker_fields",
    "today",
]

_FIELDS = ("name", "yomi", "kind", "seat", "group")


def _title_view(title: PersonTitle) -> TitleView:
    return TitleView(title.id, title.title, title.starts, title.ends)


def _view(person: Person, titles: Iterable[PersonTitle] = ()) -> PersonView:
    return PersonView(
        person.id,
        person.name,
        person.yomi,
        person.kind,
        person.seat,
        person.group,
        person.retired,
        tuple(_title_view(t) for t in titles),
    )


def person_view(session: Session, person_id: int, org_id: int) -> PersonView:
    """The person of organisation ``org_id`` with their titles (NotFoundError when there is none)."""
    person = store.get_person(session, person_id=person_id, org_id=org_id)
    return _view(person, store.titles_of(session, person_ids=[person_id]).get(person_id, []))


def _day(value: dt.date | str | None, label: str) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    if not str(value).strip():
        return None
    try:
        return clock.parse_day(str(value))
    except ValueError as error:
        raise InputError(f"{label}: {error}", f"bad date {value!r}") from None


def _check_title(title: str, starts: dt.date | None, ends: dt.date | None) -> str:
    title = (title or "").strip()
    if not title:
        raise InputError("職名を入力してください。", "empty title")
    if len(title) > 100:
        raise InputError("職名が長すぎます（100 文字まで）。", "title too long")
    if starts and ends and ends < starts:
        raise InputError(f"退任日（{ends:%Y/%m/%d}）が就任日（{starts:%Y/%m/%d}）より前です。", "ends before starts")
    return title


def clean_fields(fields: dict) -> dict:
    """The person's fields as stored, checked: InputError (Japanese) for a bad kind or seat, an empty name."""
    unknown = set(fields) - set(_FIELDS)
    if unknown:
        raise TypeError(f"unknown person fields {unknown}")
    values = {}
    for key, value in fields.items():
        if key == "name":
            value = clean_name(str(value or ""))
            if not value:
                raise InputError("氏名を入力してください。", "empty name")
            if len(value) > 100:
                raise InputError("氏名が長すぎます（100 文字まで）。", "name too long")
        elif key == "kind":
            value = str(value or "").strip() or "議員"
            if value not in SPEAKER_KINDS:
                raise InputError(f"区分は {'・'.join(SPEAKER_KINDS)} から選んでください。", f"kind={value!r}")
        elif key == "seat":
            try:
                value = roster_csv.seat_number(str(value)) if value not in (None, "") else None
            except ValueError as error:
                raise InputError(str(error), f"seat={value!r}") from None
        else:
            value = str(value or "").strip()[:100]
        values[key] = value
    return values


def _snapshot(person: Person) -> dict:
    return {key: getattr(person, key) for key in (*_FIELDS, "retired")}


class PeopleService(Service):
    """The 名簿 page's service, and the roster the CLI and the identification of speakers read."""

    # ------------------------------------------------------------ reading

    def people(self, *, include_retired: bool = False) -> list[PersonView]:
        """The roster in its order (``roster_order``): those in office, and the retired ones too if asked."""
        require(self.user, Permission.READ)
        with Session(self.engine) as session:
            rows = store.people(session, org_id=self.user.org_id, include_retired=include_retired)
            titles = store.titles_of(session, person_ids=[p.id for p in rows])
            return sorted((_view(p, titles.get(p.id, [])) for p in rows), key=roster_order)

    def person(self, person_id: int) -> PersonView:
        require(self.user, Permission.READ)
        with Session(self.engine) as session:
            return person_view(session, person_id, self.user.org_id)

    def find(self, name: str) -> PersonView:
        """The person of this name (spaces and an honorific such as 君・議員 ignored), retired or not."""
        require(self.user, Permission.READ)
        cleaned = clean_name(name or "")
        with Session(self.engine) as session:
            found = store.people_named(session, name=cleaned, org_id=self.user.org_id) if cleaned else []
            if not found:
                raise NotFoundError(f"名簿に「{cleaned or name}」という人はいません。", f"no person named {name!r}")
            return person_view(session, found[0].id, self.user.org_id)

    def header_roster(self, meeting_id: int) -> MeetingRoster:
        """The meeting header's lists from the roster on the meeting's date (today when it has none): members in
        seat order with the titles they hold that day, 説明員 and 職員 with theirs. People in office are listed, and
        retired ones who held a title that day; a 説明員 or 職員 whose titles all lie outside the day is left out."""
        with Session(self.engine) as session:
            meeting = self._readable(session, meeting_id)
            rows = store.people(session, org_id=self.user.org_id, include_retired=True)
            titles = store.titles_of(session, person_ids=[p.id for p in rows])
        day = meeting.held_at.date() if meeting.held_at else today()
        views = sorted((_view(p, titles.get(p.id, [])) for p in rows), key=roster_order)

        def listed(kind: str) -> tuple[HeaderPerson, ...]:
            chosen = []
            for person in views:
                held = person.title_on(day)
                if person.kind != kind or (person.retired and not held):
                    continue
                if kind != "議員" and person.titles and not held:
                    continue
                chosen.append(HeaderPerson(person.name, person.seat if kind == "議員" else None, held))
            return tuple(chosen)

        return MeetingRoster(day, listed("議員"), listed("説明員"), listed("職員"))

    def export_csv(self) -> bytes:
        """Everyone on the roster, retired people too, as the CSV ``import_csv`` reads (one row per title, the
        person's columns repeated on each; one row for a person without titles)."""
        rows = []
        for p in self.people(include_retired=True):
            state = roster_csv.RETIRED if p.retired else roster_csv.IN_OFFICE
            person = [p.name, p.yomi, p.kind, p.seat, p.group]
            for title in p.titles or (None,):
                period = (
                    ["", "", ""] if title is None else [title.title, *(_iso(d) for d in (title.starts, title.ends))]
                )
                rows.append([*person, *period, state])
        return roster_csv.write_csv(rows)

    # ------------------------------------------------------------ changes (書記・管理者)

    def add(
        self,
        name: str,
        *,
        yomi: str = "",
        kind: str = "議員",
        seat: int | str | None = None,
        group: str = "",
        titles: Iterable[tuple] = (),
    ) -> PersonView:
        """A new person, with titles given as ``(title, starts, ends)`` (days as ``date``, text a clerk types, or
        None). Refused when someone of that name is on the roster already (retired too: take back their 退任
        instead), or when another person in office has the seat."""
        require(self.user, Permission.MANAGE_ROSTER)
        values = clean_fields({"name": name, "yomi": yomi, "kind": kind, "seat": seat, "group": group})
        checked = [_checked_title(*title) for title in titles]
        with Session(self.engine) as session:
            _unique_name(session, values["name"], self.user.org_id)
            _seat_free(session, values["seat"], None, self.user.org_id)
            person = store.add_person(session, person=Person(**values, org_id=self.user.org_id))
            self._audit(session, "person_add", person.id, None, _snapshot(person))
            for title, starts, ends in checked:
                self._add_title(session, person, title, starts, ends)
            session.commit()
            return person_view(session, person.id, self.user.org_id)

    def update(self, person_id: int, **fields) -> PersonView:
        """Change a person's name, yomi, kind, seat or group (only those given)."""
        require(self.user, Permission.MANAGE_ROSTER)
        values = clean_fields(fields)
        with Session(self.engine) as session:
            person = store.get_person(session, person_id=person_id, org_id=self.user.org_id)
            if "name" in values and values["name"] != person.name:
                _unique_name(session, values["name"], self.user.org_id)
            if "seat" in values and not person.retired:
                _seat_free(session, values["seat"], person.id, self.user.org_id)
            before = _snapshot(person)
            for key, value in values.items():
                setattr(person, key, value)
            if _snapshot(person) != before:
                person.updated_at = utcnow()
                self._audit(session, "person_update", person.id, before, _snapshot(person))
                session.commit()
            return person_view(session, person_id, self.user.org_id)

    def retire(self, person_id: int, retired: bool = True) -> PersonView:
        """Mark a person retired (kept for the records of past meetings, not offered for new ones), or in office
        again (``retired=False``; refused while another person in office has their seat)."""
        require(self.user, Permission.MANAGE_ROSTER)
        with Session(self.engine) as session:
            person = store.get_person(session, person_id=person_id, org_id=self.user.org_id)
            if person.retired != retired:
                if not retired:
                    _seat_free(session, person.seat, person.id, self.user.org_id)
                before = _snapshot(person)
                person.retired, person.updated_at = retired, utcnow()
                self._audit(session, "person_retire", person.id, before, _snapshot(person))
                session.commit()
            return person_view(session, person_id, self.user.org_id)

    def add_title(
        self, person_id: int, title: str, starts: dt.date | str | None = None, ends: dt.date | str | None = None
    ) -> PersonView:
        """A title for a period (ends inclusive; None: since ever / still held); the same title and period twice is
        refused."""
        require(self.user, Permission.MANAGE_ROSTER)
        checked = _checked_title(title, starts, ends)
        with Session(self.engine) as session:
            person = store.get_person(session, person_id=person_id, org_id=self.user.org_id)
            held = store.titles_of(session, person_ids=[person_id]).get(person_id, [])
            if any((t.title, t.starts, t.ends) == checked for t in held):
                raise InputError(f"{person.name} さんの「{checked[0]}」はすでに同じ期間で登録されています。", "dup")
            self._add_title(session, person, *checked)
            session.commit()
            return person_view(session, person_id, self.user.org_id)

    def remove_title(self, title_id: int) -> PersonView:
        require(self.user, Permission.MANAGE_ROSTER)
        with Session(self.engine) as session:
            title = store.get_title(session, title_id=title_id)
            store.get_person(session, person_id=title.person_id, org_id=self.user.org_id)  # of this organisation
            person_id, before = title.person_id, _title_snapshot(title)
            store.delete_title(session, title_id=title_id)
            self._audit(session, "person_title_remove", person_id, before, None)
            session.commit()
            return person_view(session, person_id, self.user.org_id)

    def _add_title(self, session: Session, person: Person, title: str, starts, ends) -> PersonTitle:
        row = store.add_title(session, title=PersonTitle(person_id=person.id, title=title, starts=starts, ends=ends))
        self._audit(session, "person_title_add", person.id, None, {"name": person.name} | _title_snapshot(row))
        return row

    def _audit(self, session: Session, action: str, person_id: int, before: dict | None, after: dict | None) -> None:
        store.audit.record(
            session,
            actor=self.actor,
            action=action,
            target_type="person",
            target_id=person_id,
            before=before,
            after=after,
        )

    # ------------------------------------------------------------ CSV

    def preview_csv(self, data: bytes) -> ImportReport:
        """What ``import_csv`` would do with this file, with every problem found; nothing is saved."""
        require(self.user, Permission.MANAGE_ROSTER)
        with Session(self.engine) as session:
            report = self._import(session, data)
            session.rollback()
        return report

    def import_csv(self, data: bytes) -> ImportReport:
        """Add and update people and titles from a roster CSV (``roster_csv``), all or nothing: with any problem,
        nothing is saved and InputError lists each (「3 行目: …」). People are matched by name, titles by 職名 and
        就任日 (a changed 退任日 updates the title), so importing the same file again changes nothing; people and
        titles not in the file stay as they are."""
        require(self.user, Permission.MANAGE_ROSTER)
        with Session(self.engine) as session:
            report = self._import(session, data)
            if report.problems:
                session.rollback()
                raise InputError(
                    f"名簿の CSV に {len(report.problems)} 件の問題があるため、何も取り込みませんでした。\n"
                    + "\n".join(f"- {problem}" for problem in report.problems),
                    f"{len(report.problems)} problems in roster CSV",
                )
            session.commit()
        return ImportReport(**{**report.__dict__, "applied": True})

    def _import(self, session: Session, data: bytes) -> ImportReport:
        parsed, problems = roster_csv.read_csv(data)  # the good rows are applied too, to find every problem
        added, updated, unchanged, counts = [], [], [], [0, 0]
        for rows in parsed:
            try:
                state = self._import_person(session, rows, counts)
            except InputError as error:
                problems.append(f"{rows.line} 行目: {error.message}")
                continue
            {"added": added, "updated": updated, "unchanged": unchanged}[state].append(rows.name)
        problems += _seat_problems(session, {rows.name: rows.line for rows in parsed}, self.user.org_id)
        problems.sort(key=_line_of)
        return ImportReport(tuple(added), tuple(updated), tuple(unchanged), *counts, problems=tuple(problems))

    def _import_person(self, session: Session, rows: roster_csv.PersonRows, counts: list[int]) -> str:
        """Add or update one person of the file and their titles; "added", "updated" or "unchanged"."""
        values = clean_fields({k: v for k, v in rows.fields.items() if k != "retired"})
        found = store.people_named(session, name=rows.name, org_id=self.user.org_id)
        if found:
            person, state = found[0], "unchanged"
            before = _snapshot(person)
            for key, value in values.items():
                setattr(person, key, value)
            person.retired = rows.fields.get("retired", person.retired)
            if _snapshot(person) != before:
                person.updated_at, state = utcnow(), "updated"
                self._audit(session, "person_update", person.id, before, _snapshot(person))
        else:
            values = {"kind": "議員"} | values | {"name": rows.name, "retired": rows.fields.get("retired", False)}
            person, state = store.add_person(session, person=Person(**values, org_id=self.user.org_id)), "added"
            self._audit(session, "person_add", person.id, None, _snapshot(person))
        held = store.titles_of(session, person_ids=[person.id]).get(person.id, [])
        changed = 0
        for row in rows.titles:
            same = next((t for t in held if (t.title, t.starts) == (row.title, row.starts)), None)
            if same is None:
                held.append(self._add_title(session, person, row.title, row.starts, row.ends))
                counts[0], changed = counts[0] + 1, changed + 1
            elif same.ends != row.ends:
                before = _title_snapshot(same)
                same.ends = row.ends
                self._audit(session, "person_title_update", person.id, before, _title_snapshot(same))
                counts[1], changed = counts[1] + 1, changed + 1
        session.flush()
        return "updated" if state == "unchanged" and changed else state


def _line_of(problem: str) -> int:
    """The row number a problem starts with (「8 行目: …」); 0 for problems of the whole file."""
    head = problem.split(" 行目", 1)[0]
    return int(head) if head.isdigit() else 0


def _iso(day: dt.date | None) -> str:
    return day.isoformat() if day else ""


def _title_snapshot(title: PersonTitle) -> dict:
    return {"title_id": title.id, "title": title.title, "starts": _iso(title.starts), "ends": _iso(title.ends)}


def _checked_title(title: str, starts=None, ends=None) -> tuple[str, dt.date | None, dt.date | None]:
    starts, ends = _day(starts, "就任日"), _day(ends, "退任日")
    return _check_title(title, starts, ends), starts, ends


def _unique_name(session: Session, name: str, org_id: int) -> None:
    for person in store.people_named(session, name=name, org_id=org_id):
        hint = "「退任」を取り消して使ってください。" if person.retired else "同じ人なら、その人を編集してください。"
        raise InputError(f"「{name}」はすでに名簿にいます。{hint}", f"person {person.id} named {name!r}")


def _seat_free(session: Session, seat: int | None, person_id: int | None, org_id: int) -> None:
    """Refuse ``seat`` when another person in office (in organisation ``org_id``) has it."""
    if seat is None:
        return
    for other in store.people(session, org_id=org_id):
        if other.seat == seat and other.id != person_id:
            raise InputError(
                f"議席番号 {seat} はすでに {other.name} さんの議席です。先にその人の議席番号か在任を変えてください。",
                f"seat {seat} taken by person {other.id}",
            )


def _seat_problems(session: Session, lines: dict[str, int], org_id: int) -> list[str]:
    """After an import: seats held by two people in office, told at the row of the file's person."""
    session.flush()
    holders: dict[int, list[Person]] = {}
    for person in store.people(session, org_id=org_id):
        if person.seat is not None:
            holders.setdefault(person.seat, []).append(person)
    problems = []
    for seat, people in sorted(holders.items()):
        if len(people) > 1:
            names = "・".join(p.name for p in people)
            line = min((lines[p.name] for p in people if p.name in lines), default=None)
            where = f"{line} 行目: " if line is not None else ""
            problems.append(f"{where}議席番号 {seat} が {names} の 2 人以上になります。")
    return problems

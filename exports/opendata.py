"""Open data: JSON and CSV modelled on the 国会会議録検索システム API (https://kokkai.ndl.go.jp/api.html).

JSON (``render_json``): ``{"schemaVersion", "meetingRecord": {...}}``, valid against
``exports/schema/minutes.schema.json``.
The meeting record has the API's ``nameOfMeeting``, ``session``, ``issue``, ``date`` and ``speechRecord``, and our
own fields for what a municipal 会議録 has besides (assembly, rosters, agenda, draft/final state). As in the API:

- ``speechOrder`` counts speeches from 1 (the API's order 0, the front matter, is the meeting record itself);
- ``speaker`` is the name without honorific, ``speakerPosition`` the 職名 (議長, 町長, or ３番 for a member),
  ``speakerRole`` what kind of speaker it is (議員・説明員・職員・その他);
- ``speech`` starts with the speaker line as printed: 「○議長（山田太郎君）　ただいまから…」; the words are the stored
  text as it is (the full-width digits of the printed body are a print convention: see ``exports.layout``).

Stage notes and time marks are in ``notes``, each placed after a speech (``afterSpeechOrder``; 0: before the first).

CSV (``render_csv``): one row per speech with the speech-record fields and the meeting fields that identify it, so
that the rows of several meetings can be put together. UTF-8 with a byte-order mark (Excel on Windows needs it to
read Japanese correctly; other programs ignore it or show it as an invisible first character), CRLF line ends,
RFC 4180 quoting: a speech with line breaks stays in one quoted cell. A text cell a spreadsheet would take for a
formula (``=HYPERLINK(...)`` as a speaker's name) starts with a single quote (``exports.csv_safety``); numbers stay
numbers.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

from exports.csv_safety import safe_cell
from exports.document import AgendaItem, MinutesDocument, Person, Speech, StageNote, TimeMark
from exports.notation import (
    NotationOptions,
    issue_text,
    meeting_title,
    seat_text,
    speech_text,
    stage_note_text,
    time_mark_text,
)
from exports.options import ExportOptions

SCHEMA_VERSION = "1.0"
CSV_FIELDS = (
    "assembly",
    "nameOfMeeting",
    "session",
    "issue",
    "date",
    "speechOrder",
    "speaker",
    "speakerYomi",
    "speakerGroup",
    "speakerPosition",
    "speakerRole",
    "seatNumber",
    "startTime",
    "endTime",
    "speech",
)


def _iso(value: dt.date | dt.datetime | dt.time | None) -> str | None:
    return value.isoformat() if value is not None else None


def _seconds(value: float | None) -> float | None:
    return round(value, 3) if value is not None else None


def _person(person: Person) -> dict:
    return {"seat": person.seat, "role": person.role or None, "name": person.name}


def _agenda_item(item: AgendaItem) -> dict:
    return {"order": item.order, "bill": item.bill or None, "title": item.title}


def name_of_meeting(document: MinutesDocument) -> str:
    """定例会 / 臨時会 for plenary sessions, the title for committees and other meetings."""
    return document.kind.value if document.title == "" else document.title


def speech_record(speech: Speech, order: int, notation: NotationOptions) -> dict:
    position = speech.role or (seat_text(speech.seat, notation) if speech.seat is not None else "")
    return {
        "speechOrder": order,
        "speaker": speech.name or None,
        "speakerYomi": speech.yomi or None,
        "speakerGroup": speech.group or None,
        "speakerPosition": position or None,
        "speakerRole": speech.kind.value,
        "seatNumber": speech.seat,
        "speakerLabel": speech.label or None,
        "speech": speech_text(speech, notation),
        "text": speech.text,
        "raw": speech.raw or speech.text,
        "startTime": _seconds(speech.start),
        "endTime": _seconds(speech.end),
    }


def meeting_record(document: MinutesDocument, notation: NotationOptions) -> dict:
    """The meeting record with its speech records, as plain JSON types."""
    speeches, notes = [], []
    for item in document.items:
        if isinstance(item, Speech):
            speeches.append(speech_record(item, len(speeches) + 1, notation))
        elif isinstance(item, StageNote):
            notes.append(
                {
                    "afterSpeechOrder": len(speeches),
                    "type": "stageNote",
                    "text": stage_note_text(item, notation),
                    "time": None,
                    "startTime": _seconds(item.start),
                    "endTime": _seconds(item.end),
                }
            )
        elif isinstance(item, TimeMark):
            notes.append(
                {
                    "afterSpeechOrder": len(speeches),
                    "type": "timeMark",
                    "text": time_mark_text(item, notation),
                    "time": item.time.isoformat(timespec="minutes"),
                    "startTime": None,
                    "endTime": None,
                }
            )
    return {
        "assembly": document.assembly,
        "title": meeting_title(document, notation),
        "nameOfMeeting": name_of_meeting(document),
        "meetingKind": document.kind.value,
        "session": document.session,
        "issue": issue_text(document, notation) or None,
        "date": document.date.isoformat(),
        "convenedDate": document.convened.isoformat(),
        "openedAt": _iso(document.opened),
        "closedAt": _iso(document.closed),
        "place": document.place or None,
        "attendees": [_person(p) for p in document.attendees],
        "absentees": [_person(p) for p in document.absentees],
        "explainers": [_person(p) for p in document.explainers],
        "staff": [_person(p) for p in document.staff],
        "agenda": [_agenda_item(i) for i in document.agenda],
        "business": None if document.business is None else [_agenda_item(i) for i in document.business],
        "finalized": document.finalized,
        "version": document.version,
        "finalizedBy": document.finalized_by or None,
        "finalizedAt": _iso(document.finalized_at),
        "recordingDuration": _seconds(document.duration),
        "speechRecord": speeches,
        "notes": notes,
    }


def render_json(document: MinutesDocument, options: ExportOptions | None = None) -> bytes:
    """The 会議録 as JSON (UTF-8, no BOM), valid against ``exports/schema/minutes.schema.json``."""
    options = options or ExportOptions()
    data = {"schemaVersion": SCHEMA_VERSION, "meetingRecord": meeting_record(document, options.notation)}
    return (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def render_csv(document: MinutesDocument, options: ExportOptions | None = None) -> bytes:
    """The speech records as CSV: UTF-8 with BOM, CRLF, a header row of ``CSV_FIELDS``."""
    options = options or ExportOptions()
    record = meeting_record(document, options.notation)
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=CSV_FIELDS, extrasaction="ignore", lineterminator="\r\n")
    writer.writeheader()
    meeting = {key: record[key] for key in ("assembly", "nameOfMeeting", "session", "issue", "date")}
    for speech in record["speechRecord"]:
        row = {**meeting, **speech}
        writer.writerow({key: "" if value is None else safe_cell(value) for key, value in row.items()})
    return buffer.getvalue().encode("utf-8-sig")

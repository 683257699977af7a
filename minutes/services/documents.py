"""The 会議録 of a stored meeting as an ``exports.MinutesDocument``, and exports of it.

The only place that maps the database to the export record; exports themselves stay pure.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlmodel import Session

import exports
from minutes import store
from minutes.errors import InputError
from minutes.services.base import Service
from minutes.services.permissions import Permission, check
from minutes.services.views import MeetingDetails
from minutes.store.tables import Speaker


@dataclass(frozen=True)
class ExportResult:
    data: bytes
    filename: str
    mime_type: str


def speaker_label(speaker: Speaker, number: int) -> str:
    """A name for a speaker nobody has named yet: 話者１, 話者２ … (by order of first appearance)."""
    return speaker.name or ("" if speaker.role else f"話者{number}")


def _kind(value: str) -> exports.MeetingKind:
    try:
        return exports.MeetingKind(value)
    except ValueError:
        return exports.MeetingKind.OTHER


def _speaker_kind(value: str | None) -> exports.SpeakerKind:
    try:
        return exports.SpeakerKind(value) if value else exports.SpeakerKind.MEMBER
    except ValueError:
        return exports.SpeakerKind.OTHER


def build_document(session: Session, *, meeting_id: int) -> exports.MinutesDocument:
    meeting = store.get_meeting(session, meeting_id=meeting_id)
    details = MeetingDetails.from_dict(meeting.details)
    speakers = {s.id: s for s in store.speakers_of(session, meeting_id=meeting_id)}
    numbers: dict[int, int] = {}
    items: list[exports.Speech] = []
    for utterance in store.utterances_of(session, meeting_id=meeting_id):
        speaker = speakers[utterance.speaker_id]
        numbers.setdefault(speaker.id, len(numbers) + 1)
        items.append(
            exports.Speech(
                name=speaker_label(speaker, numbers[speaker.id]),
                text=utterance.text,
                role=speaker.role or "",
                seat=speaker.seat,
                kind=_speaker_kind(speaker.kind),
                start=utterance.start,
                end=utterance.end,
                label=speaker.label,
                yomi=speaker.yomi or "",
                group=speaker.group or "",
                words=tuple(exports.WordTiming(w["start"], w["end"], w["text"]) for w in utterance.words)
                if not utterance.edited
                else (),
            )
        )
    day = meeting.held_at.date() if meeting.held_at else meeting.created_at.date()
    kind = _kind(meeting.kind)
    plenary = kind in (exports.MeetingKind.REGULAR, exports.MeetingKind.EXTRAORDINARY) and details.assembly
    proceedings: list = []
    if details.opened:
        proceedings.append(exports.TimeMark(exports.TimeMarkKind.SITTING, details.opened))
    proceedings.extend(items)
    if details.closed:
        proceedings.append(exports.TimeMark(exports.TimeMarkKind.ADJOURNMENT, details.closed))
    job = store.latest_job(session, meeting_id=meeting_id)
    duration = store.get_recording(session, recording_id=job.recording_id).duration if job else None
    return exports.MinutesDocument(
        assembly=details.assembly,
        convened=details.convened or day,
        kind=kind,
        session=details.session,
        issue=details.issue,
        title="" if plenary else f"{meeting.title}会議録",
        meeting_date=day,
        opened=dt.datetime.combine(day, details.opened) if details.opened else None,
        closed=dt.datetime.combine(day, details.closed) if details.closed else None,
        place=meeting.place,
        attendees=tuple(exports.Person(p.name, p.seat, p.role) for p in details.attendees),
        absentees=tuple(exports.Person(p.name, p.seat, p.role) for p in details.absentees),
        explainers=tuple(exports.Person(p.name, p.seat, p.role) for p in details.explainers),
        staff=tuple(exports.Person(p.name, p.seat, p.role) for p in details.staff),
        agenda=tuple(exports.AgendaItem(a.title, a.order, a.bill) for a in details.agenda),
        items=tuple(proceedings),
        finalized=meeting.finalized_at is not None,
        version=meeting.version,
        finalized_by=meeting.finalized_by or "",
        finalized_at=meeting.finalized_at,
        duration=duration,
    )


def safe_filename(title: str) -> str:
    """A download name from the meeting title: no path separators or control characters, not too long."""
    name = re.sub(r'[\\/:*?"<>|\x00-\x1f]+', "_", title).strip(" ._") or "会議録"
    return name[:80]


class ExportService(Service):
    """Exports of a meeting's 会議録 in the formats of ``exports.FORMATS``."""

    def export(self, meeting_id: int, fmt: str) -> ExportResult:
        """Render one format and record who exported what (the meeting's event log and the audit trail). Needs the
        export permission on a meeting the user may see."""
        if fmt not in exports.FORMATS:
            raise InputError(
                f"形式「{fmt}」には対応していません（{', '.join(exports.FORMATS)}）。", f"unknown format {fmt}"
            )
        export_format = exports.FORMATS[fmt]
        with Session(self.engine) as session:
            check(session, self.user, Permission.EXPORT, meeting_id)
            document = build_document(session, meeting_id=meeting_id)
            meeting = store.get_meeting(session, meeting_id=meeting_id)
            data = export_format.render(document, None)
            draft = "" if document.finalized else "（案）"
            filename = f"{safe_filename(meeting.title)}{draft}{export_format.extension}"
            store.add_event(
                session,
                meeting_id=meeting_id,
                action="export",
                actor=self.actor,
                detail={"format": fmt, "bytes": len(data), "finalized": document.finalized, "version": meeting.version},
            )
            session.commit()
        return ExportResult(data, filename, export_format.mime_type)

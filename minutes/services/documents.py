"""The 会議録 of a stored meeting as an ``exports.MinutesDocument``, and exports of it.

The only place that maps the database to the export record; exports themselves stay pure.
"""

from __future__ import annotations

import bisect
import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass

from sqlmodel import Session

import exports
from minutes import store
from minutes.errors import InputError
from minutes.services.base import Service
from minutes.services.permissions import Permission, check
from minutes.services.views import CLOSING_MARKS, OPENING_MARKS, MeetingDetails, TimeMarkEntry
from minutes.store.tables import Meeting, Speaker


@dataclass(frozen=True)
class ExportResult:
    data: bytes
    filename: str
    mime_type: str


def speaker_label(speaker: Speaker, number: int) -> str:
    """How a speaker nobody has named is printed: 話者１, 話者２ … (by order of first appearance), without the
    honorific a name gets (○話者４, not ○話者４君); a named speaker keeps its diarization label."""
    return speaker.label if speaker.name else f"話者{number}"


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


def proceedings(
    speeches: list[tuple[int, exports.Speech]],
    marks: tuple[TimeMarkEntry, ...],
    *,
    opened: dt.time | None,
    closed: dt.time | None,
) -> tuple[exports.Speech | exports.TimeMark, ...]:
    """The body in order: 開議 (from ``opened``) before the first speech, each recorded mark after the utterance it
    follows (``after_seq``; a seq merged away leaves it after the utterance before), 散会 (from ``closed``) after the
    last. A recorded 開議/開会 replaces the one from ``opened``, a recorded 散会/閉会/延会 the one from ``closed``.
    ``speeches``: (seq, speech) in order of seq. Marks following the same utterance go in order of time."""
    seqs = [seq for seq, _ in speeches]
    following: dict[int, list[exports.TimeMark]] = {}  # the number of speeches a mark comes after → the marks
    for mark in sorted(marks, key=lambda m: (-1 if m.after_seq is None else m.after_seq, m.time)):
        position = 0 if mark.after_seq is None else bisect.bisect_right(seqs, mark.after_seq)
        following.setdefault(position, []).append(exports.TimeMark(exports.TimeMarkKind(mark.kind), mark.time))
    kinds = {m.kind for m in marks}
    items: list = []
    if opened and not kinds & set(OPENING_MARKS):
        items.append(exports.TimeMark(exports.TimeMarkKind.SITTING, opened))
    items += following.get(0, [])
    for count, (_, speech) in enumerate(speeches, start=1):
        items.append(speech)
        items += following.get(count, [])
    if closed and not kinds & set(CLOSING_MARKS):
        items.append(exports.TimeMark(exports.TimeMarkKind.ADJOURNMENT, closed))
    return tuple(items)


def build_document(session: Session, *, meeting_id: int) -> exports.MinutesDocument:
    meeting = store.get_meeting(session, meeting_id=meeting_id)
    details = MeetingDetails.from_dict(meeting.details)
    speakers = {s.id: s for s in store.speakers_of(session, meeting_id=meeting_id)}
    numbers: dict[int, int] = {}
    speeches: list[tuple[int, exports.Speech]] = []
    for utterance in store.utterances_of(session, meeting_id=meeting_id):
        speaker = speakers[utterance.speaker_id]
        numbers.setdefault(speaker.id, len(numbers) + 1)
        speech = exports.Speech(
            name=speaker.name or "",
            text=utterance.text,
            raw=utterance.raw if utterance.raw is not None else utterance.text,
            role=speaker.role or "",
            seat=speaker.seat,
            kind=_speaker_kind(speaker.kind),
            start=utterance.start,
            end=utterance.end,
            label=speaker_label(speaker, numbers[speaker.id]),
            yomi=speaker.yomi or "",
            group=speaker.group or "",
            words=tuple(exports.WordTiming(w["start"], w["end"], w["text"]) for w in utterance.words)
            if not utterance.edited
            else (),
        )
        speeches.append((utterance.seq, speech))
    day = meeting.held_at.date() if meeting.held_at else meeting.created_at.date()
    kind = _kind(meeting.kind)
    plenary = kind in (exports.MeetingKind.REGULAR, exports.MeetingKind.EXTRAORDINARY) and details.assembly
    opened = details.opening_time(meeting.held_at)
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
        opened=dt.datetime.combine(day, opened) if opened else None,
        closed=dt.datetime.combine(day, details.closed) if details.closed else None,
        place=meeting.place,
        attendees=tuple(exports.Person(p.name, p.seat, p.role) for p in details.attendees),
        absentees=tuple(exports.Person(p.name, p.seat, p.role) for p in details.absentees),
        explainers=tuple(exports.Person(p.name, p.seat, p.role) for p in details.explainers),
        staff=tuple(exports.Person(p.name, p.seat, p.role) for p in details.staff),
        agenda=tuple(exports.AgendaItem(a.title, a.order, a.bill) for a in details.agenda),
        items=proceedings(speeches, details.time_marks, opened=opened, closed=details.closed),
        finalized=meeting.finalized_at is not None,
        version=meeting.version,
        finalized_by=meeting.finalized_by or "",
        finalized_at=meeting.finalized_at,
        duration=duration,
        chair=details.chair,
        signers=details.signers,
    )


def safe_filename(title: str) -> str:
    """A download name from the meeting title: no path separators or control characters, not too long."""
    name = re.sub(r'[\\/:*?"<>|\x00-\x1f]+', "_", title).strip(" ._") or "会議録"
    return name[:80]


def _format(fmt: str) -> exports.ExportFormat:
    if fmt not in exports.FORMATS:
        raise InputError(
            f"形式「{fmt}」には対応していません（{', '.join(exports.FORMATS)}）。", f"unknown format {fmt}"
        )
    return exports.FORMATS[fmt]


def _filename(meeting: Meeting, export_format: exports.ExportFormat) -> str:
    draft = "" if meeting.finalized_at is not None else "（案）"
    return f"{safe_filename(meeting.title)}{draft}{export_format.extension}"


@dataclass(frozen=True)
class PreparedExport:
    """An export whose file name and type are known before it is made: ``render()`` makes it and records it (as
    ``ExportService.export``), so a download button that calls it on click records only real downloads."""

    filename: str
    mime_type: str
    render: Callable[[], bytes]


class ExportService(Service):
    """Exports of a meeting's 会議録 in the formats of ``exports.FORMATS``."""

    def export(self, meeting_id: int, fmt: str) -> ExportResult:
        """Render one format and record who exported what (the meeting's event log and the audit trail). Needs the
        export permission on a meeting the user may see."""
        export_format = _format(fmt)
        with Session(self.engine) as session:
            check(session, self.user, Permission.EXPORT, meeting_id)
            document = build_document(session, meeting_id=meeting_id)
            meeting = store.get_meeting(session, meeting_id=meeting_id)
            data = export_format.render(document, None)
            filename = _filename(meeting, export_format)
            store.add_event(
                session,
                meeting_id=meeting_id,
                action="export",
                actor=self.actor,
                detail={"format": fmt, "bytes": len(data), "finalized": document.finalized, "version": meeting.version},
            )
            session.commit()
        return ExportResult(data, filename, export_format.mime_type)

    def prepare(self, meeting_id: int, fmt: str) -> PreparedExport:
        """The file name and type of an export now, the export itself (rendered and recorded) when ``render()`` is
        called. Checks the export permission now, and again on ``render()``."""
        export_format = _format(fmt)
        with Session(self.engine) as session:
            meeting = check(session, self.user, Permission.EXPORT, meeting_id)
            filename = _filename(meeting, export_format)
        return PreparedExport(filename, export_format.mime_type, lambda: self.export(meeting_id, fmt).data)

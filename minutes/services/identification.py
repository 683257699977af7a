"""Speakers named from the voice profiles, in the worker's jobs: what a transcription job matches against, what it
stores for each identified speaker, the ``identify`` job (a stored meeting matched again after the profiles changed)
and the ``voices`` job (a finalized meeting's named speakers added to their profiles).

A name is copied into the speaker (name, reading, seat, the title held on the meeting's day) when the match is sure;
the link (``person_id``) and the score are kept so the 話者 page can show how sure, and the clerk confirms or
changes it. An unsure match is only a suggestion (``suggested_person_id``). A clerk's own choice is never
overwritten by a later identification.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from sqlmodel import Session

from minutes import store
from minutes.pipeline import PipelineOptions
from minutes.pipeline.decode import decode_to_file
from minutes.pipeline.identify import Match, Profile
from minutes.pipeline.run import identify_recording
from minutes.progress import ProgressCallback
from minutes.records import Utterance as UtteranceRecord
from minutes.services.people import person_view
from minutes.services.person_views import speaker_fields as speaker_fields_of
from minutes.services.voices import (
    chairs_for,
    linked_spans,
    meeting_day,
    meeting_voices,
    profiles_for,
    store_meeting_voices,
)
from minutes.store.engine import write_lock
from minutes.store.tables import Meeting, Speaker


def identification_inputs(
    session: Session, meeting_id: int, options: PipelineOptions
) -> tuple[list[Profile], frozenset[str]]:
    """The profiles a new meeting is matched against, and who chairs it (nothing when identification is off)."""
    if not options.identify.enabled:
        return [], frozenset()
    meeting = store.get_meeting(session, meeting_id=meeting_id)
    return profiles_for(session, meeting), chairs_for(session, meeting)


def speaker_fields(session: Session, meeting: Meeting, people: dict[str, Match]) -> dict[str, dict]:
    """label → Speaker column values for a new transcript: the identified person's, or the suggestion."""
    fields: dict[str, dict] = {}
    for label, match in people.items():
        if match.person is not None:
            person = person_view(session, int(match.person), meeting.org_id)
            fields[label] = speaker_fields_of(person, meeting_day(meeting)) | {
                "person_id": int(match.person),
                "person_score": match.score,
            }
        elif match.suggested is not None:
            fields[label] = {"suggested_person_id": int(match.suggested), "person_score": match.score}
    return fields


def identify_stored(
    session: Session, job_id: int, worker_id: str, source: Path, work_dir: Path, options: PipelineOptions, actor: str,
    progress: ProgressCallback,
) -> int:  # fmt: skip
    """The ``identify`` job: the stored speakers' voices matched to the profiles again. Speakers a clerk linked keep
    their person; the others get the new match (named when sure, a suggestion otherwise). Speakers are not split or
    merged here: a clerk may have edited them. Returns how many speakers were named."""
    job = store.own_running_job(session, job_id=job_id, worker_id=worker_id)
    meeting = store.get_meeting(session, meeting_id=job.meeting_id)
    speakers = {s.id: s for s in store.speakers_of(session, meeting_id=meeting.id)}
    rows = store.utterances_of(session, meeting_id=meeting.id)
    records = [UtteranceRecord(str(u.speaker_id), u.start, u.end, u.text) for u in rows]
    profiles = profiles_for(session, meeting)
    session.rollback()  # no transaction open while the recording is decoded and embedded
    result = identify_recording(source, work_dir, records, profiles, _no_repair(options), progress)
    write_lock(session.connection())  # the clerks' changes meanwhile are seen: a clerk's link is never overwritten
    write = store.own_running_job(session, job_id=job_id, worker_id=worker_id)
    named = 0
    fields = speaker_fields(session, meeting, result.matches)
    for label, match in result.matches.items():
        speaker = speakers[int(label)]
        if speaker.person_confirmed:
            continue
        _clear_link(speaker)
        for name, value in fields.get(label, {}).items():
            setattr(speaker, name, value)
        named += match.person is not None
        session.add(speaker)
    store.audit.record(
        session, actor=actor, action="meeting.identify", target_type="meeting", target_id=meeting.id,
        after={"named": named, "speakers": len(result.matches), "job": job_id},
    )  # fmt: skip
    store.mark_succeeded(session, job=write, stage_seconds={})
    return named


def _no_repair(options: PipelineOptions) -> PipelineOptions:
    return replace(options, identify=replace(options.identify, repair=False))


def _clear_link(speaker: Speaker) -> None:
    speaker.person_id = None
    speaker.suggested_person_id = None
    speaker.person_score = None


def add_meeting_voices(session: Session, job_id: int, worker_id: str, source: Path, work_dir: Path, actor: str) -> int:
    """The ``voices`` job: the voices of a finalized meeting's speakers linked to people, added to their profiles.
    Returns how many people's profiles grew."""
    job = store.own_running_job(session, job_id=job_id, worker_id=worker_id, finalized_ok=True)
    spans = linked_spans(session, job.meeting_id)
    session.rollback()
    voices = {}
    if spans:
        work_dir.mkdir(parents=True, exist_ok=True)
        decoded_path = work_dir / "audio-16k.f32"
        try:
            voices = meeting_voices(decode_to_file(source, decoded_path).samples(), spans)
        finally:
            decoded_path.unlink(missing_ok=True)
    write_lock(session.connection())
    job = store.own_running_job(session, job_id=job_id, worker_id=worker_id, finalized_ok=True)
    meeting = store.get_meeting(session, meeting_id=job.meeting_id)
    added = store_meeting_voices(session, meeting, voices, actor)
    store.mark_succeeded(session, job=job, stage_seconds={})
    return added

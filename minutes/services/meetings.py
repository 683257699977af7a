"""Meetings and their jobs: the list, a new meeting with its recording (queued for processing), the job's state,
cancel and retry, and the stored transcript as the CLI prints it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from sqlmodel import Session

from diarize import DiarizationOptions
from minutes import store
from minutes.errors import InputError, JobError
from minutes.pipeline import PipelineOptions
from minutes.pipeline.decode import probe
from minutes.pipeline.identify import IdentifyOptions
from minutes.pipeline.transcribe import TranscriptionOptions
from minutes.records import Caption, Term
from minutes.services.base import Service
from minutes.services.dictionary import recognition_terms
from minutes.services.permissions import Permission, check, hidden_meetings, require
from minutes.services.views import (
    JobState,
    JobView,
    MeetingSummary,
    TranscriptView,
    job_state,
    job_view,
    line_view,
    speaker_info,
    status_of,
)
from minutes.settings import Settings
from minutes.store.files import display_name, safe_suffix
from minutes.store.tables import JobStatus


def pipeline_options(
    settings: Settings,
    *,
    language: str | None = None,
    num_speakers: int | None = None,
    min_speakers: int | None = None,
    max_speakers: int | None = None,
    initial_prompt: str | None = None,
    hotwords: str | None = None,
    identify: bool = True,
    terms: tuple[Term, ...] = (),
) -> PipelineOptions:
    """The options a new job runs with: the settings in force (language, device, threads), the user's choices and
    the dictionary ``terms`` to favour (``minutes.services.dictionary.recognition_terms``)."""
    for name, value in (("話者数", num_speakers), ("最小話者数", min_speakers), ("最大話者数", max_speakers)):
        if value is not None and not 1 <= value <= 50:
            raise InputError(f"{name}は 1〜50 で指定してください。", f"{name}={value}")
    if min_speakers and max_speakers and min_speakers > max_speakers:
        raise InputError("最小話者数が最大話者数より大きくなっています。", f"{min_speakers} > {max_speakers}")
    device = settings.resolved_device()
    return PipelineOptions(
        transcription=TranscriptionOptions(
            language=language or settings.language,
            initial_prompt=initial_prompt or None,
            hotwords=hotwords or None,
            terms=tuple(terms),
            batch_size=settings.resolved_batch_size(),
            device=device,
            compute_type=settings.resolved_compute_type(),
            cpu_threads=settings.cpu_threads,
        ),
        diarization=DiarizationOptions(
            num_speakers=num_speakers, min_speakers=min_speakers, max_speakers=max_speakers, device=device
        ),
        identify=IdentifyOptions(enabled=identify),
    )


class MeetingsService(Service):
    """The meeting list, new meetings, and their jobs."""

    def meetings(self) -> list[MeetingSummary]:
        """The meetings this user may see, newest first, with their state."""
        with Session(self.engine) as session:
            hidden = hidden_meetings(session, self.user)
            return [
                MeetingSummary(
                    m.id,
                    m.title,
                    m.kind,
                    m.held_at,
                    m.place,
                    status_of(m, job),
                    job.progress if job is not None else 0.0,
                    m.created_at,
                )
                for m, job in store.list_meetings_with_jobs(session, org_id=self.user.org_id)
                if m.id not in hidden
            ]

    def pipeline_options(self, *, dictionary: bool = True, **choices) -> PipelineOptions:
        """:func:`pipeline_options` with the settings in force; with ``dictionary`` (the default) the job favours
        the assembly's dictionary and the built-in 議会用語 (the meeting's own words are added when the job starts)."""
        if dictionary:
            with Session(self.engine) as session:
                choices["terms"] = recognition_terms(session, org_id=self.user.org_id)
        return pipeline_options(self.settings, **choices)

    def create(
        self,
        recording: Path | BinaryIO,
        *,
        title: str,
        original_name: str | None = None,
        kind: str = "",
        held_at: datetime | None = None,
        place: str = "",
        options: PipelineOptions | None = None,
        model: Path | None = None,
        live_captions: Sequence[Caption] = (),
    ) -> tuple[int, int]:
        """Store the recording and queue its job; returns (meeting id, job id). Nothing is stored for a file that is
        not a usable recording at all (empty, not media, no audio track). A meeting transcribed live keeps its
        committed ``live_captions`` (to compare with the batch draft)."""
        require(self.user, Permission.CREATE_MEETING)
        title = title.strip()
        if not title:
            raise InputError("会議名を入力してください。", "empty title")
        options = options or self.pipeline_options()
        stored, name = self._store_recording(recording, original_name)
        try:
            with Session(self.engine) as session:
                meeting_id, job_id = self._add(session, stored, name, options, model, title, kind, held_at, place)
                if live_captions:
                    count = store.add_live_captions(session, meeting_id=meeting_id, captions=live_captions)
                    store.audit.record(
                        session,
                        actor=self.actor,
                        action="live_captions",
                        target_type="meeting",
                        target_id=meeting_id,
                        after={"captions": count},
                    )
                session.commit()
                return meeting_id, job_id
        except Exception:
            (self.settings.data_dir / stored.relative_path).unlink(missing_ok=True)
            raise

    def _store_recording(
        self, recording: Path | BinaryIO, original_name: str | None
    ) -> tuple[store.files.StoredFile, str]:
        """Copy the upload into the recordings folder (``YYYY/MM``); refuse it, keeping nothing, if it is no audio."""
        root = self.settings.data_dir
        folder = self.settings.recordings_dir / datetime.now().strftime("%Y/%m")
        max_bytes = self.settings.max_upload_mb * (1 << 20)
        if isinstance(recording, Path):
            probe(recording)
            return store.files.save_file(recording, root=root, folder=folder, max_bytes=max_bytes), display_name(
                original_name or recording.name
            )
        name = display_name(original_name or "recording")
        stored = store.files.save(recording, root=root, folder=folder, suffix=safe_suffix(name), max_bytes=max_bytes)
        try:
            probe(root / stored.relative_path)
        except InputError:
            (root / stored.relative_path).unlink(missing_ok=True)
            raise
        return stored, name

    def _add(self, session: Session, stored, name, options, model, title, kind, held_at, place) -> tuple[int, int]:
        meeting = store.create_meeting(
            session, title=title[:200], kind=kind, held_at=held_at, place=place, org_id=self.user.org_id
        )
        recording = store.add_recording(
            session,
            meeting_id=meeting.id,
            original_name=name,
            stored_path=stored.relative_path,
            size_bytes=stored.size_bytes,
            sha256=stored.sha256,
        )
        job = store.enqueue_job(
            session,
            meeting_id=meeting.id,
            recording_id=recording.id,
            options=options.to_dict(),
            model=str(model) if model else "",
        )
        store.audit.record(
            session,
            actor=self.actor,
            action="create",
            target_type="meeting",
            target_id=meeting.id,
            after={"title": meeting.title, "kind": kind, "job": job.id},
        )
        store.audit.record(
            session,
            actor=self.actor,
            action="upload",
            target_type="recording",
            target_id=recording.id,
            after={"meeting": meeting.id, "name": name, "bytes": stored.size_bytes, "sha256": stored.sha256},
        )
        return meeting.id, job.id

    def live_captions(self, meeting_id: int) -> list[Caption]:
        """The committed captions of a meeting transcribed live, in order (none for a recording uploaded)."""
        with Session(self.engine) as session:
            self._readable(session, meeting_id)
            return store.live_captions_of(session, meeting_id=meeting_id)

    def job(self, job_id: int) -> JobView:
        with Session(self.engine) as session:
            job = store.get_job(session, job_id=job_id)
            self._readable(session, job.meeting_id)
            return job_view(job)

    def cancel_job(self, job_id: int) -> JobView:
        """Cancel a queued job at once; ask a running one to stop at its next progress report."""
        return self._change_job(job_id, store.request_cancel)

    def retry_job(self, job_id: int) -> JobView:
        """Queue a failed or cancelled job again (its stored recording is reused)."""
        return self._change_job(job_id, store.retry_job)

    def _change_job(self, job_id: int, change) -> JobView:
        with Session(self.engine) as session:
            job = store.get_job(session, job_id=job_id)
            # a re-run of the speaker separation is an edit: those who may edit may cancel or retry it too
            permission = (
                Permission.EDIT if store.job_kind(job) == store.JobKind.REDIARIZE else Permission.CREATE_MEETING
            )
            require(self.user, permission)
            check(session, self.user, permission, job.meeting_id)
            job = change(session, job_id=job_id)
            session.commit()
            return job_view(job)

    def rediarize(
        self,
        meeting_id: int,
        *,
        num_speakers: int | None = None,
        min_speakers: int | None = None,
        max_speakers: int | None = None,
    ) -> JobView:
        """Queue speaker separation again for a transcribed meeting, with a speaker count (or bounds): the worker
        decodes and diarizes the recording (no transcription) and then gives the stored utterances new speakers and
        boundaries, every text edit kept (``minutes.services.rediarization``). Needs the edit permission on a draft;
        refused while the meeting's transcription or another re-run is queued or running."""
        options = self.pipeline_options(
            dictionary=False, num_speakers=num_speakers, min_speakers=min_speakers, max_speakers=max_speakers
        )
        request = {"num_speakers": num_speakers, "min_speakers": min_speakers, "max_speakers": max_speakers}
        return self._queue_stored_job(
            meeting_id, store.JobKind.REDIARIZE, options, "話者の分け直し", "rediarize_request", request
        )

    def identify(self, meeting_id: int) -> JobView:
        """Queue identification again for a transcribed meeting (after voice profiles were added or deleted): the
        worker matches the stored speakers' voices to the profiles; speakers a clerk linked to a person keep them."""
        options = self.pipeline_options(dictionary=False)
        kind = store.JobKind.IDENTIFY
        return self._queue_stored_job(meeting_id, kind, options, "発言者の特定", "identify_request", {})

    def _queue_stored_job(
        self, meeting_id: int, kind: str, options: PipelineOptions, what: str, action: str, request: dict
    ) -> JobView:
        """Queue a job that works on a transcribed draft's stored utterances and its recording (``kind``); ``what``
        names it for the clerk. Needs the edit permission; refused while one of its kind is queued or running."""
        with Session(self.engine) as session:
            self._editable(session, meeting_id)
            transcription = store.latest_job(session, meeting_id=meeting_id)
            if transcription is None or transcription.status != JobStatus.SUCCEEDED:
                raise JobError(f"文字起こしが完了していないため、{what}はできません。", "transcription not succeeded")
            running = store.latest_job(session, meeting_id=meeting_id, kind=kind)
            if running is not None and running.status in (JobStatus.QUEUED, JobStatus.RUNNING):
                raise JobError(f"{what}はすでに実行中です。完了までお待ちください。", f"job {running.id}")
            if not store.count_utterances(session, meeting_id=meeting_id):
                raise JobError(f"この会議には発言がないため、{what}はできません。", "no utterances")
            recording = store.get_recording(session, recording_id=transcription.recording_id)
            if not (self.settings.data_dir / recording.stored_path).is_file():
                raise JobError(
                    f"録音ファイルが見つからないため、{what}はできません。管理者に連絡してください。",
                    f"missing {recording.stored_path}",
                )
            job = store.enqueue_job(
                session,
                meeting_id=meeting_id,
                recording_id=recording.id,
                options=options.to_dict() | {"kind": kind, "requested_by": self.actor},
            )
            detail = request | {"job": job.id}
            store.add_event(session, meeting_id=meeting_id, action=action, actor=self.actor, detail=detail)
            session.commit()
            return job_view(job)

    def speaker_job(self, meeting_id: int, kind: str = store.JobKind.REDIARIZE) -> JobState | None:
        """The latest re-run of the speaker separation (or, with ``kind`` identify, of the identification) of the
        meeting (None if there never was one)."""
        with Session(self.engine) as session:
            self._readable(session, meeting_id)
            return job_state(store.latest_job(session, meeting_id=meeting_id, kind=kind))

    def identify_job(self, meeting_id: int) -> JobState | None:
        """The latest identification again (``identify``) of the meeting (None if there never was one)."""
        return self.speaker_job(meeting_id, store.JobKind.IDENTIFY)

    def transcript(self, meeting_id: int) -> TranscriptView:
        """The whole stored transcript (the CLI's output)."""
        with Session(self.engine) as session:
            meeting = self._readable(session, meeting_id)
            numbers = store.speaker_numbers(session, meeting_id=meeting_id)
            speakers = tuple(
                speaker_info(s, numbers.get(s.id, 0)) for s in store.speakers_of(session, meeting_id=meeting_id)
            )
            utterances = tuple(line_view(u) for u in store.utterances_of(session, meeting_id=meeting_id))
            job = store.latest_job(session, meeting_id=meeting_id)
            duration = None
            if job is not None:
                duration = store.get_recording(session, recording_id=job.recording_id).duration
            return TranscriptView(meeting.id, meeting.title, meeting.language, duration, speakers, utterances)

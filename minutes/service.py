"""The service layer: what the CLI and the app do, over the repository, the stored files and the worker."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from sqlmodel import Session

from diarize import DiarizationOptions
from minutes import admin, audit, auth, repository
from minutes.audio import probe
from minutes.auth import Permission, Principal, require
from minutes.database import make_engine, migrate
from minutes.errors import InputError
from minutes.pipeline import PipelineOptions
from minutes.settings import Settings, pinned
from minutes.transcribe import TranscriptionOptions
from minutes.uploads import display_name, store, store_path
from minutes.whisper_model import resolve_model


@dataclass(frozen=True)
class SpeakerView:
    id: int
    label: str
    name: str | None
    role: str | None

    @property
    def display(self) -> str:
        return " ".join(part for part in (self.role, self.name) if part) or self.label


@dataclass(frozen=True)
class UtteranceView:
    id: int
    seq: int
    speaker: SpeakerView
    start: float
    end: float
    text: str
    words: tuple[dict, ...]
    edited: bool
    version: int


@dataclass(frozen=True)
class JobView:
    id: int
    meeting_id: int
    status: str
    stage: str
    progress: float
    error_message: str | None
    error_detail: str | None
    attempts: int
    options: dict
    model: str
    stage_seconds: dict


@dataclass(frozen=True)
class TranscriptView:
    meeting_id: int
    title: str
    language: str
    duration: float | None
    speakers: tuple[SpeakerView, ...]
    utterances: tuple[UtteranceView, ...] = field(default_factory=tuple)


def _job_view(job) -> JobView:
    return JobView(
        job.id,
        job.meeting_id,
        job.status,
        job.stage,
        job.progress,
        job.error_message,
        job.error_detail,
        job.attempts,
        dict(job.options),
        job.model,
        dict(job.stage_seconds),
    )


class MinutesService:
    """One per process. Thread-safe: every call opens its own session."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.base_settings = settings or Settings.from_env()
        self.pinned = pinned()  # variables set in the environment: they win over values stored in the app
        self.base_settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.engine = make_engine(self.base_settings.database_url)
        migrate(self.engine)
        self._model_lock = threading.Lock()
        self._model_paths: dict[Path | None, Path] = {}

    @property
    def settings(self) -> Settings:
        """The settings in force now: the environment's, with what an administrator changed on the 管理 page (one
        small query, so a change applies to the next action of every process)."""
        with Session(self.engine) as session:
            return admin.current(session, self.base_settings, self.pinned)

    # ------------------------------------------------------------ models

    def whisper_model_path(self, override: Path | None = None) -> Path:
        """The Whisper model folder (assembled and verified once per process)."""
        if override is not None:
            return resolve_model(self.settings.models_dir, override)
        settings = self.settings
        with self._model_lock:
            if settings.whisper_model not in self._model_paths:
                self._model_paths[settings.whisper_model] = resolve_model(settings.models_dir, settings.whisper_model)
            return self._model_paths[settings.whisper_model]

    def pipeline_options(
        self,
        *,
        language: str | None = None,
        num_speakers: int | None = None,
        min_speakers: int | None = None,
        max_speakers: int | None = None,
        initial_prompt: str | None = None,
        hotwords: str | None = None,
    ) -> PipelineOptions:
        for name, value in (("話者数", num_speakers), ("最小話者数", min_speakers), ("最大話者数", max_speakers)):
            if value is not None and not 1 <= value <= 50:
                raise InputError(f"{name}は 1〜50 で指定してください。", f"{name}={value}")
        if min_speakers and max_speakers and min_speakers > max_speakers:
            raise InputError("最小話者数が最大話者数より大きくなっています。", f"{min_speakers} > {max_speakers}")
        settings = self.settings
        device = settings.resolved_device()
        return PipelineOptions(
            transcription=TranscriptionOptions(
                language=language or settings.language,
                initial_prompt=initial_prompt or None,
                hotwords=hotwords or None,
                batch_size=settings.resolved_batch_size(),
                device=device,
                compute_type=settings.resolved_compute_type(),
                cpu_threads=settings.cpu_threads,
            ),
            diarization=DiarizationOptions(
                num_speakers=num_speakers, min_speakers=min_speakers, max_speakers=max_speakers, device=device
            ),
        )

    # ------------------------------------------------------------ meetings

    def create_meeting(
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
        user: Principal | None = None,
        actor: str = "",
    ) -> tuple[int, int]:
        """Store the recording and queue its job; returns (meeting id, job id). Nothing is stored for a file that is
        not a usable recording at all (empty, not media, no audio track). ``user``: the signed-in user (needs the
        create permission); ``actor``: the name recorded otherwise (the CLI's operating-system user)."""
        require(user, Permission.CREATE_MEETING)
        actor = user.name if user is not None else (actor or "system")
        title = title.strip()
        if not title:
            raise InputError("会議名を入力してください。", "empty title")
        options = options or self.pipeline_options()
        max_bytes = self.settings.max_upload_mb * (1 << 20)
        subfolder = datetime.now().strftime("%Y/%m")
        if isinstance(recording, Path):
            probe(recording)
            stored = store_path(self.settings.data_dir, recording, subfolder=subfolder, max_bytes=max_bytes)
            name = display_name(original_name or recording.name)
        else:
            name = display_name(original_name or "recording")
            stored = store(
                self.settings.data_dir, recording, original_name=name, subfolder=subfolder, max_bytes=max_bytes
            )
            try:
                probe(self.settings.data_dir / stored.relative_path)
            except InputError:
                (self.settings.data_dir / stored.relative_path).unlink(missing_ok=True)
                raise
        model_path = str(model) if model else ""
        try:
            with Session(self.engine) as session:
                meeting = repository.create_meeting(session, title=title[:200], kind=kind, held_at=held_at, place=place)
                stored_recording = repository.add_recording(
                    session,
                    meeting_id=meeting.id,
                    original_name=name,
                    stored_path=stored.relative_path,
                    size_bytes=stored.size_bytes,
                    sha256=stored.sha256,
                )
                job = repository.enqueue_job(
                    session,
                    meeting_id=meeting.id,
                    recording_id=stored_recording.id,
                    options=options.to_dict(),
                    model=model_path,
                )
                audit.record(
                    session,
                    actor=actor,
                    action="create",
                    target_type="meeting",
                    target_id=meeting.id,
                    after={"title": meeting.title, "kind": kind, "job": job.id},
                )
                audit.record(
                    session,
                    actor=actor,
                    action="upload",
                    target_type="recording",
                    target_id=stored_recording.id,
                    after={"meeting": meeting.id, "name": name, "bytes": stored.size_bytes, "sha256": stored.sha256},
                )
                session.commit()
                return meeting.id, job.id
        except Exception:
            (self.settings.data_dir / stored.relative_path).unlink(missing_ok=True)
            raise

    def job(self, job_id: int) -> JobView:
        with Session(self.engine) as session:
            return _job_view(repository.get_job(session, job_id=job_id))

    def cancel_job(self, job_id: int, user: Principal | None = None) -> JobView:
        require(user, Permission.CREATE_MEETING)
        with Session(self.engine) as session:
            job = repository.request_cancel(session, job_id=job_id)
            session.commit()
            return _job_view(job)

    def retry_job(self, job_id: int, user: Principal | None = None) -> JobView:
        require(user, Permission.CREATE_MEETING)
        with Session(self.engine) as session:
            job = repository.retry_job(session, job_id=job_id)
            session.commit()
            return _job_view(job)

    def transcript(self, meeting_id: int, user: Principal | None = None) -> TranscriptView:
        with Session(self.engine) as session:
            meeting = auth.check(session, user, Permission.READ, meeting_id)
            speakers = {
                s.id: SpeakerView(s.id, s.label, s.name, s.role)
                for s in repository.speakers_of(session, meeting_id=meeting_id)
            }
            utterances = tuple(
                UtteranceView(
                    u.id, u.seq, speakers[u.speaker_id], u.start, u.end, u.text, tuple(u.words), u.edited, u.version
                )
                for u in repository.utterances_of(session, meeting_id=meeting_id)
            )
            job = repository.latest_job(session, meeting_id=meeting_id)
            duration = None
            if job is not None:
                duration = repository.get_recording(session, recording_id=job.recording_id).duration
            return TranscriptView(
                meeting.id, meeting.title, meeting.language, duration, tuple(speakers.values()), utterances
            )

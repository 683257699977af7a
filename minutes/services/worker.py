"""The job worker: claims queued jobs, runs the pipeline, stores results, survives crashes.

- Claiming is one conditional UPDATE, so two workers (threads or processes) never run the same job.
- A heartbeat thread keeps ``heartbeat_at`` fresh and picks up cancel requests while the pipeline runs.
- On start a worker requeues jobs left running by a process that died (same host, dead pid) or whose heartbeat is stale.
- Errors are caught here and written to the job for the clerk; the stored recording is always kept. A full disk
  (ENOSPC anywhere in a job, or SQLite's "disk is full") fails the job with a message that says so and what to free;
  the job can be retried once space is freed, and the worker loop keeps running.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import traceback
import uuid
from pathlib import Path

from sqlmodel import Session

from minutes import store
from minutes.diskspace import RETRY_JOB, disk_full, is_disk_full
from minutes.errors import JobCancelled, MinutesError
from minutes.pipeline import PipelineOptions, run_pipeline
from minutes.pipeline.rediarize import REDIARIZE_WEIGHTS, separate_speakers
from minutes.processes import pid_alive
from minutes.progress import OverallProgress, ProgressCallback
from minutes.services.corrections import with_cleanup
from minutes.services.dictionary import with_meeting_terms
from minutes.services.identification import (
    add_meeting_voices,
    identification_inputs,
    identify_stored,
    speaker_fields,
)
from minutes.services.live_job import LiveRun, apply_live_marks
from minutes.services.rediarization import apply_rediarization
from minutes.store.engine import write_lock
from minutes.store.files import remove_tree
from minutes.store.tables import JobStatus

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
UNEXPECTED_ERROR = (
    "予期しないエラーで処理が止まりました。「再試行」してください。繰り返す場合は管理者に連絡してください"
    "（詳細はジョブの記録にあります）。"
)


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Worker:
    """Runs jobs for one :class:`~minutes.services.Runtime`. Use ``run_forever`` in a thread or process, or
    ``run_job`` directly."""

    def __init__(self, runtime, *, worker_id: str | None = None, heartbeat_interval: float = 5.0) -> None:
        self.runtime = runtime
        self.worker_id = worker_id or new_worker_id()
        self.heartbeat_interval = heartbeat_interval

    # ------------------------------------------------------------ recovery

    def recover(self) -> list[int]:
        """Requeue jobs abandoned by dead workers; returns their ids."""
        host = socket.gethostname()
        timeout = self.runtime.settings.job_heartbeat_timeout
        recovered = []
        with Session(self.runtime.engine) as session:
            running = [
                (job.id, job.worker_id, store.is_stale(job, timeout=timeout)) for job in store.running_jobs(session)
            ]
        for job_id, owner, stale in running:
            owner_host, _, rest = (owner or "").partition(":")
            pid = int(rest.split(":", 1)[0]) if rest.split(":", 1)[0].isdigit() else None
            dead = owner_host == host and pid is not None and pid != os.getpid() and not pid_alive(pid)
            if dead or stale:
                status = store.requeue_job(
                    self.runtime.engine, job_id=job_id, worker_id=owner, give_up_after=MAX_ATTEMPTS
                )
                log.info("job %s abandoned by %s: now %s", job_id, owner, status)
                for leftover in self.runtime.settings.work_dir.glob(f"job-{job_id}-*"):
                    remove_tree(leftover)  # the dead worker's decoded audio; the stored recording stays
                recovered.append(job_id)
        return recovered

    # ------------------------------------------------------------ running

    def run_once(self, listener: ProgressCallback | None = None) -> int | None:
        """Claim and run the oldest queued job; returns its id, or None when there was nothing to do."""
        job_id = store.claim_next_job(self.runtime.engine, worker_id=self.worker_id)
        if job_id is not None:
            self._execute(job_id, listener)
        return job_id

    def run_job(self, job_id: int, listener: ProgressCallback | None = None) -> str:
        """Claim and run one given job (the CLI's in-process path); returns its final status."""
        self.take(job_id, listener)
        with Session(self.runtime.engine) as session:
            return store.get_job(session, job_id=job_id).status

    def take(self, job_id: int, listener: ProgressCallback | None = None) -> bool:
        """Claim and run one given job; False, doing nothing, when it is not queued (another worker has it, or it
        ended or was cancelled): a queue's message delivered twice runs its job once."""
        if not store.claim_job(self.runtime.engine, job_id=job_id, worker_id=self.worker_id):
            return False
        self._execute(job_id, listener)
        return True

    def run_forever(self, stop: threading.Event, poll_interval: float = 2.0) -> None:
        last_recovery: float | None = None  # recovery runs first, inside the loop: a full disk must not end it
        while not stop.is_set():
            try:
                if last_recovery is None or (
                    time.monotonic() - last_recovery > self.runtime.settings.job_heartbeat_timeout
                ):
                    self.recover()
                    last_recovery = time.monotonic()
                if self.run_once() is None:
                    stop.wait(poll_interval)
            except Exception as error:  # the loop must survive a broken database connection, a full disk and the like
                if is_disk_full(error):
                    log.error("worker: the disk is full; waiting for space (%s)", error)
                else:
                    log.exception("worker loop error")
                stop.wait(poll_interval)

    def _execute(self, job_id: int, listener: ProgressCallback | None) -> None:
        engine = self.runtime.engine
        with Session(engine) as session:
            job = store.get_job(session, job_id=job_id)
            org_id = store.get_meeting(session, meeting_id=job.meeting_id).org_id
            settings = self.runtime.settings_for(org_id)  # the meeting's organisation's (ケバ取り words, limits)
            recording = store.get_recording(session, recording_id=job.recording_id)
            source = settings.data_dir / recording.stored_path
            options = PipelineOptions.from_dict(job.options)
            model_override = Path(job.model) if job.model else None
            kind, requested_by = store.job_kind(job), str(job.options.get("requested_by") or "system")
            meeting_id = job.meeting_id
            if kind == store.JobKind.TRANSCRIBE:  # the meeting's agenda and materials, as they are now; kept
                options = with_meeting_terms(session, job.meeting_id, options)
                options = with_cleanup(session, settings, options, org_id)  # the rules and ケバ取り words in force
                store.set_job_options(session, job=job, options=job.options | options.to_dict())
                session.commit()
        progress = _JobProgress(engine, job_id, self.worker_id, listener)
        heartbeat = threading.Thread(
            target=progress.beat, args=(self.heartbeat_interval,), name=f"job-{job_id}-heartbeat", daemon=True
        )
        heartbeat.start()
        work_dir = settings.work_dir / f"job-{job_id}-{self.worker_id.rsplit(':', 1)[-1]}"
        try:
            if kind == store.JobKind.LIVE:  # runs until 散会; then the meeting's transcription is queued
                model_path = self.runtime.whisper_model_path(model_override, settings)
                LiveRun(engine, settings, job_id, model_path, progress).run()
                store.finish_job(engine, job_id=job_id, worker_id=self.worker_id, status=JobStatus.SUCCEEDED)
                return
            if kind != store.JobKind.TRANSCRIBE:  # work on a stored meeting: no transcription
                self._stored_meeting_job(kind, job_id, source, work_dir, options, requested_by, progress)
                if listener is not None:
                    listener("done", 100.0, 100.0)
                return
            model_path = self.runtime.whisper_model_path(model_override, settings)
            with Session(engine) as session:
                profiles, chairs = identification_inputs(session, meeting_id, options)
            result = run_pipeline(
                source,
                work_dir,
                model_path,
                options,
                OverallProgress(progress),
                max_duration=settings.max_duration_hours * 3600,
                profiles=profiles,
                chairs=chairs,
            )
            with Session(engine) as session:
                meeting = store.get_meeting(session, meeting_id=meeting_id)
                store.save_result(
                    session,
                    job_id=job_id,
                    worker_id=self.worker_id,
                    language=result.language,
                    duration=result.duration,
                    speakers=result.speakers,
                    utterances=result.utterances,
                    stage_seconds=result.stage_seconds,
                    model=str(model_path),
                    speaker_fields=speaker_fields(session, meeting, result.people),
                )
                apply_live_marks(session, meeting_id)  # a meeting transcribed live: the clerk's marks
                session.commit()
            if listener is not None:
                listener("done", 100.0, 100.0)
        except JobCancelled:
            store.finish_job(engine, job_id=job_id, worker_id=self.worker_id, status=JobStatus.CANCELLED)
        except Exception as error:
            self._fail(job_id, error)
        finally:
            progress.done.set()
            heartbeat.join(timeout=self.heartbeat_interval + 5)
            remove_tree(work_dir)

    def _stored_meeting_job(
        self, kind: str, job_id: int, source: Path, work_dir: Path, options: PipelineOptions, actor: str,
        progress: _JobProgress,
    ) -> None:  # fmt: skip
        """A job on a stored meeting: speaker separation again, identification again, or voices for the profiles."""
        if kind == store.JobKind.REDIARIZE:
            self._rediarize(job_id, source, work_dir, options, actor, progress)
            return
        overall = OverallProgress(progress, {"decode": 30.0, "identify": 70.0})
        with Session(self.runtime.engine) as session:
            if kind == store.JobKind.IDENTIFY:
                identify_stored(session, job_id, self.worker_id, source, work_dir, options, actor, overall)
            else:
                add_meeting_voices(session, job_id, self.worker_id, source, work_dir, actor)
            session.commit()

    def _rediarize(
        self, job_id: int, source: Path, work_dir: Path, options: PipelineOptions, actor: str, progress: _JobProgress
    ) -> None:
        """A ``rediarize`` job: decode and diarize the recording, then new speakers for the stored utterances, every
        text edit kept (``minutes.services.rediarization``), recorded as the work of ``actor`` who asked for it."""
        overall = OverallProgress(progress, REDIARIZE_WEIGHTS)
        separated = separate_speakers(
            source,
            work_dir,
            options.diarization,
            overall,
            max_duration=self.runtime.settings.max_duration_hours * 3600,
        )
        overall("assign", 0, 1)
        request = {key: getattr(options.diarization, key) for key in ("num_speakers", "min_speakers", "max_speakers")}
        with Session(self.runtime.engine) as session:
            write_lock(session.connection())
            job = store.own_running_job(session, job_id=job_id, worker_id=self.worker_id)
            apply_rediarization(
                session,
                meeting_id=job.meeting_id,
                turns=separated.turns,
                actor=actor,
                options=options.assign,
                request=request | {"job": job_id},
            )
            store.mark_succeeded(session, job=job, stage_seconds=separated.stage_seconds)
            session.commit()

    def _fail(self, job_id: int, error: Exception) -> None:
        """Write why the job failed: the error's own message for the clerk, a full disk as such (what to free, how
        much is free), or, for anything unexpected (a bug or an environment problem), a general message with the
        details kept for administrators. When even that cannot be written because the disk is full, the disk-full
        error rises (the CLI prints it; the worker loop logs it and goes on; recovery requeues the job later)."""
        if is_disk_full(error) and not isinstance(error, MinutesError):
            error = disk_full(self.runtime.base_settings.data_dir, error, then=RETRY_JOB)
            log.info("job %s failed: %s", job_id, error.detail)
        if isinstance(error, MinutesError):
            message, detail = error.message, error.detail or type(error).__name__
        else:
            log.exception("job %s failed", job_id)
            message = UNEXPECTED_ERROR
            detail = "".join(traceback.format_exception_only(error)).strip()[-2000:]
        try:
            store.finish_job(
                self.runtime.engine,
                job_id=job_id,
                worker_id=self.worker_id,
                status=JobStatus.FAILED,
                error_message=message,
                error_detail=detail,
            )
        except Exception as failure:
            if not is_disk_full(failure):
                raise
            raise disk_full(self.runtime.base_settings.data_dir, failure, then=RETRY_JOB) from None


class _JobProgress:
    """The running job's progress: written to the job row (at most once a second, and at each new stage), passed on
    to ``listener``, and beaten by a heartbeat thread; raises JobCancelled once a cancel was asked for."""

    def __init__(self, engine, job_id: int, worker_id: str, listener: ProgressCallback | None) -> None:
        self.engine, self.job_id, self.worker_id, self.listener = engine, job_id, worker_id, listener
        self.stage, self.percent = "decode", 0.0
        self.cancelled = threading.Event()
        self.done = threading.Event()
        self._last_write = 0.0

    def _report(self) -> None:
        if store.report_progress(
            self.engine, job_id=self.job_id, worker_id=self.worker_id, stage=self.stage, progress=self.percent
        ):
            self.cancelled.set()

    def beat(self, interval: float) -> None:
        while not self.done.wait(interval):
            try:
                self._report()
            except Exception as error:
                if is_disk_full(error):  # told once, by the job's failure; not a traceback every beat
                    log.info("heartbeat not written: the disk is full (%s)", error)
                else:
                    log.exception("heartbeat failed")

    def __call__(self, stage: str, done: float, total: float, message: str = "") -> None:
        if self.cancelled.is_set():
            raise JobCancelled("処理を取り消しました。", "cancel requested")
        changed = stage != self.stage
        self.stage, self.percent = stage, done
        if self.listener is not None:
            self.listener(stage, done, total, message)
        now = time.monotonic()
        if changed or now - self._last_write >= 1.0:
            self._last_write = now
            self._report()
            if self.cancelled.is_set():
                raise JobCancelled("処理を取り消しました。", "cancel requested")


def start_background_worker(runtime, poll_interval: float = 2.0) -> tuple[threading.Thread, threading.Event]:
    """The in-process worker used by default: one daemon thread."""
    stop = threading.Event()
    worker = Worker(runtime)
    thread = threading.Thread(target=worker.run_forever, args=(stop, poll_interval), name="minutes-worker", daemon=True)
    thread.start()
    return thread, stop

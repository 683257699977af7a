"""The job worker: claims queued jobs, runs the pipeline, stores results, survives crashes.

- Claiming is one conditional UPDATE, so two workers (threads or processes) never run the same job.
- A heartbeat thread keeps ``heartbeat_at`` fresh and picks up cancel requests while the pipeline runs.
- On start a worker requeues jobs left running by a process that died (same host, dead pid) or whose heartbeat is stale.
- Errors are caught here and written to the job for the clerk; the stored recording is always kept.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from pathlib import Path

from sqlmodel import Session

from minutes import repository
from minutes.errors import JobCancelled, MinutesError
from minutes.pipeline import PipelineOptions, run_pipeline
from minutes.progress import OverallProgress
from minutes.tables import JobStatus
from minutes.uploads import remove_tree

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
UNEXPECTED_ERROR = (
    "予期しないエラーで処理が止まりました。「再試行」してください。繰り返す場合は管理者に連絡してください"
    "（詳細はジョブの記録にあります）。"
)

ProgressListener = Callable[[str, float], None]


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Worker:
    """Runs jobs for one ``MinutesService``. Use ``run_forever`` in a thread or process, or ``run_job`` directly."""

    def __init__(self, service, *, worker_id: str | None = None, heartbeat_interval: float = 5.0) -> None:
        self.service = service
        self.worker_id = worker_id or new_worker_id()
        self.heartbeat_interval = heartbeat_interval

    # ------------------------------------------------------------ recovery

    def recover(self) -> list[int]:
        """Requeue jobs abandoned by dead workers; returns their ids."""
        host = socket.gethostname()
        timeout = self.service.settings.job_heartbeat_timeout
        recovered = []
        with Session(self.service.engine) as session:
            running = [
                (job.id, job.worker_id, repository.is_stale(job, timeout=timeout))
                for job in repository.running_jobs(session)
            ]
        for job_id, owner, stale in running:
            owner_host, _, rest = (owner or "").partition(":")
            pid = int(rest.split(":", 1)[0]) if rest.split(":", 1)[0].isdigit() else None
            dead = owner_host == host and pid is not None and pid != os.getpid() and not _pid_alive(pid)
            if dead or stale:
                status = repository.requeue_job(
                    self.service.engine, job_id=job_id, worker_id=owner, give_up_after=MAX_ATTEMPTS
                )
                log.info("job %s abandoned by %s: now %s", job_id, owner, status)
                for leftover in self.service.settings.work_dir.glob(f"job-{job_id}-*"):
                    remove_tree(leftover)  # the dead worker's decoded audio; the stored recording stays
                recovered.append(job_id)
        return recovered

    # ------------------------------------------------------------ running

    def run_once(self, listener: ProgressListener | None = None) -> int | None:
        """Claim and run the oldest queued job; returns its id, or None when there was nothing to do."""
        job_id = repository.claim_next_job(self.service.engine, worker_id=self.worker_id)
        if job_id is not None:
            self._execute(job_id, listener)
        return job_id

    def run_job(self, job_id: int, listener: ProgressListener | None = None) -> str:
        """Claim and run one given job (the CLI's in-process path); returns its final status."""
        if repository.claim_job(self.service.engine, job_id=job_id, worker_id=self.worker_id):
            self._execute(job_id, listener)
        with Session(self.service.engine) as session:
            return repository.get_job(session, job_id=job_id).status

    def run_forever(self, stop: threading.Event, poll_interval: float = 2.0) -> None:
        self.recover()
        last_recovery = time.monotonic()
        while not stop.is_set():
            try:
                if time.monotonic() - last_recovery > self.service.settings.job_heartbeat_timeout:
                    self.recover()
                    last_recovery = time.monotonic()
                if self.run_once() is None:
                    stop.wait(poll_interval)
            except Exception:  # the loop must survive a broken database connection and the like
                log.exception("worker loop error")
                stop.wait(poll_interval)

    def _execute(self, job_id: int, listener: ProgressListener | None) -> None:
        engine, settings = self.service.engine, self.service.settings
        with Session(engine) as session:
            job = repository.get_job(session, job_id=job_id)
            recording = repository.get_recording(session, recording_id=job.recording_id)
            source = settings.data_dir / recording.stored_path
            options = PipelineOptions.from_dict(job.options)
            model_override = Path(job.model) if job.model else None
        state = {"stage": "decode", "percent": 0.0}
        cancelled = threading.Event()
        done = threading.Event()

        def beat() -> None:
            while not done.wait(self.heartbeat_interval):
                try:
                    if repository.report_progress(
                        engine, job_id=job_id, worker_id=self.worker_id, stage=state["stage"], progress=state["percent"]
                    ):
                        cancelled.set()
                except Exception:
                    log.exception("heartbeat failed")

        last_write = [0.0]

        def sink(stage: str, percent: float, message: str) -> None:
            if cancelled.is_set():
                raise JobCancelled("処理を取り消しました。", "cancel requested")
            changed = stage != state["stage"]
            state.update(stage=stage, percent=percent)
            if listener is not None:
                listener(stage, percent)
            now = time.monotonic()
            if changed or now - last_write[0] >= 1.0:
                last_write[0] = now
                if repository.report_progress(
                    engine, job_id=job_id, worker_id=self.worker_id, stage=stage, progress=percent
                ):
                    cancelled.set()
                    raise JobCancelled("処理を取り消しました。", "cancel requested")

        heartbeat = threading.Thread(target=beat, name=f"job-{job_id}-heartbeat", daemon=True)
        heartbeat.start()
        work_dir = settings.work_dir / f"job-{job_id}-{self.worker_id.rsplit(':', 1)[-1]}"
        try:
            model_path = self.service.whisper_model_path(model_override)
            result = run_pipeline(
                source,
                work_dir,
                model_path,
                options,
                OverallProgress(sink),
                max_duration=settings.max_duration_hours * 3600,
            )
            with Session(engine) as session:
                repository.save_result(
                    session,
                    job_id=job_id,
                    worker_id=self.worker_id,
                    language=result.language,
                    duration=result.duration,
                    speakers=result.speakers,
                    utterances=result.utterances,
                    stage_seconds=result.stage_seconds,
                )
                job = repository.get_job(session, job_id=job_id)
                job.model = str(model_path)
                session.add(job)
                session.commit()
            if listener is not None:
                listener("done", 100.0)
        except JobCancelled:
            repository.finish_job(engine, job_id=job_id, worker_id=self.worker_id, status=JobStatus.CANCELLED)
        except MinutesError as error:
            repository.finish_job(
                engine,
                job_id=job_id,
                worker_id=self.worker_id,
                status=JobStatus.FAILED,
                error_message=error.message,
                error_detail=error.detail or type(error).__name__,
            )
        except Exception as error:  # anything else is a bug or an environment problem: keep the details for admins
            log.exception("job %s failed", job_id)
            repository.finish_job(
                engine,
                job_id=job_id,
                worker_id=self.worker_id,
                status=JobStatus.FAILED,
                error_message=UNEXPECTED_ERROR,
                error_detail="".join(traceback.format_exception_only(error)).strip()[-2000:],
            )
        finally:
            done.set()
            heartbeat.join(timeout=self.heartbeat_interval + 5)
            remove_tree(work_dir)


def start_background_worker(service, poll_interval: float = 2.0) -> tuple[threading.Thread, threading.Event]:
    """The in-process worker used by default: one daemon thread."""
    stop = threading.Event()
    worker = Worker(service)
    thread = threading.Thread(target=worker.run_forever, args=(stop, poll_interval), name="minutes-worker", daemon=True)
    thread.start()
    return thread, stop

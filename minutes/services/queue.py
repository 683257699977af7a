"""Jobs on a distributed queue: Celery with Redis, switched on by ``MINUTES_QUEUE_URL``.

The job table stays the record of truth (state, progress, result, cancel, retry); Celery only carries "run job N"
messages, on the queue ``cpu`` or ``gpu``:

- A **dispatcher** (a thread in every ``minutes worker`` process and in the app) sends each queued job's message
  once: it takes the sending with a conditional UPDATE (``job.dispatched_at``), so two dispatchers never send the same
  job twice, and gives it back when the broker cannot be reached. A retry or a requeue clears ``dispatched_at``, so the
  job is sent again, and so is a job still queued ``MINUTES_QUEUE_VISIBILITY_TIMEOUT`` after its sending (its sender
  may have died between taking the sending and sending; a duplicate is dropped by the claim). The same thread
  requeues jobs of dead workers (:meth:`Worker.recover`) and beats the process's heartbeat (``workerprocess``).
- A **task** claims its job with :func:`minutes.store.claim_job` (one conditional UPDATE, the worker's id) before it
  runs: a message delivered twice (a redelivery after the visibility timeout, a send after a requeue) finds the job no
  longer queued and is dropped, so a job never completes twice.
- Late acknowledgement (``task_acks_late``, ``task_reject_on_worker_lost``, prefetch 1): a message is acknowledged
  when its job ended; a worker killed mid-job leaves it unacknowledged, and Redis hands it to another worker after
  ``MINUTES_QUEUE_VISIBILITY_TIMEOUT``. The job's heartbeat gets it back sooner: the dispatcher requeues a job whose
  worker process is gone (same host) or whose heartbeat is older than ``MINUTES_JOB_HEARTBEAT_TIMEOUT``.
- Routing: a recording longer than ``MINUTES_QUEUE_GPU_MINUTES`` goes to ``gpu`` while a gpu worker is up, judged by
  the workers' heartbeats in the database (not Celery's broadcast ping, which a worker busy with a model may miss
  within its timeout and which costs a round trip to every worker for each job).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlmodel import Session

from minutes import store
from minutes.errors import InputError, MinutesError
from minutes.pipeline.decode import probe
from minutes.services.worker import Worker, start_background_worker
from minutes.settings import Settings
from minutes.store.tables import utcnow

log = logging.getLogger(__name__)

QUEUES = ("cpu", "gpu")
TASK = "minutes.run_job"


def choose_queue(duration: float | None, gpu_minutes: float, gpu_up: bool) -> str:
    """``gpu`` for a recording longer than ``gpu_minutes`` while a gpu worker is up; else ``cpu`` (also when the
    duration is unknown, or ``gpu_minutes`` is 0)."""
    if gpu_up and gpu_minutes > 0 and duration is not None and duration > gpu_minutes * 60:
        return "gpu"
    return "cpu"


def parse_queues(text: str) -> tuple[str, ...]:
    """``cpu,gpu`` → ("cpu", "gpu"); a Japanese error for an unknown name."""
    names = tuple(dict.fromkeys(name.strip() for name in text.split(",") if name.strip()))
    unknown = [name for name in names if name not in QUEUES]
    if not names or unknown:
        raise InputError(
            f"キューの名前「{','.join(unknown) or text}」は使えません。cpu、gpu をカンマで区切って指定してください。",
            f"queues {text!r}",
        )
    return names


def celery_app(settings: Settings, runtime=None):
    """The Celery application on ``settings.queue_url``; with ``runtime``, the task that runs jobs is bound to it
    (the worker side). Celery is imported here: the embedded default runs without it."""
    try:
        from celery import Celery
        from kombu import Queue
    except ImportError:
        raise MinutesError(
            "MINUTES_QUEUE_URL を使うには Celery が必要です（scripts/setup.sh で入ります）。",
            "celery not installed",
        ) from None
    app = Celery("minutes", broker=settings.queue_url, set_as_current=False)
    app.conf.update(
        task_acks_late=True,  # acknowledged when the job ended, not when it was received
        task_reject_on_worker_lost=True,  # a pool child killed mid-job: the message goes back to the queue
        worker_prefetch_multiplier=1,  # a worker holds no more messages than it runs jobs
        task_ignore_result=True,  # the result is in the job table
        task_queues=[Queue(name) for name in QUEUES],
        task_default_queue="cpu",
        task_serializer="json",
        accept_content=["json"],
        broker_transport_options={"visibility_timeout": settings.queue_visibility_timeout},
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        worker_cancel_long_running_tasks_on_connection_loss=False,  # the job's claim, not the broker, owns the job
    )
    if runtime is not None:

        @app.task(name=TASK)
        def run_job(job_id: int) -> bool:
            worker = Worker(runtime)
            if worker.take(job_id):
                log.info("job %s ran on %s", job_id, worker.worker_id)
                return True
            log.info("job %s is not queued any more: message dropped", job_id)
            return False

    return app


def process_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class ProcessInfo:
    """What a worker process says of itself in its heartbeat."""

    name: str
    mode: str  # celery or loop
    queues: tuple[str, ...] = ()
    concurrency: int = 1


class Dispatcher:
    """The thread of a process on the queue (or of a loop worker, which only beats): sends queued jobs' messages,
    requeues jobs of dead workers, and records the process's heartbeat."""

    def __init__(self, runtime, process: ProcessInfo | None, *, send: bool = True, interval: float = 2.0) -> None:
        self.runtime, self.process, self.send, self.interval = runtime, process, send, interval
        self._app = celery_app(runtime.base_settings) if send else None

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.cycle()
            except Exception:  # the thread must outlive a broken database or broker connection
                log.exception("dispatcher cycle failed")
            stop.wait(self.interval)
        if self.process is not None:
            self._beat(stopping=True)

    def cycle(self) -> int:
        """One round: heartbeat, recovery, sending; returns how many jobs were sent."""
        if self.process is not None:
            self._beat()
        if not self.send:
            return 0
        Worker(self.runtime).recover()
        return self.dispatch()

    def dispatch(self) -> int:
        settings = self.runtime.settings
        sent = 0
        now = utcnow()
        with Session(self.runtime.engine) as session:
            pending = store.undispatched_jobs(
                session, sent_before=now - timedelta(seconds=settings.queue_visibility_timeout)
            )
            since = now - timedelta(seconds=settings.job_heartbeat_timeout)
            gpu_up = bool(pending) and store.queue_has_worker(session, queue="gpu", since=since)
        for job_id, stored_path, duration, previous in pending:
            if duration is None:
                duration = _declared_duration(settings.data_dir / stored_path)
            queue = choose_queue(duration, settings.queue_gpu_minutes, gpu_up)
            if not store.mark_dispatched(self.runtime.engine, job_id=job_id, queue=queue, previous=previous):
                continue  # another dispatcher sent it, or it was cancelled meanwhile
            try:
                self._app.send_task(TASK, args=[job_id], queue=queue)
            except Exception:
                store.undo_dispatched(self.runtime.engine, job_id=job_id)
                raise
            log.info("job %s sent to %s", job_id, queue)
            sent += 1
        return sent

    def _beat(self, stopping: bool = False) -> None:
        process = self.process
        with Session(self.runtime.engine) as session:
            if stopping:
                store.stop_worker(session, name=process.name)
            else:
                store.beat_worker(
                    session,
                    name=process.name,
                    host=socket.gethostname(),
                    pid=os.getpid(),
                    mode=process.mode,
                    queues=",".join(process.queues),
                    concurrency=process.concurrency,
                )
            session.commit()


def _declared_duration(path: Path) -> float | None:
    try:
        return probe(path)
    except (InputError, OSError):
        return None  # the job fails with the reason when it runs


def start_dispatcher(runtime, process: ProcessInfo | None = None, *, send: bool = True, interval: float = 2.0):
    """The dispatcher in a daemon thread; returns (thread, stop event)."""
    stop = threading.Event()
    dispatcher = Dispatcher(runtime, process, send=send, interval=interval)
    thread = threading.Thread(target=dispatcher.run, args=(stop,), name="minutes-dispatcher", daemon=True)
    thread.start()
    return thread, stop


def start_app_worker(runtime):
    """What the app runs beside its pages: with MINUTES_QUEUE_URL the dispatcher only (the jobs run on
    ``minutes worker`` processes); otherwise the in-process worker thread."""
    if runtime.base_settings.queue_url:
        return start_dispatcher(runtime)
    start_dispatcher(runtime, ProcessInfo(process_name(), "loop"), send=False)  # its heartbeat, for the 管理 page
    return start_background_worker(runtime)


def run_celery_worker(runtime, queues: tuple[str, ...], concurrency: int) -> int:
    """``minutes worker`` on the queue: a Celery worker (threads pool: the models release the GIL, and one process
    keeps one copy of them) consuming ``queues``, with the dispatcher thread beside it. Blocks until stopped (SIGTERM
    waits for running jobs; a second one stops at once, and their jobs are requeued by the others)."""
    name = process_name()
    app = celery_app(runtime.base_settings, runtime)
    thread, stop = start_dispatcher(runtime, ProcessInfo(name, "celery", queues, concurrency))
    worker = app.Worker(
        queues=list(queues),
        concurrency=concurrency,
        pool="threads",
        hostname=f"{name.replace(':', '-')}@{socket.gethostname()}",
        without_gossip=True,
        without_mingle=True,
        loglevel="INFO",
        quiet=True,
    )
    try:
        worker.start()
    finally:
        stop.set()
        thread.join(timeout=10)  # it marks the process stopped on its way out
    return worker.exitcode or 0


def run_loop_worker(runtime, concurrency: int, stop: threading.Event) -> None:
    """``minutes worker`` without a queue: ``concurrency`` threads polling the job table, and the heartbeat."""
    beat, beat_stop = start_dispatcher(runtime, ProcessInfo(process_name(), "loop", (), concurrency), send=False)
    threads = [
        threading.Thread(target=Worker(runtime).run_forever, args=(stop,), name=f"minutes-worker-{n}", daemon=True)
        for n in range(concurrency)
    ]
    for thread in threads:
        thread.start()
    while not stop.wait(1.0):
        pass
    for thread in threads:
        thread.join()
    beat_stop.set()
    beat.join(timeout=10)

"""Operations: the job list of ``minutes jobs`` and the worker processes' health on the 管理 page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from minutes import store
from minutes.services.base import Service
from minutes.services.permissions import Permission, hidden_meetings, require
from minutes.store.tables import utcnow


@dataclass(frozen=True)
class JobRow:
    """One job as ``minutes jobs`` lists it."""

    id: int
    meeting_id: int
    title: str
    kind: str
    status: str
    stage: str
    progress: float
    queue: str | None  # None: not sent to a queue (the embedded worker, or not yet sent)
    worker_id: str | None
    attempts: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    error_message: str | None

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "meeting_id": self.meeting_id,
            "title": self.title,
            "kind": self.kind,
            "status": self.status,
            "stage": self.stage,
            "progress": self.progress,
            "queue": self.queue,
            "worker": self.worker_id,
            "attempts": self.attempts,
            "created_at": self.created_at.isoformat(),
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "error": self.error_message,
        }


@dataclass(frozen=True)
class WorkerHealth:
    """A worker process by its last heartbeat."""

    name: str
    host: str
    pid: int
    mode: str  # celery or loop
    queues: tuple[str, ...]
    concurrency: int
    started_at: datetime
    heartbeat_at: datetime
    stopped: bool
    alive: bool  # beaten within MINUTES_JOB_HEARTBEAT_TIMEOUT and not stopped
    silent_seconds: float  # since the last heartbeat
    running_jobs: tuple[int, ...]


class OperationsService(Service):
    """Jobs and workers, for administrators (and the operating-system user)."""

    def jobs(self, limit: int = 50) -> list[JobRow]:
        """Unfinished jobs, then the latest ``limit`` finished ones, newest first (meetings the user may not see are
        left out)."""
        require(self.user, Permission.MANAGE_SETTINGS)
        with Session(self.engine) as session:
            hidden = hidden_meetings(session, self.user)
            rows = store.recent_jobs(session, org_id=self.user.org_id, limit=limit)
            return [_job_row(job, title) for job, title in rows if job.meeting_id not in hidden]

    def workers(self, since_hours: float = 24.0) -> list[WorkerHealth]:
        """The worker processes that beat in the last ``since_hours``, latest first, with the jobs of the user's
        organisation each runs now (the workers are the installation's, their jobs are not)."""
        require(self.user, Permission.MANAGE_SETTINGS)
        now = utcnow()
        fresh = now - timedelta(seconds=self.settings.job_heartbeat_timeout)
        with Session(self.engine) as session:
            running = store.running_jobs(session, org_id=self.user.org_id)  # never another organisation's
            rows = store.worker_processes(session, since=now - timedelta(hours=since_hours))
            return [
                WorkerHealth(
                    name=row.name,
                    host=row.host,
                    pid=row.pid,
                    mode=row.mode,
                    queues=tuple(q for q in row.queues.split(",") if q),
                    concurrency=row.concurrency,
                    started_at=row.started_at,
                    heartbeat_at=row.heartbeat_at,
                    stopped=row.stopped_at is not None,
                    alive=row.stopped_at is None and row.heartbeat_at >= fresh,
                    silent_seconds=max(0.0, (now - row.heartbeat_at).total_seconds()),
                    running_jobs=tuple(j.id for j in running if _same_process(j.worker_id, row.host, row.pid)),
                )
                for row in rows
            ]


def _job_row(job, title: str) -> JobRow:
    return JobRow(
        id=job.id,
        meeting_id=job.meeting_id,
        title=title,
        kind=store.job_kind(job),
        status=job.status,
        stage=job.stage,
        progress=job.progress,
        queue=job.queue,
        worker_id=job.worker_id,
        attempts=job.attempts,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        error_message=job.error_message,
    )


def _same_process(worker_id: str | None, host: str, pid: int) -> bool:
    """A job's worker id is host:pid:random, the process's own host and pid."""
    parts = (worker_id or "").split(":")
    return len(parts) >= 2 and parts[0] == host and parts[1] == str(pid)

"""The distributed queue's records: which queued jobs still need their "run job N" message, and the worker
processes' heartbeats. The job table stays the record of truth; the broker only carries the messages."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from minutes.store.tables import Job, JobStatus, Meeting, Recording, WorkerProcess, utcnow


def undispatched_jobs(
    session: Session, *, sent_before: datetime, limit: int = 50
) -> list[tuple[int, str, float | None, datetime | None]]:
    """Queued jobs whose message was not sent yet, or was sent before ``sent_before`` and the job is still queued
    (the sender died between taking the sending and sending; sent again, a duplicate is dropped by the claim), oldest
    first: (job id, recording's stored path, its duration if known, when it was sent)."""
    statement = (
        select(Job.id, Recording.stored_path, Recording.duration, Job.dispatched_at)
        .join(Recording, col(Recording.id) == Job.recording_id)
        .where(
            Job.status == JobStatus.QUEUED,
            or_(col(Job.dispatched_at).is_(None), col(Job.dispatched_at) < sent_before),
        )
        .order_by(col(Job.created_at), col(Job.id))
        .limit(limit)
    )
    return [(row[0], row[1], row[2], row[3]) for row in session.exec(statement)]


def mark_dispatched(engine: Engine, *, job_id: int, queue: str, previous: datetime | None = None) -> bool:
    """Take the job's sending for this process (its ``dispatched_at`` still ``previous``): False when another
    dispatcher took it first, or it is no longer queued. Called before the message is sent; :func:`undo_dispatched`
    gives it back when sending failed."""
    unchanged = col(Job.dispatched_at).is_(None) if previous is None else col(Job.dispatched_at) == previous
    with engine.begin() as connection:
        result = connection.execute(
            update(Job)
            .where(col(Job.id) == job_id, col(Job.status) == JobStatus.QUEUED, unchanged)
            .values(queue=queue, dispatched_at=utcnow())
        )
        return result.rowcount == 1


def undo_dispatched(engine: Engine, *, job_id: int) -> None:
    with engine.begin() as connection:
        connection.execute(update(Job).where(col(Job.id) == job_id).values(dispatched_at=None))


def job_queue(session: Session, *, job_id: int) -> str | None:
    return session.exec(select(Job.queue).where(Job.id == job_id)).first()


def recent_jobs(session: Session, *, org_id: int, limit: int = 50) -> list[tuple[Job, str]]:
    """The organisation's unfinished jobs and then its latest finished ones, newest first, with their meeting's
    title."""
    statement = (
        select(Job, Meeting.title).join(Meeting, col(Meeting.id) == Job.meeting_id).where(Meeting.org_id == org_id)
    )
    active = session.exec(
        statement.where(col(Job.status).in_((JobStatus.QUEUED, JobStatus.RUNNING))).order_by(col(Job.id).desc())
    ).all()
    done = session.exec(
        statement.where(col(Job.status).in_(JobStatus.FINISHED)).order_by(col(Job.id).desc()).limit(limit)
    ).all()
    return [(job, title) for job, title in [*active, *done]]


def beat_worker(session: Session, *, name: str, host: str, pid: int, mode: str, queues: str, concurrency: int) -> None:
    """Record that the worker process ``name`` is alive now (its row made on the first beat)."""
    now = utcnow()
    row = session.get(WorkerProcess, name)
    if row is None:
        row = WorkerProcess(
            name=name, host=host, pid=pid, mode=mode, queues=queues, concurrency=concurrency, started_at=now
        )
    row.heartbeat_at, row.stopped_at = now, None
    session.add(row)


def stop_worker(session: Session, *, name: str) -> None:
    row = session.get(WorkerProcess, name)
    if row is not None:
        row.stopped_at = utcnow()
        session.add(row)


def worker_processes(session: Session, *, since: datetime | None = None) -> list[WorkerProcess]:
    """The worker processes seen since ``since`` (default: the last day), latest heartbeat first."""
    since = since or utcnow() - timedelta(days=1)
    statement = (
        select(WorkerProcess)
        .where(col(WorkerProcess.heartbeat_at) >= since)
        .order_by(col(WorkerProcess.heartbeat_at).desc())
    )
    return list(session.exec(statement))


def queue_has_worker(session: Session, *, queue: str, since: datetime) -> bool:
    """Whether a running worker process that serves ``queue`` has beaten since ``since``."""
    rows = session.exec(
        select(WorkerProcess.queues).where(
            col(WorkerProcess.heartbeat_at) >= since,
            col(WorkerProcess.stopped_at).is_(None),
            WorkerProcess.mode == "celery",
        )
    ).all()
    return any(queue in queues.split(",") for queues in rows)

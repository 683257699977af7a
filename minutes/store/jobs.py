"""Jobs: queueing, claiming (one conditional UPDATE), progress, results, cancel, retry and recovery."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from datetime import datetime, timedelta

from sqlalchemy import delete, func, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from minutes.errors import JobCancelled, JobError, NotFoundError
from minutes.records import Utterance as UtteranceRecord
from minutes.store.meetings import get_meeting, get_recording, list_meetings
from minutes.store.tables import (
    Job,
    JobStatus,
    Meeting,
    Speaker,
    Utterance,
    utcnow,
)


class JobKind:
    """What a job does, kept in ``Job.options["kind"]`` (no column: jobs queued before kinds existed transcribe)."""

    TRANSCRIBE = "transcribe"  # decode → transcribe → diarize → assign: the transcript from the recording
    REDIARIZE = "rediarize"  # decode → diarize, then new speakers for the stored (possibly edited) utterances
    IDENTIFY = "identify"  # decode → the stored speakers' voices matched to the voice profiles again
    VOICES = "voices"  # decode → the voices of a finalized meeting's named speakers added to their profiles
    LIVE = "live"  # a meeting transcribed as it happens (minutes.services.live_job); at 散会 a transcription follows


def job_kind(job: Job) -> str:
    return str((job.options or {}).get("kind") or JobKind.TRANSCRIBE)


def _kind_of_row():
    # SQLite: json_extract(options, '$."kind"'); PostgreSQL: options ->> 'kind'
    return func.coalesce(col(Job.options)["kind"].as_string(), JobKind.TRANSCRIBE)


def enqueue_job(session: Session, *, meeting_id: int, recording_id: int, options: dict, model: str = "") -> Job:
    meeting = get_meeting(session, meeting_id=meeting_id)
    if meeting.finalized_at is not None and options.get("kind") != JobKind.VOICES:  # voices only read a final record
        raise JobError(
            "この会議録は確定済みのため、文字起こしをやり直せません。先に確定を解除してください。", "meeting finalized"
        )
    job = Job(meeting_id=meeting_id, recording_id=recording_id, options=options, model=model)
    session.add(job)
    session.flush()
    return job


def get_job(session: Session, *, job_id: int) -> Job:
    job = session.get(Job, job_id)
    if job is None:
        raise NotFoundError(f"処理（ID {job_id}）が見つかりません。", f"job {job_id} not found")
    return job


def latest_job(session: Session, *, meeting_id: int, kind: str = JobKind.TRANSCRIBE) -> Job | None:
    """The meeting's latest job of ``kind``: by default its transcription (the meeting's state), not a re-run of the
    speaker separation, whose failure leaves the transcript as it was."""
    statement = (
        select(Job).where(Job.meeting_id == meeting_id, _kind_of_row() == kind).order_by(col(Job.id).desc()).limit(1)
    )
    return session.exec(statement).first()


def list_meetings_with_jobs(session: Session, *, org_id: int | None = None) -> list[tuple[Meeting, Job | None]]:
    """Every meeting with its latest transcription job (the meeting's state; a re-run of the speaker separation is
    not), newest meetings first, in two queries."""
    meetings = list_meetings(session, org_id=org_id)
    latest = (
        select(Job.meeting_id, func.max(Job.id).label("job_id"))
        .where(_kind_of_row() == JobKind.TRANSCRIBE)
        .group_by(col(Job.meeting_id))
        .subquery("latest")
    )
    jobs = {job.meeting_id: job for job in session.exec(select(Job).join(latest, col(Job.id) == latest.c.job_id))}
    return [(meeting, jobs.get(meeting.id)) for meeting in meetings]


def claim_job(engine: Engine, *, job_id: int, worker_id: str) -> bool:
    """Atomically move one queued job to running for ``worker_id``. False when another worker took it first."""
    now = utcnow()
    with engine.begin() as connection:
        result = connection.execute(
            update(Job)
            .where(col(Job.id) == job_id, col(Job.status) == JobStatus.QUEUED)
            .values(
                status=JobStatus.RUNNING,
                worker_id=worker_id,
                started_at=now,
                heartbeat_at=now,
                attempts=Job.attempts + 1,
                stage="decode",
                progress=0.0,
                error_message=None,
                error_detail=None,
            )
        )
        return result.rowcount == 1


def claim_next_job(engine: Engine, *, worker_id: str) -> int | None:
    """Claim the oldest queued job; returns its id, or None when the queue is empty."""
    with Session(engine) as session:
        candidates = session.exec(
            select(Job.id).where(Job.status == JobStatus.QUEUED).order_by(col(Job.created_at), col(Job.id)).limit(20)
        ).all()
    for job_id in candidates:
        if claim_job(engine, job_id=job_id, worker_id=worker_id):
            return job_id
    return None


def report_progress(engine: Engine, *, job_id: int, worker_id: str, stage: str, progress: float) -> bool:
    """Store progress and a heartbeat; returns True when the user asked to cancel the job."""
    with engine.begin() as connection:
        connection.execute(
            update(Job)
            .where(col(Job.id) == job_id, col(Job.worker_id) == worker_id, col(Job.status) == JobStatus.RUNNING)
            .values(stage=stage, progress=round(progress, 2), heartbeat_at=utcnow())
        )
        row = connection.execute(select(Job.cancel_requested, Job.status).where(Job.id == job_id)).one()
    return bool(row.cancel_requested) or row.status != JobStatus.RUNNING


def finish_job(
    engine: Engine,
    *,
    job_id: int,
    worker_id: str,
    status: str,
    stage_seconds: dict | None = None,
    error_message: str | None = None,
    error_detail: str | None = None,
) -> None:
    with engine.begin() as connection:
        values = dict(status=status, finished_at=utcnow(), error_message=error_message, error_detail=error_detail)
        if stage_seconds is not None:
            values["stage_seconds"] = stage_seconds
        if status == JobStatus.CANCELLED:
            values["stage"] = "cancelled"
        connection.execute(update(Job).where(col(Job.id) == job_id, col(Job.worker_id) == worker_id).values(**values))


def save_result(
    session: Session,
    *,
    job_id: int,
    worker_id: str,
    language: str,
    duration: float,
    speakers: Sequence[str],
    utterances: Sequence[UtteranceRecord],
    stage_seconds: dict,
    model: str = "",
    speaker_fields: Mapping[str, dict] | None = None,
) -> None:
    """Store a job's transcript (and the Whisper model folder it ran with) and mark it succeeded, all in the caller's
    one transaction.

    Refuses (JobError) when the job is no longer this worker's (cancelled, or recovered by another worker) or the
    meeting was finalized meanwhile: nothing is written then. ``speaker_fields``: label → Speaker column values (the
    person identified, the name and title copied from the roster).
    """
    job = own_running_job(session, job_id=job_id, worker_id=worker_id)
    meeting = get_meeting(session, meeting_id=job.meeting_id)
    session.exec(delete(Utterance).where(col(Utterance.meeting_id) == meeting.id))
    session.exec(delete(Speaker).where(col(Speaker.meeting_id) == meeting.id))
    ids: dict[str, int] = {}
    for label in speakers:
        speaker = Speaker(meeting_id=meeting.id, label=label, **(speaker_fields or {}).get(label, {}))
        session.add(speaker)
        session.flush()
        ids[label] = speaker.id
    for seq, utterance in enumerate(utterances):
        session.add(
            Utterance(
                meeting_id=meeting.id,
                speaker_id=ids[utterance.speaker],
                seq=seq,
                start=utterance.start,
                end=utterance.end,
                text=utterance.text,
                words=[
                    {"start": w.start, "end": w.end, "text": w.text, "probability": w.probability}
                    for w in utterance.words
                ],
                raw=utterance.raw or utterance.text,
                kebatori=utterance.kebatori or utterance.text,
                corrections=[asdict(rule) for rule in utterance.corrections],
            )
        )
    recording = get_recording(session, recording_id=job.recording_id)
    recording.duration = duration
    meeting.language = language
    meeting.updated_at = utcnow()
    mark_succeeded(session, job=job, stage_seconds=stage_seconds, model=model)
    session.add_all([recording, meeting])


def set_job_options(session: Session, *, job: Job, options: dict) -> None:
    """The options a job really runs with (the worker adds the meeting's terms when it starts the job)."""
    job.options = options
    session.add(job)


def own_running_job(session: Session, *, job_id: int, worker_id: str, finalized_ok: bool = False) -> Job:
    """The job, while it is still this worker's to finish: raises JobCancelled when the user cancelled it, JobError
    when another worker took it over or the meeting was finalized meanwhile (nothing may be written then; a job
    that reads a finalized meeting, ``finalized_ok``, may)."""
    job = get_job(session, job_id=job_id)
    if job.cancel_requested:
        raise JobCancelled("処理を取り消しました。", f"job {job_id} cancelled")
    if job.status != JobStatus.RUNNING or job.worker_id != worker_id:
        raise JobError("この処理は取り消されたか、別のワーカーに引き継がれました。", f"job {job_id} not ours")
    if not finalized_ok and get_meeting(session, meeting_id=job.meeting_id).finalized_at is not None:
        raise JobError("会議録が確定済みのため、結果を保存しませんでした。", "meeting finalized during job")
    return job


def mark_succeeded(session: Session, *, job: Job, stage_seconds: dict, model: str = "") -> None:
    """Mark a job done (in the caller's transaction, with its results)."""
    job.status = JobStatus.SUCCEEDED
    job.stage = "done"
    job.progress = 100.0
    job.finished_at = utcnow()
    job.stage_seconds = stage_seconds
    if model:
        job.model = model
    session.add(job)


def request_cancel(session: Session, *, job_id: int) -> Job:
    """Cancel a queued job at once; ask a running one to stop (the worker stops at its next progress report)."""
    job = get_job(session, job_id=job_id)
    if job.status == JobStatus.QUEUED:
        job.status = JobStatus.CANCELLED
        job.stage = "cancelled"
        job.finished_at = utcnow()
    elif job.status == JobStatus.RUNNING:
        job.cancel_requested = True
    else:
        raise JobError("この処理はすでに終わっているため取り消せません。", f"job {job_id} is {job.status}")
    session.add(job)
    return job


def retry_job(session: Session, *, job_id: int) -> Job:
    """Put a failed or cancelled job back in the queue (the stored recording is reused)."""
    job = get_job(session, job_id=job_id)
    if job.status not in (JobStatus.FAILED, JobStatus.CANCELLED):
        raise JobError("失敗または取り消された処理だけをやり直せます。", f"job {job_id} is {job.status}")
    if job_kind(job) != JobKind.VOICES and get_meeting(session, meeting_id=job.meeting_id).finalized_at is not None:
        raise JobError("会議録が確定済みのため、やり直せません。", "meeting finalized")
    job.status = JobStatus.QUEUED
    job.stage = "queued"
    job.progress = 0.0
    job.cancel_requested = False
    job.worker_id = None
    job.error_message = None
    job.error_detail = None
    job.finished_at = None
    job.dispatched_at = None  # sent to the queue again (MINUTES_QUEUE_URL)
    job.created_at = utcnow()
    session.add(job)
    return job


def running_jobs(session: Session, *, org_id: int | None = None) -> list[Job]:
    """The running jobs: all of them (the workers serve every organisation), or one organisation's."""
    statement = select(Job).where(Job.status == JobStatus.RUNNING)
    if org_id is not None:
        statement = statement.join(Meeting, col(Meeting.id) == Job.meeting_id).where(Meeting.org_id == org_id)
    return list(session.exec(statement))


def requeue_job(engine: Engine, *, job_id: int, worker_id: str | None, give_up_after: int) -> str:
    """Put an abandoned running job back in the queue, or fail it once it has been interrupted too often."""
    with Session(engine) as session:
        job = get_job(session, job_id=job_id)
        if job.status != JobStatus.RUNNING or job.worker_id != worker_id:
            return job.status
        if job.attempts >= give_up_after:
            job.status = JobStatus.FAILED
            job.finished_at = utcnow()
            job.error_message = (
                f"処理が {job.attempts} 回続けて途中で止まりました（メモリ不足やサーバーの再起動の可能性）。"
                "管理者に連絡し、原因を取り除いてから「再試行」してください。"
            )
            job.error_detail = "abandoned too often"
        else:
            job.status = JobStatus.QUEUED
            job.stage = "queued"
            job.progress = 0.0
            job.worker_id = None
            job.dispatched_at = None  # sent to the queue again (MINUTES_QUEUE_URL)
        session.add(job)
        session.commit()
        return job.status


def is_stale(job: Job, *, timeout: float, now: datetime | None = None) -> bool:
    beat = job.heartbeat_at or job.started_at or job.created_at
    return (now or utcnow()) - beat > timedelta(seconds=timeout)

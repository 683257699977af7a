"""All database access. Keyword-only functions taking a ``session`` (or an engine where a short transaction of its own
is the point, as in claiming a job). Pages and commands never hold live rows across requests: they get plain copies.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

from sqlalchemy import delete, func, text, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from minutes.errors import JobCancelled, JobError, NotFoundError
from minutes.records import Utterance as UtteranceRecord
from minutes.tables import (
    AppSetting,
    Archive,
    Job,
    JobStatus,
    Material,
    MaterialText,
    Meeting,
    MeetingEvent,
    Recording,
    Speaker,
    Utterance,
    UtteranceRevision,
    utcnow,
)

# ---------------------------------------------------------------- meetings and recordings


def create_meeting(
    session: Session, *, title: str, kind: str = "", held_at: datetime | None = None, place: str = ""
) -> Meeting:
    meeting = Meeting(title=title, kind=kind, held_at=held_at, place=place)
    session.add(meeting)
    session.flush()
    return meeting


def get_meeting(session: Session, *, meeting_id: int) -> Meeting:
    meeting = session.get(Meeting, meeting_id)
    if meeting is None:
        raise NotFoundError(f"会議（ID {meeting_id}）が見つかりません。", f"meeting {meeting_id} not found")
    return meeting


def list_meetings(session: Session) -> list[Meeting]:
    return list(session.exec(select(Meeting).order_by(col(Meeting.held_at).desc(), col(Meeting.id).desc())))


def add_recording(
    session: Session, *, meeting_id: int, original_name: str, stored_path: str, size_bytes: int, sha256: str
) -> Recording:
    recording = Recording(
        meeting_id=meeting_id,
        original_name=original_name[:255],
        stored_path=stored_path,
        size_bytes=size_bytes,
        sha256=sha256,
    )
    session.add(recording)
    session.flush()
    return recording


def get_recording(session: Session, *, recording_id: int) -> Recording:
    recording = session.get(Recording, recording_id)
    if recording is None:
        raise NotFoundError(f"録音（ID {recording_id}）が見つかりません。", f"recording {recording_id} not found")
    return recording


# ---------------------------------------------------------------- jobs


def enqueue_job(session: Session, *, meeting_id: int, recording_id: int, options: dict, model: str = "") -> Job:
    meeting = get_meeting(session, meeting_id=meeting_id)
    if meeting.finalized_at is not None:
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


def latest_job(session: Session, *, meeting_id: int) -> Job | None:
    statement = select(Job).where(Job.meeting_id == meeting_id).order_by(col(Job.id).desc()).limit(1)
    return session.exec(statement).first()


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
) -> None:
    """Store a job's transcript and mark it succeeded, all in the caller's one transaction.

    Refuses (JobError) when the job is no longer this worker's (cancelled, or recovered by another worker) or the
    meeting was finalized meanwhile: nothing is written then.
    """
    job = get_job(session, job_id=job_id)
    if job.cancel_requested:
        raise JobCancelled("処理を取り消しました。", f"job {job_id} cancelled")
    if job.status != JobStatus.RUNNING or job.worker_id != worker_id:
        raise JobError("この処理は取り消されたか、別のワーカーに引き継がれました。", f"job {job_id} not ours")
    meeting = get_meeting(session, meeting_id=job.meeting_id)
    if meeting.finalized_at is not None:
        raise JobError("会議録が確定済みのため、結果を保存しませんでした。", "meeting finalized during job")
    session.exec(delete(Utterance).where(col(Utterance.meeting_id) == meeting.id))
    session.exec(delete(Speaker).where(col(Speaker.meeting_id) == meeting.id))
    ids: dict[str, int] = {}
    for label in speakers:
        speaker = Speaker(meeting_id=meeting.id, label=label)
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
            )
        )
    recording = get_recording(session, recording_id=job.recording_id)
    recording.duration = duration
    meeting.language = language
    meeting.updated_at = utcnow()
    job.status = JobStatus.SUCCEEDED
    job.stage = "done"
    job.progress = 100.0
    job.finished_at = utcnow()
    job.stage_seconds = stage_seconds
    session.add_all([recording, meeting, job])


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
    if get_meeting(session, meeting_id=job.meeting_id).finalized_at is not None:
        raise JobError("会議録が確定済みのため、やり直せません。", "meeting finalized")
    job.status = JobStatus.QUEUED
    job.stage = "queued"
    job.progress = 0.0
    job.cancel_requested = False
    job.worker_id = None
    job.error_message = None
    job.error_detail = None
    job.finished_at = None
    job.created_at = utcnow()
    session.add(job)
    return job


def running_jobs(session: Session) -> list[Job]:
    return list(session.exec(select(Job).where(Job.status == JobStatus.RUNNING)))


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
        session.add(job)
        session.commit()
        return job.status


def is_stale(job: Job, *, timeout: float, now: datetime | None = None) -> bool:
    beat = job.heartbeat_at or job.started_at or job.created_at
    return (now or utcnow()) - beat > timedelta(seconds=timeout)


# ---------------------------------------------------------------- transcript


def speakers_of(session: Session, *, meeting_id: int) -> list[Speaker]:
    return list(session.exec(select(Speaker).where(Speaker.meeting_id == meeting_id).order_by(col(Speaker.id))))


def utterances_of(session: Session, *, meeting_id: int) -> list[Utterance]:
    statement = select(Utterance).where(Utterance.meeting_id == meeting_id).order_by(col(Utterance.seq))
    return list(session.exec(statement))


# ---------------------------------------------------------------- editing


def list_meetings_with_jobs(session: Session) -> list[tuple[Meeting, Job | None]]:
    """Every meeting with its latest job, newest meetings first, in two queries."""
    meetings = list_meetings(session)
    latest = select(Job.meeting_id, func.max(Job.id).label("job_id")).group_by(col(Job.meeting_id)).subquery("latest")
    jobs = {job.meeting_id: job for job in session.exec(select(Job).join(latest, col(Job.id) == latest.c.job_id))}
    return [(meeting, jobs.get(meeting.id)) for meeting in meetings]


def update_meeting_row(session: Session, *, meeting_id: int, expected_version: int, **values) -> bool:
    """Change a meeting only if its ``edit_version`` is still ``expected_version`` (raising it); False if not."""
    result = session.exec(
        update(Meeting)
        .where(col(Meeting.id) == meeting_id, col(Meeting.edit_version) == expected_version)
        .values(edit_version=Meeting.edit_version + 1, updated_at=utcnow(), **values)
    )
    return result.rowcount == 1


def touch_meeting(session: Session, *, meeting_id: int) -> None:
    session.exec(update(Meeting).where(col(Meeting.id) == meeting_id).values(updated_at=utcnow()))


def add_event(session: Session, *, meeting_id: int, action: str, actor: str, detail: dict | None = None) -> None:
    """Record an action in the meeting's own log and in the audit trail (same transaction)."""
    from minutes import audit

    session.add(MeetingEvent(meeting_id=meeting_id, action=action, actor=actor, detail=detail or {}))
    audit.record(session, actor=actor, action=action, target_type="meeting", target_id=meeting_id, after=detail)


def events_of(session: Session, *, meeting_id: int) -> list[MeetingEvent]:
    statement = select(MeetingEvent).where(MeetingEvent.meeting_id == meeting_id).order_by(col(MeetingEvent.id))
    return list(session.exec(statement))


def get_speaker(session: Session, *, speaker_id: int) -> Speaker:
    speaker = session.get(Speaker, speaker_id)
    if speaker is None:
        raise NotFoundError(f"話者（ID {speaker_id}）が見つかりません。", f"speaker {speaker_id} not found")
    return speaker


def speaker_totals(session: Session, *, meeting_id: int) -> dict[int, tuple[float, int]]:
    """speaker id -> (seconds spoken, number of utterances)."""
    rows = session.exec(
        select(Utterance.speaker_id, func.sum(Utterance.end - Utterance.start), func.count())
        .where(Utterance.meeting_id == meeting_id)
        .group_by(col(Utterance.speaker_id))
    )
    return {speaker_id: (float(seconds or 0.0), int(count)) for speaker_id, seconds, count in rows}


def longest_utterance_of(session: Session, *, speaker_id: int) -> Utterance | None:
    statement = (
        select(Utterance)
        .where(Utterance.speaker_id == speaker_id)
        .order_by((col(Utterance.end) - col(Utterance.start)).desc())
        .limit(1)
    )
    return session.exec(statement).first()


def reassign_speaker(session: Session, *, from_id: int, to_id: int) -> int:
    """Move every utterance and revision of one speaker to another; returns the number of utterances moved."""
    moved = session.exec(update(Utterance).where(col(Utterance.speaker_id) == from_id).values(speaker_id=to_id))
    session.exec(update(UtteranceRevision).where(col(UtteranceRevision.speaker_id) == from_id).values(speaker_id=to_id))
    return moved.rowcount


def delete_speaker(session: Session, *, speaker_id: int) -> None:
    session.exec(delete(Speaker).where(col(Speaker.id) == speaker_id))


def get_utterance(session: Session, *, utterance_id: int) -> Utterance:
    utterance = session.get(Utterance, utterance_id)
    if utterance is None:
        raise NotFoundError(
            "この発言は見つかりません（他の人が結合した可能性があります）。ページを再読み込みしてください。",
            f"utterance {utterance_id} not found",
        )
    return utterance


def count_utterances(session: Session, *, meeting_id: int, speaker_id: int | None = None) -> int:
    statement = select(func.count()).select_from(Utterance).where(Utterance.meeting_id == meeting_id)
    if speaker_id is not None:
        statement = statement.where(Utterance.speaker_id == speaker_id)
    return session.exec(statement).one()


def utterance_page(
    session: Session, *, meeting_id: int, offset: int, limit: int, speaker_id: int | None = None
) -> list[Utterance]:
    statement = select(Utterance).where(Utterance.meeting_id == meeting_id)
    if speaker_id is not None:
        statement = statement.where(Utterance.speaker_id == speaker_id)
    return list(session.exec(statement.order_by(col(Utterance.seq)).offset(offset).limit(limit)))


def count_utterances_before(session: Session, *, meeting_id: int, seconds: float, speaker_id: int | None = None) -> int:
    """How many utterances end before ``seconds`` (the index of the utterance playing at that time)."""
    statement = (
        select(func.count()).select_from(Utterance).where(Utterance.meeting_id == meeting_id, Utterance.end <= seconds)
    )
    if speaker_id is not None:
        statement = statement.where(Utterance.speaker_id == speaker_id)
    return session.exec(statement).one()


def next_utterance(session: Session, *, utterance: Utterance) -> Utterance | None:
    statement = (
        select(Utterance)
        .where(Utterance.meeting_id == utterance.meeting_id, Utterance.seq > utterance.seq)
        .order_by(col(Utterance.seq))
        .limit(1)
    )
    return session.exec(statement).first()


def shift_seq(session: Session, *, meeting_id: int, after_seq: int, by: int = 1) -> None:
    """Make room after ``after_seq`` (a split inserts an utterance there)."""
    session.exec(
        update(Utterance)
        .where(col(Utterance.meeting_id) == meeting_id, col(Utterance.seq) > after_seq)
        .values(seq=Utterance.seq + by)
    )


def update_utterance_row(session: Session, *, utterance_id: int, expected_version: int, **values) -> bool:
    """Change an utterance only if its version is still ``expected_version`` (raising it); False if not."""
    result = session.exec(
        update(Utterance)
        .where(col(Utterance.id) == utterance_id, col(Utterance.version) == expected_version)
        .values(version=Utterance.version + 1, edited=True, **values)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def add_utterance(session: Session, *, utterance: Utterance) -> Utterance:
    session.add(utterance)
    session.flush()
    return utterance


def delete_utterance(session: Session, *, utterance_id: int) -> None:
    session.exec(delete(Utterance).where(col(Utterance.id) == utterance_id))


def add_revision(session: Session, *, revision: UtteranceRevision) -> None:
    session.add(revision)


def has_revisions(session: Session, *, utterance_id: int) -> bool:
    statement = select(UtteranceRevision.id).where(UtteranceRevision.utterance_id == utterance_id).limit(1)
    return session.exec(statement).first() is not None


def revisions_of(session: Session, *, utterance_ids: Sequence[int]) -> list[UtteranceRevision]:
    if not utterance_ids:
        return []
    statement = (
        select(UtteranceRevision)
        .where(col(UtteranceRevision.utterance_id).in_(list(utterance_ids)))
        .order_by(col(UtteranceRevision.utterance_id), col(UtteranceRevision.version))
    )
    return list(session.exec(statement))


def utterances_containing(session: Session, *, meeting_id: int, needle: str) -> list[Utterance]:
    """Utterances whose text contains ``needle`` (case-sensitive, checked again in Python after SQL's LIKE)."""
    statement = (
        select(Utterance)
        .where(Utterance.meeting_id == meeting_id, col(Utterance.text).contains(needle, autoescape=True))
        .order_by(col(Utterance.seq))
    )
    return [u for u in session.exec(statement) if needle in u.text]


def timeline_of(session: Session, *, meeting_id: int) -> list[tuple[int, float, float]]:
    """(speaker id, start, end) of every utterance, in order: light rows for charts."""
    statement = (
        select(Utterance.speaker_id, Utterance.start, Utterance.end)
        .where(Utterance.meeting_id == meeting_id)
        .order_by(col(Utterance.seq))
    )
    return [(speaker_id, start, end) for speaker_id, start, end in session.exec(statement)]


def recording_of(session: Session, *, meeting_id: int) -> Recording | None:
    statement = select(Recording).where(Recording.meeting_id == meeting_id).order_by(col(Recording.id).desc()).limit(1)
    return session.exec(statement).first()


def utterances_with_revisions(session: Session, *, utterance_ids: Sequence[int]) -> set[int]:
    if not utterance_ids:
        return set()
    statement = select(UtteranceRevision.utterance_id).where(
        col(UtteranceRevision.utterance_id).in_(list(utterance_ids))
    )
    return set(session.exec(statement))


# ---------------------------------------------------------------- paperless


def add_material(session: Session, *, material: Material, pages: Sequence[tuple[int, str, str]]) -> Material:
    """Store a material row and the text of its pages ``(page, label, text)``; the search index follows by trigger."""
    session.add(material)
    session.flush()
    for page, label, text_of_page in pages:
        session.add(MaterialText(material_id=material.id, page=page, label=label[:200], text=text_of_page))
    session.flush()
    return material


def get_material(session: Session, *, material_id: int) -> Material:
    material = session.get(Material, material_id)
    if material is None:
        raise NotFoundError(f"資料（ID {material_id}）が見つかりません。", f"material {material_id} not found")
    return material


def materials_of(session: Session, *, meeting_id: int) -> list[Material]:
    statement = (
        select(Material)
        .where(Material.meeting_id == meeting_id)
        .order_by(col(Material.agenda_order).is_(None), col(Material.agenda_order), col(Material.id))
    )
    return list(session.exec(statement))


def material_pages(session: Session, *, material_id: int) -> list[MaterialText]:
    statement = select(MaterialText).where(MaterialText.material_id == material_id).order_by(col(MaterialText.page))
    return list(session.exec(statement))


def delete_material(session: Session, *, material_id: int) -> None:
    session.exec(delete(MaterialText).where(col(MaterialText.material_id) == material_id))
    session.exec(delete(Material).where(col(Material.id) == material_id))


def set_material_agenda(session: Session, *, material_id: int, agenda_order: int | None) -> None:
    session.exec(update(Material).where(col(Material.id) == material_id).values(agenda_order=agenda_order))


def add_archive(session: Session, *, archive: Archive) -> Archive:
    session.add(archive)
    session.flush()
    return archive


def archives_of(session: Session, *, meeting_id: int) -> list[Archive]:
    statement = select(Archive).where(Archive.meeting_id == meeting_id).order_by(col(Archive.version))
    return list(session.exec(statement))


def archive_at(session: Session, *, path: str) -> Archive | None:
    return session.exec(select(Archive).where(Archive.path == path)).first()


def set_agenda_order(
    session: Session, *, meeting_id: int, utterance_ids: Sequence[int], agenda_order: int | None
) -> int:
    """Set the 日程第N of the given utterances of one meeting (not their version: it is not an edit of the text)."""
    if not utterance_ids:
        return 0
    result = session.exec(
        update(Utterance)
        .where(col(Utterance.meeting_id) == meeting_id, col(Utterance.id).in_(list(utterance_ids)))
        .values(agenda_order=agenda_order)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


def agenda_rows(session: Session, *, meeting_id: int) -> list[tuple[int, int, int, str, int | None]]:
    """(id, seq, speaker id, text, agenda order) of every utterance in order: light rows for agenda suggestions."""
    statement = (
        select(Utterance.id, Utterance.seq, Utterance.speaker_id, Utterance.text, Utterance.agenda_order)
        .where(Utterance.meeting_id == meeting_id)
        .order_by(col(Utterance.seq))
    )
    return [tuple(row) for row in session.exec(statement)]


def utterance_index(session: Session, *, utterance_id: int) -> tuple[int, int, float]:
    """(meeting id, 0-based position in the meeting, start) of an utterance: to open the editor at it."""
    u = get_utterance(session, utterance_id=utterance_id)
    before = session.exec(
        select(func.count()).select_from(Utterance).where(Utterance.meeting_id == u.meeting_id, Utterance.seq < u.seq)
    ).one()
    return u.meeting_id, int(before), u.start


def _like(term: str) -> str:
    return "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _any_of(column: str, name: str, group: Sequence[str], params: dict, *, instr: bool = False) -> str:
    """A clause true when ``column`` contains any of the alternatives in ``group`` (case-insensitive for ASCII)."""
    clauses = []
    for j, term in enumerate(group):
        key = f"{name}_{j}"
        if instr:  # SQLite's lower() folds ASCII only: so does the needle
            clauses.append(f"instr(lower({column}), :{key}) > 0")
            params[key] = term.translate(_ASCII_LOWER)
        else:
            clauses.append(f"{column} LIKE :{key} ESCAPE '\\'")
            params[key] = _like(term)
    return clauses[0] if len(clauses) == 1 else "(" + " OR ".join(clauses) + ")"


def _vocab_where(ranges: Sequence[tuple[str, str]], params: dict) -> str:
    clauses = []
    for j, (lo, hi) in enumerate(ranges):
        params[f"lo{j}"], params[f"hi{j}"] = lo, hi
        clauses.append(f"(term >= :lo{j} AND term < :hi{j})")
    return " OR ".join(clauses)


def _meeting_filters(
    *,
    date_from: date | None,
    date_to: date | None,
    kind: str | None,
    meeting_id: int | None,
    hidden: Sequence[int] = (),
) -> tuple[list[str], dict]:
    clauses, params = [], {}
    if hidden:  # closed meetings of others, drafts for readers (ids are integers: safe to inline)
        clauses.append(f"m.id NOT IN ({','.join(str(int(i)) for i in sorted(hidden))})")
    day = "date(coalesce(m.held_at, m.created_at))"
    if date_from is not None:
        clauses.append(f"{day} >= :date_from")
        params["date_from"] = date_from.isoformat()
    if date_to is not None:
        clauses.append(f"{day} <= :date_to")
        params["date_to"] = date_to.isoformat()
    if kind:
        clauses.append("m.kind = :kind")
        params["kind"] = kind
    if meeting_id is not None:
        clauses.append("m.id = :meeting_id")
        params["meeting_id"] = meeting_id
    return clauses, params


_ORDER = {
    "newest": "date(coalesce(m.held_at, m.created_at)) DESC, m.id DESC, {seq}",
    "oldest": "date(coalesce(m.held_at, m.created_at)), m.id, {seq}",
}


def search_utterance_ids(
    session: Session,
    *,
    match: str | None,
    short_terms: Sequence[Sequence[str]],
    vocab_ranges: Sequence[tuple[str, str]],
    order: str,
    limit: int,
    offset: int,
    count_cap: int,
    date_from: date | None = None,
    date_to: date | None = None,
    kind: str | None = None,
    meeting_id: int | None = None,
    speaker: str | None = None,
    hidden: Sequence[int] = (),
) -> tuple[list[tuple[int, float]], int]:
    """Utterance ids matching a search, best first, with a score; and how many match (at most ``count_cap``).

    ``match``: an FTS5 query over the trigram index (words of three or more characters). ``vocab_ranges``: instead of
    ``match``, the documents whose trigrams start with the (lower-cased) short word ``lo`` (``lo <= term < hi``) or
    one of its other widths, with the number of occurrences as the score. ``short_terms``: further words every hit
    must contain, each a group of alternatives (its widths). ``order``: relevance (bm25 or occurrences), newest or
    oldest.
    """
    clauses, params = _meeting_filters(
        date_from=date_from, date_to=date_to, kind=kind, meeting_id=meeting_id, hidden=hidden
    )
    for i, group in enumerate(short_terms):
        if match is not None:  # the index's own copy of the text is compact; the utterance row is not
            clauses.append(_any_of("utterance_fts.text", f"short{i}", group, params, instr=True))
        else:
            clauses.append(_any_of("u.text", f"short{i}", group, params))
    if speaker:
        clauses.append(
            "u.speaker_id IN (SELECT id FROM speaker WHERE name LIKE :speaker ESCAPE '\\' OR role LIKE :speaker "
            "ESCAPE '\\' OR label LIKE :speaker ESCAPE '\\' OR coalesce(role, '') || coalesce(name, '') LIKE "
            ":speaker ESCAPE '\\')"
        )
        params["speaker"] = _like(speaker.replace(" ", "").replace("　", ""))
    if match is not None:
        source = "utterance_fts JOIN utterance u INDEXED BY ix_utterance_search ON u.id = utterance_fts.rowid"
        clauses.insert(0, "utterance_fts MATCH :match")
        params["match"] = match
        score = "bm25(utterance_fts)"
        relevance = "score, seq"
    else:
        assert vocab_ranges
        source = (
            f"(SELECT doc, count(*) AS n FROM utterance_fts_instance WHERE {_vocab_where(vocab_ranges, params)} "
            "GROUP BY doc) AS hits JOIN utterance u INDEXED BY ix_utterance_search ON u.id = hits.doc"
        )
        score = "hits.n"
        relevance = "score DESC, day DESC, meeting DESC, seq"
    ordering = {"newest": "day DESC, meeting DESC, seq", "oldest": "day, meeting, seq"}.get(order, relevance)
    body = f"FROM {source} JOIN meeting m ON m.id = u.meeting_id WHERE {' AND '.join(clauses) or '1'}"
    found = (
        f"SELECT u.id AS id, {score} AS score, date(coalesce(m.held_at, m.created_at)) AS day, m.id AS meeting, "
        f"u.seq AS seq {body}"
    )
    # One pass: the window count is taken over every match before LIMIT (no second query for the total). bm25() may
    # not share a query with a window function, hence the subquery (SQLite does not flatten it, for the window).
    rows = session.exec(
        text(
            f"SELECT id, score, count(*) OVER () AS total FROM ({found}) "
            f"ORDER BY {ordering} LIMIT :limit OFFSET :offset"
        ),
        params=params | {"limit": limit, "offset": offset},
    ).all()
    if rows:
        total = int(rows[0][2])
    else:
        count = text(f"SELECT count(*) FROM (SELECT 1 {body} LIMIT :cap)")
        total = int(session.exec(count, params=params | {"cap": count_cap}).one()[0])
    return [(int(i), float(s)) for i, s, _ in rows], total


def count_vocab(session: Session, *, ranges: Sequence[tuple[str, str]], cap: int) -> int:
    """How many trigram occurrences start with the short word (``lo <= term < hi`` for any of ``ranges``), counting
    at most ``cap``."""
    params: dict = {"cap": cap}
    where = _vocab_where(ranges, params)
    statement = text(f"SELECT count(*) FROM (SELECT 1 FROM utterance_fts_instance WHERE {where} LIMIT :cap)")
    return int(session.exec(statement, params=params).one()[0])


def search_meetings_in_order(
    session: Session,
    *,
    order: str,
    date_from: date | None = None,
    date_to: date | None = None,
    kind: str | None = None,
    meeting_id: int | None = None,
    hidden: Sequence[int] = (),
) -> list[int]:
    """Ids of the meetings passing the filters, newest (or oldest) first."""
    clauses, params = _meeting_filters(
        date_from=date_from, date_to=date_to, kind=kind, meeting_id=meeting_id, hidden=hidden
    )
    ordering = _ORDER["oldest" if order == "oldest" else "newest"].format(seq="1")
    statement = text(f"SELECT m.id FROM meeting m WHERE {' AND '.join(clauses) or '1'} ORDER BY {ordering}")
    return [int(row[0]) for row in session.exec(statement, params=params)]


def scan_utterance_ids(
    session: Session, *, meeting_ids: Sequence[int], terms: Sequence[Sequence[str]], speaker: str | None = None
) -> list[int]:
    """Utterances of the given meetings containing every term, each a group of alternatives (LIKE; by meeting in the
    given order, then seq)."""
    if not meeting_ids:
        return []
    params: dict = {}
    clauses = [_any_of("u.text", f"t{i}", group, params) for i, group in enumerate(terms)]
    if speaker:
        clauses.append(
            "u.speaker_id IN (SELECT id FROM speaker WHERE name LIKE :speaker ESCAPE '\\' OR role LIKE :speaker "
            "ESCAPE '\\' OR label LIKE :speaker ESCAPE '\\' OR coalesce(role, '') || coalesce(name, '') LIKE "
            ":speaker ESCAPE '\\')"
        )
        params["speaker"] = _like(speaker.replace(" ", "").replace("　", ""))
    ids = ", ".join(str(int(i)) for i in meeting_ids)
    rank = " ".join(f"WHEN {int(i)} THEN {n}" for n, i in enumerate(meeting_ids))
    statement = text(
        f"SELECT u.id FROM utterance u WHERE u.meeting_id IN ({ids}) AND {' AND '.join(clauses)} "
        f"ORDER BY CASE u.meeting_id {rank} END, u.seq"
    )
    return [int(row[0]) for row in session.exec(statement, params=params)]


def utterance_hits(session: Session, *, utterance_ids: Sequence[int]) -> dict[int, tuple]:
    """id -> (utterance, speaker, meeting) for search results, in one query."""
    if not utterance_ids:
        return {}
    statement = (
        select(Utterance, Speaker, Meeting)
        .join(Speaker, col(Speaker.id) == col(Utterance.speaker_id))
        .join(Meeting, col(Meeting.id) == col(Utterance.meeting_id))
        .where(col(Utterance.id).in_(list(utterance_ids)))
    )
    return {u.id: (u, s, m) for u, s, m in session.exec(statement)}


def search_material_pages(
    session: Session,
    *,
    match: str | None,
    short_terms: Sequence[Sequence[str]],
    order: str,
    limit: int,
    date_from: date | None = None,
    date_to: date | None = None,
    kind: str | None = None,
    meeting_id: int | None = None,
    hidden: Sequence[int] = (),
) -> list[tuple[MaterialText, Material, Meeting]]:
    """Pages of materials containing every word (FTS5 for long words, LIKE for short ones), best first."""
    clauses, params = _meeting_filters(
        date_from=date_from, date_to=date_to, kind=kind, meeting_id=meeting_id, hidden=hidden
    )
    for i, group in enumerate(short_terms):
        clauses.append(_any_of("t.text", f"short{i}", group, params))
    if match is not None:
        source = "materialtext_fts JOIN materialtext t ON t.id = materialtext_fts.rowid"
        clauses.insert(0, "materialtext_fts MATCH :match")
        params["match"] = match
        relevance = "bm25(materialtext_fts), t.id"
    else:
        source = "materialtext t"
        relevance = "date(coalesce(m.held_at, m.created_at)) DESC, t.id"
    ordering = (_ORDER.get(order) or relevance).format(seq="t.material_id, t.page")
    statement = text(
        f"SELECT t.id FROM {source} JOIN material a ON a.id = t.material_id JOIN meeting m ON m.id = a.meeting_id "
        f"WHERE {' AND '.join(clauses) or '1'} ORDER BY {ordering} LIMIT :limit"
    )
    ids = [int(row[0]) for row in session.exec(statement, params=params | {"limit": limit})]
    if not ids:
        return []
    rows = session.exec(
        select(MaterialText, Material, Meeting)
        .join(Material, col(Material.id) == col(MaterialText.material_id))
        .join(Meeting, col(Meeting.id) == col(Material.meeting_id))
        .where(col(MaterialText.id).in_(ids))
    )
    found = {t.id: (t, a, m) for t, a, m in rows}
    return [found[i] for i in ids if i in found]


def meeting_kinds(session: Session) -> list[str]:
    statement = select(Meeting.kind).where(Meeting.kind != "").distinct().order_by(col(Meeting.kind))
    return list(session.exec(statement))


# ---------------------------------------------------------------- settings changed in the app


def app_settings(session: Session) -> dict[str, object]:
    """Setting name → stored value."""
    return {row.key: row.value.get("value") for row in session.exec(select(AppSetting))}


def put_app_setting(session: Session, *, key: str, value: object, updated_by: str) -> None:
    row = session.get(AppSetting, key) or AppSetting(key=key, value={}, updated_by=updated_by)
    row.value, row.updated_by, row.updated_at = {"value": value}, updated_by, utcnow()
    session.add(row)


def delete_app_setting(session: Session, *, key: str) -> None:
    session.exec(delete(AppSetting).where(col(AppSetting.key) == key))

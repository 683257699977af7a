"""Jobs: atomic claiming, recovery after a killed worker, retry, cancel; on real SQLite and the real pipeline."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlmodel import Session

from minutes import store
from minutes.services import Runtime
from minutes.services.worker import MAX_ATTEMPTS, Worker
from minutes.store.engine import make_engine
from tests.conftest import SAMPLES

SAMPLE = SAMPLES / "council_ja.wav"


def queue_jobs(runtime: Runtime, count: int, audio=SAMPLE) -> list[int]:
    ids = []
    for index in range(count):
        _, job_id = runtime.operator("system").meetings.create(audio, title=f"会議 {index}")
        ids.append(job_id)
    return ids


def test_two_workers_never_take_the_same_job(runtime):
    job_ids = queue_jobs(runtime, 12)
    url = runtime.settings.database_url

    def drain(worker: str) -> list[int]:
        engine = make_engine(url)  # each worker has its own connections, as separate processes would
        taken = []
        while (job_id := store.claim_next_job(engine, worker_id=worker)) is not None:
            taken.append(job_id)
        engine.dispose()
        return taken

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(drain, ["w1", "w2", "w3", "w4"]))
    claimed = [job_id for taken in results for job_id in taken]
    assert sorted(claimed) == sorted(job_ids)  # every job exactly once
    with Session(runtime.engine) as session:
        owners = {store.get_job(session, job_id=j).worker_id for j in job_ids}
        assert owners <= {"w1", "w2", "w3", "w4"}


def test_claim_is_refused_when_already_taken(runtime):
    [job_id] = queue_jobs(runtime, 1)
    assert store.claim_job(runtime.engine, job_id=job_id, worker_id="a")
    assert not store.claim_job(runtime.engine, job_id=job_id, worker_id="b")


def test_cancel_a_queued_job_and_retry_it(runtime):
    [job_id] = queue_jobs(runtime, 1)
    assert runtime.operator("system").meetings.cancel_job(job_id).status == "cancelled"
    assert store.claim_next_job(runtime.engine, worker_id="w") is None
    assert runtime.operator("system").meetings.retry_job(job_id).status == "queued"
    with pytest.raises(Exception, match="失敗または取り消された"):
        runtime.operator("system").meetings.retry_job(job_id)


def test_stale_job_is_requeued_then_failed_after_too_many_interruptions(runtime):
    [job_id] = queue_jobs(runtime, 1)
    worker = Worker(runtime)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        assert store.claim_job(runtime.engine, job_id=job_id, worker_id=f"otherhost:1:{attempt}")
        with Session(runtime.engine) as session:  # the worker's heartbeat stopped long ago
            job = store.get_job(session, job_id=job_id)
            job.heartbeat_at = job.heartbeat_at.replace(year=2000)
            session.add(job)
            session.commit()
        assert worker.recover() == [job_id]
    job = runtime.operator("system").meetings.job(job_id)
    assert job.status == "failed" and "途中で止まりました" in job.error_message


@pytest.mark.slow
def test_job_survives_a_killed_worker_process(runtime, settings, tmp_path, council_excerpt):
    """A worker process is killed mid-job; a new worker picks the job up and finishes it."""
    [job_id] = queue_jobs(runtime, 1, council_excerpt)
    env = dict(
        os.environ,
        MINUTES_DATA_DIR=str(settings.data_dir),
        MINUTES_DATABASE_URL=settings.database_url,
        MINUTES_WHISPER_MODEL=str(settings.whisper_model),
        MINUTES_DEVICE="cpu",
    )
    process = subprocess.Popen([sys.executable, "-m", "minutes.cli", "worker"], env=env, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while runtime.operator("system").meetings.job(job_id).stage not in ("transcribe", "diarize"):
            assert time.monotonic() < deadline, "the worker never started the job"
            assert process.poll() is None, process.stderr.read().decode()
            time.sleep(0.2)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    job = runtime.operator("system").meetings.job(job_id)
    assert job.status == "running"  # left behind by the dead process
    assert list(settings.work_dir.glob(f"job-{job_id}-*"))  # the dead worker's decoded audio
    worker = Worker(runtime)
    assert worker.recover() == [job_id]  # same host, dead pid: no need to wait for the heartbeat timeout
    assert not list(settings.work_dir.glob(f"job-{job_id}-*"))
    assert worker.run_once() == job_id
    job = runtime.operator("system").meetings.job(job_id)
    assert job.status == "succeeded", job.error_detail
    assert job.attempts == 2
    speakers = {u.speaker_id for u in runtime.operator("system").meetings.transcript(job.meeting_id).utterances}
    assert len(speakers) == 2  # the chair and member 3 of the excerpt


@pytest.mark.slow
def test_cancel_stops_a_running_job_and_keeps_the_recording(runtime):
    meeting_id, job_id = runtime.operator("system").meetings.create(SAMPLE, title="取消テスト")
    worker = Worker(runtime, heartbeat_interval=0.5)
    thread = threading.Thread(target=worker.run_once)
    thread.start()
    deadline = time.monotonic() + 60
    while (
        runtime.operator("system").meetings.job(job_id).status != "running"
        or runtime.operator("system").meetings.job(job_id).progress < 6
    ):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    started = time.monotonic()
    runtime.operator("system").meetings.cancel_job(job_id)
    thread.join(timeout=60)
    assert not thread.is_alive()
    assert time.monotonic() - started < 30
    job = runtime.operator("system").meetings.job(job_id)
    assert job.status == "cancelled"
    assert runtime.operator("system").meetings.transcript(meeting_id).utterances == ()
    with Session(runtime.engine) as session:
        recording = store.get_recording(session, recording_id=1)
    assert (runtime.settings.data_dir / recording.stored_path).is_file()
    assert runtime.operator("system").meetings.retry_job(job_id).status == "queued"

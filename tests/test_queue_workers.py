"""Two real ``minutes worker`` processes on a real Redis (Celery) and one PostgreSQL database, as a shared installation
runs: several short jobs run the real pipeline, one worker is killed with SIGKILL mid-job, and every job still ends
succeeded once with its result stored. (On PostgreSQL only, for CI's time: the fast queue tests, ``test_queue.py``, run
the same claims and sends on SQLite and PostgreSQL.)"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlmodel import Session

from minutes import store
from minutes.services import Runtime
from tests.conftest import SAMPLES, _postgres_usable
from tests.media import read_wav, write_wav

pytestmark = pytest.mark.slow

JOBS = 3
CLIP_SECONDS = 5.0


@pytest.fixture
def backend() -> str:
    """The ``settings`` fixture's database: PostgreSQL (tests/conftest.py starts a throwaway server)."""
    if not _postgres_usable():
        pytest.skip("PostgreSQL or psycopg is not installed (scripts/setup.sh --test installs both)")
    return "postgres"


def start_worker(env: dict, log: Path) -> subprocess.Popen:
    with log.open("wb") as handle:
        return subprocess.Popen(
            [sys.executable, "-m", "minutes.cli", "-v", "worker", "--queues", "cpu"],
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )


def test_a_worker_killed_mid_job_loses_nothing(redis, settings, tmp_path):
    samples, rate = read_wav(SAMPLES / "council_ja.wav")
    clip = write_wav(tmp_path / "clip.wav", samples[: int(CLIP_SECONDS * rate)], rate)
    runtime = Runtime(settings)
    meetings = runtime.operator("system").meetings
    options = meetings.pipeline_options(identify=False)
    job_ids = [meetings.create(clip, title=f"会議 {n}", options=options)[1] for n in range(JOBS)]
    env = dict(
        os.environ,
        MINUTES_DATA_DIR=str(settings.data_dir),
        MINUTES_DATABASE_URL=settings.database_url,
        MINUTES_WHISPER_MODEL=str(settings.whisper_model),
        MINUTES_DEVICE="cpu",
        MINUTES_CPU_THREADS="1",
        MINUTES_QUEUE_URL=redis.url(1),
        MINUTES_QUEUE_VISIBILITY_TIMEOUT="3",  # the killed worker's message comes back during the test, too
        HF_HUB_OFFLINE="1",
    )
    logs = [tmp_path / "worker-a.log", tmp_path / "worker-b.log"]
    workers = [start_worker(env, log) for log in logs]
    try:
        deadline = time.monotonic() + 240
        victim = None
        while victim is None:  # the first worker seen transcribing a job is killed
            assert time.monotonic() < deadline, [log.read_text() for log in logs]
            with Session(runtime.engine) as session:
                running = [j for j in store.running_jobs(session) if j.stage in ("transcribe", "diarize")]
            for job in running:
                victim = next((w for w in workers if f":{w.pid}:" in (job.worker_id or "")), None)
                killed_job = job.id
            time.sleep(0.2)
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        survivor = next(w for w in workers if w is not victim)
        while True:
            with Session(runtime.engine) as session:
                jobs = [store.get_job(session, job_id=j) for j in job_ids]
            if all(job.status in ("succeeded", "failed", "cancelled") for job in jobs):
                break
            assert time.monotonic() < deadline, [log.read_text() for log in logs]
            assert survivor.poll() is None, logs[workers.index(survivor)].read_text()
            time.sleep(0.5)
        time.sleep(4)  # past the visibility timeout: the killed worker's message, redelivered, must change nothing
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGKILL)
                worker.wait()
    with Session(runtime.engine) as session:
        jobs = {j: store.get_job(session, job_id=j) for j in job_ids}
    for job in jobs.values():
        assert job.status == "succeeded", (job.id, job.error_detail)
        assert f":{survivor.pid}:" in job.worker_id  # the dead worker finished nothing
        assert job.queue == "cpu" and job.finished_at is not None
        assert len(meetings.transcript(job.meeting_id).utterances) >= 1
    assert jobs[killed_job].attempts == 2  # taken back once, run once more
    assert [job.attempts for j, job in jobs.items() if j != killed_job] == [1] * (JOBS - 1)
    survivor_log = logs[workers.index(survivor)].read_text()
    assert survivor_log.count(" ran on ") == JOBS  # each job completed once, by the survivor
    runtime.engine.dispose()

"""The distributed job queue without models: routing, sending each queued job once, cancel and retry across
processes, a redelivered message, worker health, and the commands' arguments; on real SQLite and a real Redis."""

from __future__ import annotations

import dataclasses
import json
import threading
from datetime import timedelta

import pytest
import redis as redis_client
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import Session, SQLModel

from minutes import store
from minutes.cli import commands, main
from minutes.cli.parser import build_parser
from minutes.errors import InputError, PermissionDenied
from minutes.services import Principal, Role, Runtime
from minutes.services.queue import Dispatcher, ProcessInfo, choose_queue, parse_queues
from minutes.services.worker import Worker
from minutes.store.tables import JobStatus, WorkerProcess, utcnow
from tests.conftest import SAMPLES

SAMPLE = SAMPLES / "council_ja.wav"  # 114 s


@pytest.fixture
def queued(redis, settings, request):
    """A Runtime on the queue (a Redis database of its own, emptied first) and a client to look into Redis."""
    database = 2 + hash(request.node.name) % 12
    client = redis_client.Redis.from_url(redis.url(database))
    client.flushdb()
    runtime = Runtime(dataclasses.replace(settings, queue_url=redis.url(database), queue_gpu_minutes=1.0))
    yield runtime, client
    runtime.engine.dispose()
    client.close()


def submit(runtime: Runtime, title: str = "定例会") -> int:
    return runtime.operator("clerk").meetings.create(SAMPLE, title=title)[1]


def job(runtime: Runtime, job_id: int):
    with Session(runtime.engine) as session:
        return store.get_job(session, job_id=job_id)


def messages(client, queue: str) -> list[int]:
    """The job ids of the messages waiting in a queue (kombu keeps a queue as a Redis list of JSON messages)."""
    return [int(json.loads(raw)["headers"]["argsrepr"].strip("()[],")) for raw in client.lrange(queue, 0, -1)]


def beat(runtime: Runtime, name: str, queues: tuple[str, ...], *, age: float = 0.0) -> None:
    """A heartbeat of the worker process ``name`` (host:pid:…), ``age`` seconds old."""
    Dispatcher(runtime, ProcessInfo(name, "celery", queues), send=False).cycle()
    with Session(runtime.engine) as session:  # as if beaten by that host's process
        row = session.get(WorkerProcess, name)
        row.host, pid, _ = name.split(":")
        row.pid = int(pid)
        row.heartbeat_at = utcnow() - timedelta(seconds=age)
        session.add(row)
        session.commit()


def test_choose_queue():
    assert choose_queue(31 * 60, 30, gpu_up=True) == "gpu"
    assert choose_queue(31 * 60, 30, gpu_up=False) == "cpu"  # no gpu worker up: the cpu workers take it
    assert choose_queue(29 * 60, 30, gpu_up=True) == "cpu"
    assert choose_queue(None, 30, gpu_up=True) == "cpu"  # duration unknown
    assert choose_queue(10 * 3600, 0, gpu_up=True) == "cpu"  # 0: nothing goes to gpu


def test_parse_queues():
    assert parse_queues("cpu") == ("cpu",)
    assert parse_queues(" gpu, cpu ,gpu") == ("gpu", "cpu")
    for bad in ("", "fast", "cpu,tpu"):
        with pytest.raises(InputError, match="cpu、gpu"):
            parse_queues(bad)


@pytest.mark.both_backends
def test_each_queued_job_is_sent_once(queued):
    runtime, client = queued
    first, second = submit(runtime, "一"), submit(runtime, "二")
    dispatcher, other = Dispatcher(runtime, None), Dispatcher(runtime, None)  # as in two processes
    assert dispatcher.dispatch() == 2
    assert other.dispatch() == 0 and dispatcher.dispatch() == 0
    assert messages(client, "cpu") == [second, first]  # LPUSH: newest at the head
    assert job(runtime, first).queue == "cpu" and job(runtime, first).dispatched_at is not None
    assert client.llen("gpu") == 0


@pytest.mark.both_backends
def test_long_recordings_go_to_gpu_only_while_a_gpu_worker_is_up(queued):
    runtime, client = queued  # the threshold is 1 minute; the sample is 114 s
    beat(runtime, "gpu-host:1:a", ("gpu",), age=runtime.settings.job_heartbeat_timeout + 5)  # silent too long
    stale = submit(runtime)
    Dispatcher(runtime, None).dispatch()
    assert job(runtime, stale).queue == "cpu"
    beat(runtime, "gpu-host:1:a", ("gpu",))
    fresh = submit(runtime)
    Dispatcher(runtime, None).dispatch()
    assert job(runtime, fresh).queue == "gpu"
    assert messages(client, "gpu") == [fresh]
    with Session(runtime.engine) as session:  # stopped cleanly: not up any more
        store.stop_worker(session, name="gpu-host:1:a")
        session.commit()
    third = submit(runtime)
    Dispatcher(runtime, None).dispatch()
    assert job(runtime, third).queue == "cpu"


@pytest.mark.both_backends
def test_a_cancelled_job_is_not_run_and_a_retried_one_is_sent_again(queued):
    runtime, client = queued
    job_id = submit(runtime)
    Dispatcher(runtime, None).dispatch()
    runtime.operator("clerk").meetings.cancel_job(job_id)  # in the app, after the message was sent
    assert Worker(runtime).take(job_id) is False  # the worker that gets the message runs nothing
    assert job(runtime, job_id).status == JobStatus.CANCELLED
    runtime.operator("clerk").meetings.retry_job(job_id)
    assert job(runtime, job_id).dispatched_at is None
    assert Dispatcher(runtime, None).dispatch() == 1
    assert client.llen("cpu") == 2


@pytest.mark.both_backends
def test_a_message_delivered_twice_runs_its_job_once(queued):
    runtime, _ = queued
    job_id = submit(runtime)
    assert store.claim_job(runtime.engine, job_id=job_id, worker_id="otherhost:99:first")  # running elsewhere
    assert Worker(runtime).take(job_id) is False
    current = job(runtime, job_id)
    assert current.worker_id == "otherhost:99:first" and current.attempts == 1


@pytest.mark.both_backends
def test_a_requeued_job_is_sent_again(queued):
    runtime, client = queued
    job_id = submit(runtime)
    Dispatcher(runtime, None).dispatch()
    assert store.claim_job(runtime.engine, job_id=job_id, worker_id="otherhost:1:gone")
    with Session(runtime.engine) as session:  # that worker's heartbeat stopped long ago
        running = store.get_job(session, job_id=job_id)
        running.heartbeat_at = running.heartbeat_at - timedelta(hours=1)
        session.add(running)
        session.commit()
    assert Dispatcher(runtime, None).cycle() == 1  # recovered, then sent again
    assert job(runtime, job_id).status == JobStatus.QUEUED and client.llen("cpu") == 2


@pytest.mark.both_backends
def test_worker_health(queued):
    runtime, _ = queued
    beat(runtime, "host-a:10:x", ("cpu", "gpu"))
    beat(runtime, "host-b:20:y", ("cpu",), age=runtime.settings.job_heartbeat_timeout + 5)
    job_id = submit(runtime)
    store.claim_job(runtime.engine, job_id=job_id, worker_id="host-a:10:task1")
    health = {w.name: w for w in runtime.operator("admin").operations.workers()}
    assert health["host-a:10:x"].alive and health["host-a:10:x"].queues == ("cpu", "gpu")
    assert health["host-a:10:x"].running_jobs == (job_id,)
    assert not health["host-b:20:y"].alive and health["host-b:20:y"].running_jobs == ()
    editor = Principal(5, "編集者さん", Role.EDITOR)
    with pytest.raises(PermissionDenied):
        runtime.services(editor).operations.workers()
    with pytest.raises(PermissionDenied):
        runtime.services(editor).operations.jobs()


def test_command_arguments():
    parser = build_parser()
    args = parser.parse_args(["worker", "--queues", "cpu,gpu", "--concurrency", "2"])
    assert (args.queues, args.concurrency) == ("cpu,gpu", 2)
    assert parser.parse_args(["worker"]).concurrency == 1
    assert parser.parse_args(["transcribe", "a.wav", "--submit"]).submit
    assert parser.parse_args(["jobs", "--json"]).json
    assert parser.parse_args(["wait", "7"]).job_id == 7
    with pytest.raises(SystemExit):
        parser.parse_args(["worker", "--concurrency", "0"])


def test_jobs_and_wait_commands(runtime, monkeypatch, capsys):
    monkeypatch.setenv("MINUTES_DATA_DIR", str(runtime.settings.data_dir))
    monkeypatch.setenv("MINUTES_DATABASE_URL", runtime.settings.database_url)
    monkeypatch.delenv("MINUTES_QUEUE_URL", raising=False)
    done, broken, waiting = submit(runtime, "完了"), submit(runtime, "失敗"), submit(runtime, "待機")
    for job_id, status in ((done, JobStatus.SUCCEEDED), (broken, JobStatus.FAILED)):
        store.claim_job(runtime.engine, job_id=job_id, worker_id="h:1:w")
        store.finish_job(runtime.engine, job_id=job_id, worker_id="h:1:w", status=status, error_message="壊れた録音")
    assert main(["wait", str(done), "--quiet"]) == 0
    assert main(["wait", str(broken), "--quiet"]) == 1
    assert "壊れた録音" in capsys.readouterr().err
    assert main(["jobs", "--json"]) == 0
    listed = {row["id"]: row for row in json.loads(capsys.readouterr().out)}
    assert listed[waiting]["status"] == "queued" and listed[done]["worker"] == "h:1:w"
    assert next(iter(listed)) == waiting  # unfinished first
    assert main(["jobs"]) == 0
    assert "処理待ち" in capsys.readouterr().out
    assert main(["worker", "--queues", "gpu"]) == 2  # no queue configured: a Japanese error, not a silent option
    assert "MINUTES_QUEUE_URL" in capsys.readouterr().err


def test_transcribe_follows_a_job_that_a_queue_worker_took_first(runtime):
    """``minutes transcribe`` (not --submit) runs its job itself, unless a queue worker claimed it first: then it
    follows that worker's progress in the database instead of reporting the job as not done."""
    job_id = submit(runtime)
    assert store.claim_job(runtime.engine, job_id=job_id, worker_id="otherhost:1:queue")
    finish = threading.Timer(
        1.5,
        store.finish_job,
        kwargs={"engine": runtime.engine, "job_id": job_id, "worker_id": "otherhost:1:queue", "status": "succeeded"},
    )
    finish.start()
    try:
        assert commands._run_with_bar(runtime, job_id, quiet=True) == "succeeded"
    finally:
        finish.join()


@pytest.mark.both_backends
def test_migration_0012_makes_the_tables_as_the_models_have_them(engine):
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    mine = [d for d in differences if any(name in repr(d) for name in ("workerprocess", "dispatched_at", "'queue'"))]
    assert mine == []


@pytest.mark.both_backends
def test_a_job_still_queued_long_after_its_sending_is_sent_again(queued):
    """Its sender may have died between taking the sending and sending: after the visibility timeout it is sent
    again (once, by one dispatcher); a duplicate message would be dropped by the claim."""
    runtime, client = queued
    job_id = submit(runtime)
    assert Dispatcher(runtime, None).dispatch() == 1
    assert Dispatcher(runtime, None).dispatch() == 0  # a message is waiting: not sent again
    with Session(runtime.engine) as session:
        waiting = store.get_job(session, job_id=job_id)
        waiting.dispatched_at = utcnow() - timedelta(seconds=runtime.settings.queue_visibility_timeout + 1)
        session.add(waiting)
        session.commit()
    assert Dispatcher(runtime, None).dispatch() == 1
    assert Dispatcher(runtime, None).dispatch() == 0
    assert client.llen("cpu") == 2

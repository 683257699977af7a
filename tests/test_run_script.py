"""`./run.sh`, the README's run command: the app and the job worker as two processes, the worker at a lower priority
(a transcription never slows the clerks' pages), the worker restarted after a crash, both stopped together."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from sqlmodel import Session

from minutes import store
from minutes.services import Runtime
from minutes.settings import Settings
from tests.conftest import ROOT

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _children(pid: int) -> dict[int, str]:
    """pid → command line of every descendant of ``pid``."""
    found, frontier = {}, [pid]
    while frontier:
        parent = frontier.pop()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
            except OSError:
                continue
            if int(fields[1]) == parent and int(entry.name) not in found:
                found[int(entry.name)] = command
                frontier.append(int(entry.name))
    return found


def _nice(pid: int) -> int:
    return int((Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[16])


def _worker_pid(run: subprocess.Popen, timeout: float = 60) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        workers = [p for p, c in _children(run.pid).items() if c.endswith("minutes worker")]
        if workers:
            return workers[0]
        time.sleep(0.5)
    raise AssertionError(f"no `minutes worker` under run.sh: {_children(run.pid)}")


def test_run_sh_starts_the_app_and_a_lower_priority_worker_and_stops_both(tmp_path, whisper_base, council_excerpt):
    data, port = tmp_path / "data", _free_port()
    env = os.environ | {
        "MINUTES_DATA_DIR": str(data),
        "MINUTES_DEVICE": "cpu",
        "MINUTES_WHISPER_MODEL": str(whisper_base),
    }
    env.pop("MINUTES_DATABASE_URL", None)
    env.pop("MINUTES_APP_WORKER", None)
    log = (tmp_path / "run.log").open("wb")
    run = subprocess.Popen(
        [
            str(ROOT / "run.sh"),
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                assert run.poll() is None and time.monotonic() < deadline, (tmp_path / "run.log").read_text()
                time.sleep(0.5)
        worker = _worker_pid(run)
        assert _nice(worker) == min(19, 10 + os.nice(0))

        # The separate worker runs a job submitted to the shared database (the app itself runs none).
        runtime = Runtime(_settings(data, whisper_base))
        _, job_id = runtime.operator("書記").meetings.create(council_excerpt, title="本会議")
        deadline = time.monotonic() + 300
        while (job := runtime.operator("書記").meetings.job(job_id)).status in ("queued", "running"):
            assert time.monotonic() < deadline, "the worker process did not finish the job"
            time.sleep(1)
        assert job.status == "succeeded", job.error_message
        with Session(runtime.engine) as session:
            assert f":{worker}:" in store.get_job(session, job_id=job_id).worker_id  # the worker process ran it

        # A crashed worker is started again.
        os.kill(worker, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while (again := _worker_pid(run)) == worker:
            assert time.monotonic() < deadline
            time.sleep(0.5)
        assert again != worker

        family = set(_children(run.pid))
        run.send_signal(signal.SIGTERM)
        assert run.wait(timeout=60) == 0
        deadline = time.monotonic() + 30
        while any(Path(f"/proc/{pid}").exists() for pid in family):
            assert time.monotonic() < deadline, f"left running: {family}"
            time.sleep(0.5)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
        log.close()


def _settings(data: Path, whisper_base: Path) -> Settings:
    return Settings(
        data_dir=data, database_url=f"sqlite:///{data / 'minutes.db'}", whisper_model=whisper_base, device="cpu"
    )

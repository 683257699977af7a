"""A throwaway Redis server for the tests: ``redis-server`` on a free local port, nothing saved to disk, stopped at the
end. No docker. The broker of the distributed job queue (MINUTES_QUEUE_URL)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def binary() -> str | None:
    return shutil.which("redis-server") or next(
        (str(path) for path in (Path("/usr/bin/redis-server"), Path("/usr/sbin/redis-server")) if path.exists()), None
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """One running server; ``url(db)`` is the redis:// URL of one of its databases."""

    def __init__(self) -> None:
        program = binary()
        if program is None:
            raise RuntimeError("redis-server is not installed")
        self.root = Path(tempfile.mkdtemp(prefix="minutes-redis-"))
        self.port = _free_port()
        command = [program, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        command += ["--dir", str(self.root), "--daemonize", "no", "--loglevel", "warning"]
        self.process = subprocess.Popen(
            command,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("redis-server did not start")

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        shutil.rmtree(self.root, ignore_errors=True)

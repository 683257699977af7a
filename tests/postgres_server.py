"""A throwaway PostgreSQL server for the tests: ``initdb`` into a temporary folder, ``pg_ctl start`` listening only on
a unix socket in that folder, stopped and removed at the end. No docker, no network.

PostgreSQL refuses to run as root: when the tests run as root, the server runs as the ``postgres`` system user (or
``nobody``) through ``runuser``. The cluster uses UTF-8 with the C.UTF-8 locale, under which pg_trgm counts kanji and
kana as word characters (under plain ``C`` it would drop them: see README, PostgreSQL).
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

VERSIONS = ("17", "16", "15", "14")


def binaries() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl`` (Debian's /usr/lib/postgresql/N/bin, or on PATH), or None."""
    for version in VERSIONS:
        folder = Path(f"/usr/lib/postgresql/{version}/bin")
        if (folder / "initdb").exists():
            return folder
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def _unprivileged() -> str | None:
    """The user the server runs as when we are root (None: run as ourselves)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise RuntimeError("running as root and neither a postgres nor a nobody user exists")


class Server:
    """One running cluster; ``url(database)`` is the SQLAlchemy URL of one of its databases."""

    def __init__(self) -> None:
        folder = binaries()
        if folder is None:
            raise RuntimeError("PostgreSQL is not installed")
        self.bin = folder
        self.user = _unprivileged()
        self.root = Path(tempfile.mkdtemp(prefix="minutes-pg-"))
        self.data = self.root / "data"
        if self.user is not None:
            entry = pwd.getpwnam(self.user)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        self.role = self.user or pwd.getpwuid(os.geteuid()).pw_name
        self._run(
            "initdb", "-D", str(self.data), "-U", self.role, "--auth=trust", "--encoding=UTF8",
            "--locale=C.UTF-8", "--no-sync",
        )  # fmt: skip
        options = f"-c listen_addresses='' -k {self.root} -c fsync=off -c full_page_writes=off"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "log"), "-o", options, "-w", "start")

    def _run(self, program: str, *args: str) -> None:
        command = [str(self.bin / program), *args]
        if self.user is not None:
            command = ["runuser", "-u", self.user, "--", *command]
        subprocess.run(command, check=True, capture_output=True, cwd=self.root)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{self.role}@/{database}?host={self.root}"

    def admin(self, statement: str) -> None:
        """Run one statement (autocommit) in the ``postgres`` database: CREATE/DROP DATABASE and the like."""
        import psycopg

        with psycopg.connect(host=str(self.root), user=self.role, dbname="postgres", autocommit=True) as connection:
            connection.execute(statement)

    def create_database(self, template: str | None = None) -> str:
        name = f"t_{uuid.uuid4().hex[:12]}"
        self.admin(f"CREATE DATABASE {name}" + (f" TEMPLATE {template}" if template else ""))
        return name

    def drop_database(self, name: str) -> None:
        self.admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

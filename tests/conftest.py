from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from minutes import offline
from minutes.pipeline.models import assemble_base
from minutes.settings import Settings
from minutes.store.engine import make_engine, migrate
from tests import postgres_server, redis_server

# Offline and private: importing minutes (above) already did this, before anything imports huggingface_hub or pyannote.
offline.enforce()

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples_audio"


def pyannote_sample() -> tuple[Path, Path]:
    """The 30 s two-speaker sample (and its RTTM) that pyannote.audio ships."""
    folder = Path(importlib.util.find_spec("pyannote.audio").submodule_search_locations[0]) / "sample"
    return folder / "sample.wav", folder / "sample.rttm"


def _postgres_usable() -> bool:
    return postgres_server.binaries() is not None and importlib.util.find_spec("psycopg") is not None


def pytest_generate_tests(metafunc) -> None:
    """Tests marked ``both_backends`` run once on SQLite and once on PostgreSQL (skipped where PostgreSQL or psycopg
    is not installed; ``scripts/setup.sh --test`` installs both)."""
    if "backend" in metafunc.fixturenames and metafunc.definition.get_closest_marker("both_backends"):
        postgres = pytest.param(
            "postgres",
            marks=pytest.mark.skipif(not _postgres_usable(), reason="PostgreSQL or psycopg is not installed"),
        )
        metafunc.parametrize("backend", ["sqlite", postgres])


@pytest.fixture
def backend() -> str:
    """The database the engine and settings fixtures use: SQLite unless the test is marked ``both_backends``."""
    return "sqlite"


@pytest.fixture(scope="session")
def postgres():
    """One throwaway PostgreSQL server for the whole run, with a migrated template database."""
    server = postgres_server.Server()
    try:
        server.admin("CREATE DATABASE minutes_template")
        template = make_engine(server.url("minutes_template"))
        migrate(template)
        template.dispose()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def redis():
    """One throwaway Redis server for the whole run (the broker of MINUTES_QUEUE_URL). CI installs redis-server
    (``scripts/setup.sh --test``), so there its absence fails instead of skipping."""
    if redis_server.binary() is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server is not installed: run scripts/setup.sh --test")
        pytest.skip("redis-server is not installed (scripts/setup.sh --test installs it)")
    server = redis_server.Server()
    yield server
    server.stop()


@pytest.fixture
def database_url(request, backend: str, tmp_path: Path):
    """A factory of migrated, empty databases: SQLite files in the test's folder, or PostgreSQL databases copied
    from the migrated template (``CREATE DATABASE … TEMPLATE``: a few milliseconds), dropped after the test."""
    made: list[str] = []
    server = request.getfixturevalue("postgres") if backend == "postgres" else None

    def make(path: Path, *, migrated: bool = True) -> str:
        """The URL of a database (``migrated``: at the newest schema; else empty, for migration tests)."""
        if server is None:
            return f"sqlite:///{path}"
        made.append(server.create_database(template="minutes_template" if migrated else None))
        return server.url(made[-1])

    yield make
    for name in made:
        server.drop_database(name)


@pytest.fixture
def engine(database_url, tmp_path: Path) -> Engine:
    """A migrated database: SQLite in the test's temp folder (or PostgreSQL, for tests marked ``both_backends``)."""
    engine = make_engine(database_url(tmp_path / "minutes.db"))
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def council_excerpt(tmp_path_factory) -> Path:
    """The first 41 s of ``samples_audio/council_ja.wav``: the chair (11 s), then member 3 (28 s); two real voices
    and a short job, for tests that need the whole pipeline to run but not the whole sample."""
    from tests.media import read_wav, write_wav

    samples, rate = read_wav(SAMPLES / "council_ja.wav")
    return write_wav(tmp_path_factory.mktemp("excerpt") / "council_41s.wav", samples[: 41 * rate], rate)


@pytest.fixture(scope="session")
def whisper_base(tmp_path_factory) -> Path:
    """The bundled base model, assembled once for the whole test run."""
    return assemble_base(tmp_path_factory.mktemp("models"))


@pytest.fixture
def settings(tmp_path, whisper_base, database_url) -> Settings:
    data = tmp_path / "data"
    return Settings(
        data_dir=data,
        database_url=database_url(data / "minutes.db"),
        whisper_model=whisper_base,
        device="cpu",
        compute_type="int8",
        job_heartbeat_timeout=30.0,
    )


@pytest.fixture
def runtime(settings):
    from minutes.services import Runtime

    runtime = Runtime(settings)
    yield runtime
    runtime.engine.dispose()

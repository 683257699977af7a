from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from minutes import offline
from minutes.pipeline.models import assemble_base
from minutes.settings import Settings
from minutes.store.engine import make_engine, migrate

# Offline and private: importing minutes (above) already did this, before anything imports huggingface_hub or pyannote.
offline.enforce()

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples_audio"


def pyannote_sample() -> tuple[Path, Path]:
    """The 30 s two-speaker sample (and its RTTM) that pyannote.audio ships."""
    folder = Path(importlib.util.find_spec("pyannote.audio").submodule_search_locations[0]) / "sample"
    return folder / "sample.wav", folder / "sample.rttm"


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    """A migrated SQLite database in the test's temp folder."""
    engine = make_engine(f"sqlite:///{tmp_path / 'minutes.db'}")
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def whisper_base(tmp_path_factory) -> Path:
    """The bundled base model, assembled once for the whole test run."""
    return assemble_base(tmp_path_factory.mktemp("models"))


@pytest.fixture
def settings(tmp_path, whisper_base) -> Settings:
    data = tmp_path / "data"
    return Settings(
        data_dir=data,
        database_url=f"sqlite:///{data / 'minutes.db'}",
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

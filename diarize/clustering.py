"""Centroid linkage in memory that does not grow with the square of the meeting's length.

pyannote's ``AgglomerativeClustering`` links every active (window, local speaker) embedding with scipy's ``linkage``,
which first builds the condensed distance matrix and then a working copy: 8 * n² bytes. At the default 3 s step, n
reaches ~3,600 in an hour (+94 MB, measured) and ~10,800 in three hours (+875 MB). fastcluster's ``linkage_vector``
runs the same centroid (and median, ward, single) linkage on the vectors themselves, in O(n * dimension) memory, with
the same merges and heights (scipy's linkage is derived from fastcluster; ``tests/test_clustering.py`` checks it).

:func:`install` points pyannote's clustering module at :func:`linkage`, which takes the vector algorithm where it
applies (raw Euclidean vectors) and scipy's otherwise. pyannote 4.0.7 calls it for centroid linkage on unit-normalized
embeddings, so every diarization uses it. The replacement relies on pyannote's internals (a module-level ``linkage``
called with these arguments), so :func:`install` refuses any pyannote.audio version it was not verified against
(``VERIFIED_PYANNOTE_VERSIONS``).
"""

from __future__ import annotations

from importlib import metadata

import fastcluster
import numpy as np
from scipy.cluster import hierarchy

from minutes.errors import ModelError

VECTOR_METHODS = ("centroid", "median", "ward", "single")
# pyannote.audio versions whose clustering module this replacement was checked against (as pinned in pyproject.toml).
VERIFIED_PYANNOTE_VERSIONS = ("4.0.7",)


def linkage(y, method: str = "single", metric: str = "euclidean", optimal_ordering: bool = False) -> np.ndarray:
    """``scipy.cluster.hierarchy.linkage`` with fastcluster's memory-saving algorithm for Euclidean observations."""
    y = np.asarray(y)
    if y.ndim == 2 and metric == "euclidean" and method in VECTOR_METHODS and not optimal_ordering and len(y) > 1:
        return fastcluster.linkage_vector(np.ascontiguousarray(y, dtype=np.float64), method=method, metric=metric)
    return hierarchy.linkage(y, method=method, metric=metric, optimal_ordering=optimal_ordering)


def _pyannote_version() -> str | None:
    try:
        return metadata.version("pyannote.audio")
    except metadata.PackageNotFoundError:
        return None


def check_pyannote_version() -> None:
    """Raise ModelError unless the installed pyannote.audio is one :func:`install` was verified against."""
    installed = _pyannote_version()
    if installed not in VERIFIED_PYANNOTE_VERSIONS:
        verified = ", ".join(VERIFIED_PYANNOTE_VERSIONS)
        raise ModelError(
            f"インストールされている pyannote.audio（{installed or '不明'}）は、話者分離の動作確認をした版"
            f"（{verified}）ではありません。pyproject.toml の指定どおり "
            f"pip install pyannote.audio=={VERIFIED_PYANNOTE_VERSIONS[-1]} で入れ直してください。",
            f"pyannote.audio {installed or 'not installed'} is not a version the clustering replacement "
            f"(diarize/clustering.py) was verified against ({verified}); install pyannote.audio=="
            f"{VERIFIED_PYANNOTE_VERSIONS[-1]} as pinned in pyproject.toml",
        )


def install() -> None:
    """Make pyannote's clustering use :func:`linkage` (idempotent). ModelError on an unverified pyannote.audio."""
    check_pyannote_version()
    from pyannote.audio.pipelines import clustering

    clustering.linkage = linkage

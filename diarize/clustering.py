"""Centroid linkage in memory that does not grow with the square of the meeting's length.

pyannote's ``AgglomerativeClustering`` links every active (window, local speaker) embedding with scipy's ``linkage``,
which first builds the condensed distance matrix and then a working copy: 8 * n² bytes. At the default 3 s step, n
reaches ~3,600 in an hour (+94 MB, measured) and ~10,800 in three hours (+875 MB). fastcluster's ``linkage_vector``
runs the same centroid (and median, ward, single) linkage on the vectors themselves, in O(n * dimension) memory, with
the same merges and heights (scipy's linkage is derived from fastcluster; ``tests/test_clustering.py`` checks it).

:func:`install` points pyannote's clustering module at :func:`linkage`, which takes the vector algorithm where it
applies (raw Euclidean vectors) and scipy's otherwise. pyannote 4.0.7 calls it for centroid linkage on unit-normalized
embeddings, so every diarization uses it.
"""

from __future__ import annotations

import fastcluster
import numpy as np
from scipy.cluster import hierarchy

VECTOR_METHODS = ("centroid", "median", "ward", "single")


def linkage(y, method: str = "single", metric: str = "euclidean", optimal_ordering: bool = False) -> np.ndarray:
    """``scipy.cluster.hierarchy.linkage`` with fastcluster's memory-saving algorithm for Euclidean observations."""
    y = np.asarray(y)
    if y.ndim == 2 and metric == "euclidean" and method in VECTOR_METHODS and not optimal_ordering and len(y) > 1:
        return fastcluster.linkage_vector(np.ascontiguousarray(y, dtype=np.float64), method=method, metric=metric)
    return hierarchy.linkage(y, method=method, metric=metric, optimal_ordering=optimal_ordering)


def install() -> None:
    """Make pyannote's clustering use :func:`linkage` (idempotent)."""
    from pyannote.audio.pipelines import clustering

    clustering.linkage = linkage

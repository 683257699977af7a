"""Centroid linkage without the n² distance matrix (diarize/clustering.py): the same clusters as scipy's."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.cluster import hierarchy

from diarize import clustering
from minutes.errors import ModelError


def _voices(n: int, seed: int = 0) -> np.ndarray:
    """Unit-normalized 192-dimensional embeddings of six voices, like CAM++'s."""
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((6, 192)) * 0.3
    x = centers[rng.integers(0, 6, n)] + rng.standard_normal((n, 192)) * 0.05
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.mark.parametrize("method", ["centroid", "ward", "single"])
def test_same_merges_and_heights_as_scipy(method):
    x = _voices(1500)
    ours = clustering.linkage(x, method=method, metric="euclidean")
    scipy = hierarchy.linkage(x, method=method, metric="euclidean")
    np.testing.assert_allclose(ours[:, 2], scipy[:, 2], atol=1e-9)
    for threshold in (0.3, 0.58, 0.8):
        a = hierarchy.fcluster(ours, threshold, criterion="distance")
        b = hierarchy.fcluster(scipy, threshold, criterion="distance")
        # the same partition (cluster numbers may differ)
        assert len({(i, j) for i, j in zip(a, b, strict=True)}) == len(set(a)) == len(set(b))


def test_other_metrics_and_condensed_input_go_to_scipy():
    x = _voices(50)
    condensed = hierarchy.distance.pdist(x)
    np.testing.assert_allclose(
        clustering.linkage(condensed, method="average"), hierarchy.linkage(condensed, method="average")
    )
    ours = clustering.linkage(x, method="average", metric="cosine")
    np.testing.assert_allclose(ours, hierarchy.linkage(x, method="average", metric="cosine"))


def test_pyannote_clustering_uses_it_after_install(monkeypatch):
    from pyannote.audio.pipelines import clustering as pyannote_clustering

    calls = []
    vector = clustering.fastcluster.linkage_vector

    def counted(x, **kwargs):
        calls.append(x.shape)
        return vector(x, **kwargs)

    monkeypatch.setattr(clustering.fastcluster, "linkage_vector", counted)
    clustering.install()
    assert pyannote_clustering.linkage is clustering.linkage
    agglomerative = pyannote_clustering.AgglomerativeClustering()
    agglomerative.instantiate({"method": "centroid", "min_cluster_size": 6, "threshold": 0.58})
    found = agglomerative.cluster(_voices(600), min_clusters=1, max_clusters=600)
    assert len(set(found)) == 6 and calls == [(600, 192)]


@pytest.mark.parametrize("version", ["4.0.6", "4.1.0", None])
def test_unverified_pyannote_version_is_refused_and_not_patched(monkeypatch, version):
    from pyannote.audio.pipelines import clustering as pyannote_clustering

    monkeypatch.setattr(pyannote_clustering, "linkage", hierarchy.linkage)
    monkeypatch.setattr(clustering, "_pyannote_version", lambda: version)
    with pytest.raises(ModelError) as raised:
        clustering.install()
    assert "pyannote.audio" in raised.value.message and "4.0.7" in raised.value.message
    assert "pyproject.toml" in raised.value.detail and str(version or "not installed") in raised.value.detail
    assert pyannote_clustering.linkage is hierarchy.linkage


def test_verified_pyannote_version_is_patched(monkeypatch):
    from pyannote.audio.pipelines import clustering as pyannote_clustering

    assert clustering.VERIFIED_PYANNOTE_VERSIONS == ("4.0.7",)
    assert clustering._pyannote_version() == "4.0.7"  # the pinned version is the one installed
    monkeypatch.setattr(pyannote_clustering, "linkage", hierarchy.linkage)
    monkeypatch.setattr(clustering, "_pyannote_version", lambda: "4.0.7")
    clustering.install()
    assert pyannote_clustering.linkage is clustering.linkage

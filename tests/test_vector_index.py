"""FAISS wrapper: index kind by size, padding removed, persistence, approximate recall."""

from __future__ import annotations

import faiss
import numpy as np
import pytest

from recommender.index import vector_index as vi
from recommender.index.vector_index import IndexKind

DIM = 32


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture(scope="module")
def clustered() -> tuple[np.ndarray, np.ndarray]:
    """2,000 unit vectors in 20 clusters, and 100 queries near some of them."""
    rng = np.random.default_rng(0)
    centers = rng.normal(size=(20, DIM))
    vectors = _unit(centers[rng.integers(0, 20, 2000)] + 0.3 * rng.normal(size=(2000, DIM)))
    queries = _unit(vectors[:100] + 0.05 * rng.normal(size=(100, DIM)))
    return vectors, queries


@pytest.fixture(scope="module")
def built(clustered) -> dict[IndexKind, faiss.Index]:
    vectors, _ = clustered
    return {kind: vi.build_faiss(vectors, kind) for kind in (IndexKind.EXACT, IndexKind.HNSW)}


def test_choose_kind_by_size_or_forced():
    assert vi.choose_kind(10) is IndexKind.EXACT
    assert vi.choose_kind(vi.APPROXIMATE_THRESHOLD - 1) is IndexKind.EXACT
    assert vi.choose_kind(vi.APPROXIMATE_THRESHOLD) is IndexKind.IVF
    assert vi.choose_kind(10, IndexKind.HNSW) is IndexKind.HNSW
    assert vi.choose_kind(10, IndexKind.IVF) is IndexKind.IVF
    assert vi.choose_kind(10**7, IndexKind.EXACT) is IndexKind.EXACT


def test_small_collection_is_exact_and_perfect():
    rng = np.random.default_rng(1)
    vectors = _unit(rng.normal(size=(50, DIM)))
    index = vi.build_faiss(vectors)
    assert vi.kind_of(index) is IndexKind.EXACT
    assert index.ntotal == 50
    hits = vi.search(index, vectors[7], 3)[0]
    assert hits.rows[0] == 7
    assert hits.scores[0] == pytest.approx(1.0, abs=1e-5)
    expected = np.argsort(-(vectors @ vectors[7]))[:3]
    assert hits.rows.tolist() == expected.tolist()


def test_auto_switches_to_ivf_above_threshold(monkeypatch, clustered):
    vectors, _ = clustered
    monkeypatch.setattr(vi, "APPROXIMATE_THRESHOLD", 500)
    assert vi.kind_of(vi.build_faiss(vectors[:499])) is IndexKind.EXACT
    index = vi.build_faiss(vectors[:500])
    assert vi.kind_of(index) is IndexKind.IVF
    assert index.ntotal == 500


def test_ivf_reuses_the_previous_lists_when_they_fit(clustered):
    vectors, _ = clustered
    first = vi.build_faiss(vectors, IndexKind.IVF)
    again = vi.build_faiss(vectors[:-3], IndexKind.IVF, previous=first)
    assert again.ntotal == len(vectors) - 3 and first.ntotal == len(vectors)
    assert again.nlist == first.nlist and again.nprobe == first.nprobe
    centroids = first.quantizer.reconstruct_n(0, first.nlist)
    assert np.array_equal(again.quantizer.reconstruct_n(0, again.nlist), centroids)
    # lists made for far fewer vectors are not reused
    small = vi.build_faiss(vectors[:100], IndexKind.IVF)
    assert vi.build_faiss(vectors, IndexKind.IVF, previous=small).nlist != small.nlist


def test_forced_kinds(built, clustered):
    vectors, _ = clustered
    assert vi.kind_of(built[IndexKind.EXACT]) is IndexKind.EXACT
    assert vi.kind_of(built[IndexKind.HNSW]) is IndexKind.HNSW
    ivf = vi.build_faiss(vectors[:500], IndexKind.IVF)
    assert vi.kind_of(ivf) is IndexKind.IVF
    assert ivf.ntotal == 500


@pytest.mark.parametrize("kind", [IndexKind.EXACT, IndexKind.HNSW, IndexKind.IVF])
def test_k_larger_than_collection_never_returns_padding(kind):
    rng = np.random.default_rng(2)
    vectors = _unit(rng.normal(size=(300, DIM)))
    index = vi.build_faiss(vectors, kind)
    results = vi.search(index, vectors[:5], 1000)
    assert len(results) == 5
    for hits in results:
        assert len(hits.rows) == len(hits.scores)
        assert 0 < len(hits.rows) <= 300
        assert (hits.rows >= 0).all() and (hits.rows < 300).all()
        assert len(set(hits.rows.tolist())) == len(hits.rows)
        assert np.all(np.diff(hits.scores) <= 1e-6)  # best first
    if kind is IndexKind.EXACT:
        assert all(len(h.rows) == 300 for h in results)


def test_k_zero_and_empty_index():
    rng = np.random.default_rng(3)
    vectors = _unit(rng.normal(size=(10, DIM)))
    index = vi.build_faiss(vectors)
    assert [len(h.rows) for h in vi.search(index, vectors[:2], 0)] == [0, 0]
    empty = vi.build_faiss(np.zeros((0, DIM), dtype=np.float32))
    assert empty.ntotal == 0
    assert [len(h.rows) for h in vi.search(empty, vectors[:3], 5)] == [0, 0, 0]


@pytest.mark.parametrize("kind", [IndexKind.EXACT, IndexKind.HNSW])
@pytest.mark.parametrize("mmap", [False, True])
def test_save_load_gives_same_results(tmp_path, built, clustered, kind, mmap):
    _, queries = clustered
    index = built[kind]
    path = tmp_path / "dense.faiss"
    vi.save(index, path)
    loaded = vi.load(path, mmap=mmap)
    assert vi.kind_of(loaded) is kind
    assert loaded.ntotal == index.ntotal and loaded.d == DIM
    for before, after in zip(
        vi.search(index, queries, 10), vi.search(loaded, queries, 10), strict=True
    ):
        assert before.rows.tolist() == after.rows.tolist()
        np.testing.assert_allclose(before.scores, after.scores, rtol=1e-6)


def test_hnsw_recall_against_exact(built, clustered):
    _, queries = clustered
    k = 10
    exact = vi.search(built[IndexKind.EXACT], queries, k)
    approx = vi.search(built[IndexKind.HNSW], queries, k)
    recall = np.mean(
        [len(set(a.rows) & set(e.rows)) / k for a, e in zip(approx, exact, strict=True)]
    )
    assert recall >= 0.9


def test_ivf_finds_exact_neighbours_of_indexed_vectors(clustered):
    vectors, _ = clustered
    ivf = vi.build_faiss(vectors, IndexKind.IVF)
    hits = vi.search(ivf, vectors[:50], 1)
    # A stored vector always lies in its own list, which is probed first.
    assert [h.rows[0] for h in hits] == list(range(50))

"""FAISS inner-product index over unit vectors: exact when small, HNSW or IVF when large."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import cast

import faiss
import numpy as np

# Below this many vectors exact search is both fast (< 2 ms at 384-d) and perfect.
APPROXIMATE_THRESHOLD = 50_000


class IndexKind(StrEnum):
    AUTO = "auto"
    EXACT = "flat"
    HNSW = "hnsw"
    IVF = "ivf"


@dataclass(frozen=True)
class VectorHits:
    """Row positions and scores for one query, padding (-1) removed."""

    rows: np.ndarray
    scores: np.ndarray


def choose_kind(n_vectors: int, kind: IndexKind = IndexKind.AUTO) -> IndexKind:
    """Exact when small; IVF when large: at 20,000 actions (133,000 passages) HNSW took
    ~60 s to build at every `reco build`, IVF ~2 s, or less when its lists are reused
    (`previous`), with recall@10 1.0 on 100,000 clustered vectors (BENCHMARKS.md)."""
    if kind is not IndexKind.AUTO:
        return kind
    return IndexKind.EXACT if n_vectors < APPROXIMATE_THRESHOLD else IndexKind.IVF


def _nlist(n: int) -> int:
    # sqrt(n) lists, not 4 sqrt(n): at 100k, same recall@10 (1.0) for a 12x faster build
    # (training dominates on CPU); at 1M the build stays in minutes (BENCHMARKS.md).
    return max(1, min(4096, int(np.sqrt(n))))


def _reusable(previous: faiss.Index | None, n: int, dim: int) -> faiss.IndexIVF | None:
    """An IVF index of the previous build whose trained lists still fit `n` vectors."""
    if not isinstance(previous, faiss.IndexIVF) or previous.d != dim or not previous.is_trained:
        return None
    return previous if _nlist(n) / 2 <= previous.nlist <= _nlist(n) * 2 else None


def _ivf(vectors: np.ndarray, previous: faiss.Index | None = None) -> faiss.Index:
    n, dim = vectors.shape
    reusable = _reusable(previous, n, dim)
    if reusable is not None:  # the same lists, emptied: no training (a few records changed)
        emptied = cast(faiss.IndexIVF, faiss.clone_index(reusable))  # already downcast
        emptied.reset()
        emptied.nprobe = min(emptied.nlist, max(8, emptied.nlist // 64))
        return emptied
    nlist = _nlist(n)
    quantizer = faiss.IndexFlatIP(dim)
    index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
    sample = vectors[np.random.default_rng(0).permutation(n)[: max(nlist * 40, 10_000)]]
    index.train(sample)
    # At least 8 lists (1.5% at 1M): recall@10 >= 0.98 on clustered data (see bench/).
    index.nprobe = min(nlist, max(8, nlist // 64))
    return index


def build_faiss(
    vectors: np.ndarray,
    kind: IndexKind = IndexKind.AUTO,
    hnsw_m: int = 32,
    previous: faiss.Index | None = None,
) -> faiss.Index:
    """A FAISS index over `vectors` (float32, unit rows), chosen by size unless forced; an
    IVF index reuses the trained lists of `previous` (the last build's) when they fit."""
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    n, dim = vectors.shape
    chosen = choose_kind(n, kind)
    if chosen is IndexKind.EXACT:
        index: faiss.Index = faiss.IndexFlatIP(dim)
    elif chosen is IndexKind.HNSW:
        index = faiss.IndexHNSWFlat(dim, hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 80
        index.hnsw.efSearch = 96
    else:
        index = _ivf(vectors, previous)
    if n:
        index.add(vectors)
    return index


def kind_of(index: faiss.Index) -> IndexKind:
    if isinstance(index, faiss.IndexHNSWFlat):
        return IndexKind.HNSW
    if isinstance(index, faiss.IndexIVF):
        return IndexKind.IVF
    return IndexKind.EXACT


def search(index: faiss.Index, queries: np.ndarray, k: int) -> list[VectorHits]:
    """Top-k rows per query. FAISS pads with id -1 when it has fewer than k: dropped here."""
    queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
    k = max(0, min(k, index.ntotal))
    if k == 0:
        empty = VectorHits(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32))
        return [empty for _ in range(len(queries))]
    scores, ids = index.search(queries, k)
    hits = []
    for row_ids, row_scores in zip(ids, scores, strict=True):
        keep = row_ids >= 0
        hits.append(VectorHits(row_ids[keep].astype(np.int64), row_scores[keep]))
    return hits


def save(index: faiss.Index, path: Path) -> None:
    faiss.write_index(index, str(path))


def load(path: Path, mmap: bool = False) -> faiss.Index:
    flags = faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY if mmap else 0
    return faiss.read_index(str(path), flags)

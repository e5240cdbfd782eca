"""Synthetic corpora for the scale benchmarks: clustered unit vectors, French-like documents.

Vectors are a Gaussian mixture around unit centres, themselves grouped around a smaller
number of themes (neighbouring topics overlap, as in real text); inside a cluster, points
vary mostly along a few cluster-specific directions (sentence embeddings have a low
intrinsic dimension) plus a little isotropic noise, so nearest neighbours are meaningful
rather than the near-ties of uniform noise in 384 dimensions.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from embeddings.base import normalise

DIM = 384
CENTRES = 1000
THEMES_PER_CENTRE = 0.1  # 100 themes for 1,000 centres: sibling clusters overlap
THEME_SPREAD = 0.3  # length of a centre's own direction next to its theme's (unit)
RANK = 24  # directions of variation per cluster
LOCAL_NORM = 0.6  # typical length of the in-cluster variation (centres have length 1)
NOISE_NORM = 0.35  # typical length of the isotropic noise
QUERY_NOISE_NORM = 0.3  # queries: corpus vectors moved by this much, then renormalised


def clustered_vectors(
    n: int, dim: int = DIM, centres: int = CENTRES, rank: int = RANK, seed: int = 0
) -> np.ndarray:
    """`n` unit float32 rows from a mixture of `centres` low-rank Gaussian clusters."""
    rng = np.random.default_rng(seed)
    n_themes = max(1, int(centres * THEMES_PER_CENTRE))
    themes = normalise(rng.standard_normal((n_themes, dim), dtype=np.float32))
    # Random Gaussian directions are nearly orthogonal in 384-d: no QR needed. Clusters of
    # one theme vary along the same directions, so their points mingle at the edges.
    bases = rng.standard_normal((n_themes, rank, dim), dtype=np.float32) / np.sqrt(dim)
    own = normalise(rng.standard_normal((centres, dim), dtype=np.float32))
    theme_of = np.arange(centres) % n_themes
    means = normalise(themes[theme_of] + THEME_SPREAD * own)
    labels = rng.integers(0, centres, n)
    out = np.empty((n, dim), dtype=np.float32)
    local_scale = np.float32(LOCAL_NORM / np.sqrt(rank))
    noise_scale = np.float32(NOISE_NORM / np.sqrt(dim))
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], np.arange(centres + 1))
    for k in range(centres):
        rows = order[bounds[k] : bounds[k + 1]]
        local = rng.standard_normal((len(rows), rank), dtype=np.float32) @ bases[theme_of[k]]
        noise = rng.standard_normal((len(rows), dim), dtype=np.float32)
        out[rows] = means[k] + local_scale * local + noise_scale * noise
    return _normalise_inplace(out)


def _normalise_inplace(matrix: np.ndarray, block: int = 65_536) -> np.ndarray:
    """Unit rows without a full-size temporary (the 1M matrix is 1.5 GB)."""
    for start in range(0, len(matrix), block):
        part = matrix[start : start + block]
        part /= np.maximum(np.linalg.norm(part, axis=1, keepdims=True), 1e-12)
    return matrix


def perturbed_queries(corpus: np.ndarray, n: int, seed: int = 1) -> np.ndarray:
    """`n` queries: random corpus rows moved by a little isotropic noise, renormalised."""
    rng = np.random.default_rng(seed)
    rows = corpus[rng.choice(len(corpus), size=n, replace=False)]
    noise = rng.standard_normal(rows.shape, dtype=np.float32)
    noise *= np.float32(QUERY_NOISE_NORM / np.sqrt(corpus.shape[1]))
    return normalise(rows + noise)


_SENTENCE = re.compile(r"(?<=[.!?;:])\s+|\n+")


def french_documents(texts: Sequence[str], n: int, seed: int = 0) -> list[str]:
    """`n` French-like documents: 3 to 8 sentences drawn from the real chunk texts."""
    rng = np.random.default_rng(seed)
    sentences = [s.strip() for t in texts for s in _SENTENCE.split(t) if len(s.strip()) > 20]
    if not sentences:
        raise ValueError("no sentence to recombine")
    lengths = rng.integers(3, 9, n)
    picks = rng.integers(0, len(sentences), int(lengths.sum()))
    docs, start = [], 0
    for length in lengths.tolist():
        docs.append(" ".join(sentences[i] for i in picks[start : start + length]))
        start += length
    return docs

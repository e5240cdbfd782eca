"""Each action's nearest neighbours and the pairs worth checking (copies, near-copies).

The cosine matrix of 20,000 actions would take 3.2 GB: it is computed BLOCK rows at a time
and only what the report shows is kept; comparing the shared text of every pair took 6 min
at 5,000 actions. Up to EXACT_PAIRS actions (the real base) every pair is compared as before;
beyond, copied text is looked for among each action's PAIR_CANDIDATES nearest neighbours.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from recommender.records.duplicates import jaccard, shingles
from recommender.records.records import Action

NEIGHBOURS = 5
PAIR_Z = 2.5  # a pair this many standard deviations above the mean cosine is flagged
PAIR_OVERLAP = 0.3  # or this share of common 3-word sequences (copied text)
MAX_PAIRS = 30
SAMPLE_SEED = 0


@dataclass(frozen=True)
class Pair:
    first: int
    second: int
    cosine: float
    overlap: float  # Jaccard of word 3-shingles


BLOCK = 2048
EXACT_PAIRS = 500  # up to this many actions, the shared text of every pair is compared
PAIR_CANDIDATES = 5  # beyond, copied text is looked for among each action's neighbours
TYPICAL_SAMPLE = 200_000  # pairs drawn for the typical range beyond one block (±0.002)


@dataclass(frozen=True)
class PairScan:
    neighbours: tuple[tuple[tuple[int, float], ...], ...]
    pairs: tuple[Pair, ...]
    typical: tuple[float, float]


def scan_pairs(actions: Sequence[Action], vectors: np.ndarray, block: int = BLOCK) -> PairScan:
    """Each action's NEIGHBOURS nearest, the MAX_PAIRS pairs to check (copied text first,
    then far more similar than usual), and the 5th-95th percentiles of the pair cosines."""
    n = len(actions)
    if n <= min(block, EXACT_PAIRS):  # every pair's shared text compared (about 1 s)
        sims = vectors @ vectors.T
        upper = sims[np.triu_indices(n, 1)]
        return PairScan(
            tuple(nearest(sims, NEIGHBOURS)),
            tuple(similar_pairs(actions, sims)),
            _percentiles(upper),
        )
    if n <= block:  # the whole matrix fits: the bar and the typical range from every pair
        upper = (vectors @ vectors.T)[np.triu_indices(n, 1)]
        bar = float(upper.mean() + PAIR_Z * upper.std())
        typical = _percentiles(upper)
    else:
        mean, std = pair_moments(vectors)
        bar = mean + PAIR_Z * std
        typical = _percentiles(_sampled_cosines(vectors, TYPICAL_SAMPLE))
    width = max(NEIGHBOURS, PAIR_CANDIDATES)
    neighbours: list[tuple[tuple[int, float], ...]] = []
    candidates: set[tuple[int, int]] = set()
    top = _TopPairs(MAX_PAIRS)
    for start in range(0, n, block):
        sims = vectors[start : start + block] @ vectors.T
        for r, row in enumerate(sims):
            near = nearest_row(row, start + r, width)
            neighbours.append(tuple((j, round(float(row[j]), 3)) for j in near[:NEIGHBOURS]))
            i = start + r
            candidates.update((min(i, j), max(i, j)) for j in near[:PAIR_CANDIDATES])
            above = i + 1 + np.flatnonzero(row[i + 1 :] >= bar)
            top.add(i, above, row[above])
    sets: dict[int, frozenset[str]] = {}

    def shingles_of(i: int) -> frozenset[str]:
        if i not in sets:
            sets[i] = shingles(actions[i])
        return sets[i]

    copies = []
    for i, j in sorted(candidates):
        overlap = jaccard(shingles_of(i), shingles_of(j))
        if overlap >= PAIR_OVERLAP:
            copies.append(Pair(i, j, round(float(vectors[i] @ vectors[j]), 3), round(overlap, 3)))
    chosen = {(p.first, p.second) for p in copies}
    others: list[Pair] = []
    for i, j, cosine in top.best(MAX_PAIRS + len(copies)):
        if (i, j) not in chosen:
            overlap = jaccard(shingles_of(i), shingles_of(j))
            pair = Pair(i, j, cosine, round(overlap, 3))
            (copies if overlap >= PAIR_OVERLAP else others).append(pair)
    copies.sort(key=lambda p: (-p.cosine, p.first, p.second))
    pairs = (copies + others)[:MAX_PAIRS]
    return PairScan(tuple(neighbours), tuple(pairs), typical)


def pair_moments(vectors: np.ndarray) -> tuple[float, float]:
    """Mean and standard deviation of the cosines of all pairs i < j, without the pairs:
    sum of v_i.v_j = (|sum v|^2 - sum |v_i|^2) / 2, sum of squares from the Gram matrix."""
    n = len(vectors)
    count = n * (n - 1) / 2
    norms = np.einsum("ij,ij->i", vectors, vectors)
    total = float(vectors.sum(axis=0) @ vectors.sum(axis=0) - norms.sum()) / 2
    gram = vectors.T @ vectors
    squares = float((gram * gram).sum() - (norms * norms).sum()) / 2
    mean = total / count
    return mean, math.sqrt(max(0.0, squares / count - mean * mean))


class _TopPairs:
    """The best pairs by rounded cosine (ties: first pair first), kept as rows are read in
    order (so an equal pair read later never wins a tie)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._rows: list[tuple[float, int, int]] = []
        self._floor = -math.inf  # a pair must beat this cosine once enough are kept

    def add(self, i: int, js: np.ndarray, cosines: np.ndarray) -> None:
        rounded = np.round(cosines.astype(np.float64), 3)
        keep = rounded > self._floor
        self._rows += [(-float(c), i, int(j)) for c, j in zip(rounded[keep], js[keep], strict=True)]
        if len(self._rows) > self.size * 8:
            self._rows = sorted(self._rows)[: self.size * 4]
            self._floor = -self._rows[-1][0]

    def best(self, k: int) -> list[tuple[int, int, float]]:
        return [(i, j, -c) for c, i, j in sorted(self._rows)[:k]]


def _sampled_cosines(vectors: np.ndarray, size: int) -> np.ndarray:
    """Cosines of `size` pairs i < j drawn at random (fixed seed)."""
    rng = np.random.default_rng(SAMPLE_SEED)
    first = rng.integers(0, len(vectors), size)
    second = rng.integers(0, len(vectors), size)
    keep = first != second
    first, second = first[keep], second[keep]
    parts = [
        np.einsum("ij,ij->i", vectors[first[k : k + 20_000]], vectors[second[k : k + 20_000]])
        for k in range(0, len(first), 20_000)
    ]
    return np.concatenate(parts) if parts else np.zeros(0)


def _percentiles(values: np.ndarray) -> tuple[float, float]:
    if not values.size:
        return (0.0, 0.0)
    return (round(float(np.percentile(values, 5)), 2), round(float(np.percentile(values, 95)), 2))


def nearest_row(row: np.ndarray, i: int, k: int) -> list[int]:
    """The k largest of `row` but position i, largest first, ties by position (as a stable
    sort of the whole row), without sorting the whole row."""
    k = min(k, len(row) - 1)
    if k <= 0:
        return []
    scores = row.copy()
    scores[i] = -np.inf
    cut = -np.partition(-scores, k - 1)[k - 1]
    pool = np.flatnonzero(scores >= cut)
    order = pool[np.argsort(-scores[pool], kind="stable")]
    return [int(j) for j in order if j != i][:k]


def nearest(sims: np.ndarray, k: int) -> list[tuple[tuple[int, float], ...]]:
    out = []
    for i, row in enumerate(sims):
        order = [int(j) for j in np.argsort(-row, kind="stable") if j != i][:k]
        out.append(tuple((j, round(float(row[j]), 3)) for j in order))
    return out


def similar_pairs(actions: Sequence[Action], sims: np.ndarray) -> list[Pair]:
    """Pairs far more similar than usual in this corpus, or sharing much of their text."""
    n = len(actions)
    if n < 2:
        return []
    upper = sims[np.triu_indices(n, 1)]
    bar = float(upper.mean() + PAIR_Z * upper.std())
    sets = [shingles(a) for a in actions]
    pairs = []
    for i in range(n):
        for j in range(i + 1, n):
            overlap = jaccard(sets[i], sets[j])
            if sims[i, j] >= bar or overlap >= PAIR_OVERLAP:
                pairs.append(Pair(i, j, round(float(sims[i, j]), 3), round(overlap, 3)))
    pairs.sort(key=lambda p: (p.overlap < PAIR_OVERLAP, -p.cosine))  # copies first
    return pairs[:MAX_PAIRS]

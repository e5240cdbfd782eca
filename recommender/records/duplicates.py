"""Exact and near-exact duplicate detection between action records.

Exact copies share their content id. Near-exact copies (a typo fixed, a sentence added) are
found by the Jaccard similarity of word 3-shingles over the identifying fields.

Pairs of near copies are found without comparing every pair (`pairs_above`): MinHash
signatures of the shingle sets, cut into bands (locality-sensitive hashing): two sets with a
Jaccard of 0.9 share a whole band with a probability above 1 - 4e-8; only the sets that share
a band are compared, with the exact Jaccard. So the pairs kept are exactly those an all-pairs
comparison keeps (none is invented; one missed would need that 4e-8 chance), in about linear
time. Signatures are deterministic (fixed seeds, shingles numbered in reading order).
"""

from __future__ import annotations

import itertools
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from recommender.records.records import CONTENT_FIELDS, Action, DuplicateRef, fold

NEAR_DUPLICATE_THRESHOLD = 0.9


@dataclass(frozen=True)
class DuplicateGroup:
    canonical: Action
    others: tuple[Action, ...]


def shingles(action: Action, size: int = 3) -> frozenset[str]:
    words = " ".join(fold(getattr(action, name)) for name in CONTENT_FIELDS).split()
    if len(words) < size:
        return frozenset([" ".join(words)])
    return frozenset(map(" ".join, zip(*(words[i:] for i in range(size)), strict=False)))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a and not b:
        return 1.0
    common = len(a & b)  # |a ∪ b| = |a| + |b| - |a ∩ b|: the same value, no union built
    return common / (len(a) + len(b) - common)


BANDS, ROWS = 16, 4  # 64 hash functions; P(candidate) = 1 - (1 - J**ROWS) ** BANDS
_SEED = 20260415
_EMPTY = np.iinfo(np.uint64).max


def minhash(sets: Sequence[frozenset[str]], n_hashes: int = BANDS * ROWS) -> np.ndarray:
    """One row of `n_hashes` minima per set (hashes of each shingle), the same in every
    process."""
    numbers: dict[str, int] = {}
    ids = np.fromiter(
        (numbers.setdefault(t, len(numbers)) for s in sets for t in s), dtype=np.int64
    )
    # A stable 64-bit value per shingle (str hashes change from one process to the next).
    stable = np.fromiter(
        (zlib.crc32(b) | zlib.adler32(b) << 32 for b in map(str.encode, numbers)),
        dtype=np.uint64,
        count=len(numbers),
    )
    values = stable[ids]
    sizes = np.fromiter((len(s) for s in sets), dtype=np.int64, count=len(sets))
    out = np.full((len(sets), n_hashes), _EMPTY, dtype=np.uint64)
    filled = np.flatnonzero(sizes > 0)
    if not len(filled):
        return out
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])[filled]
    rng = np.random.default_rng(_SEED)
    # Multiply-shift hashing (Dietzfelbinger): odd a, wrap-around arithmetic, top 32 bits.
    a = rng.integers(0, 1 << 63, size=n_hashes, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    b = rng.integers(0, 1 << 63, size=n_hashes, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for k in range(n_hashes):
            hashed = (a[k] * values + b[k]) >> np.uint64(32)
            out[filled, k] = np.minimum.reduceat(hashed, starts)
    return out


def candidate_pairs(signatures: np.ndarray, bands: int = BANDS) -> set[tuple[int, int]]:
    """Pairs (i < j) of rows equal on at least one band of their signatures."""
    rows = signatures.shape[1] // bands
    pairs: set[tuple[int, int]] = set()
    for band in range(bands):
        block = np.ascontiguousarray(signatures[:, band * rows : (band + 1) * rows])
        _, inverse, counts = np.unique(
            block.view(np.dtype((np.void, block.dtype.itemsize * rows))).ravel(),
            return_inverse=True,
            return_counts=True,
        )
        shared = counts[inverse] > 1
        if not shared.any():
            continue
        members = np.flatnonzero(shared)
        order = members[np.argsort(inverse[members], kind="stable")]
        keys = inverse[order]
        cuts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1], True])
        for start, end in itertools.pairwise(cuts):
            group = order[start:end].tolist()
            pairs.update(
                (group[x], group[y]) for x in range(len(group)) for y in range(x + 1, len(group))
            )
    return pairs


def pairs_above(
    sets: Sequence[frozenset[str]], threshold: float = NEAR_DUPLICATE_THRESHOLD
) -> list[tuple[int, int, float]]:
    """The pairs (i, j), i < j, whose `jaccard` is ≥ `threshold`, with it, sorted; meant
    for near copies (threshold 0.8 and more: lower ones would be missed more often)."""
    found = []
    for i, j in candidate_pairs(minhash(sets)):
        similarity = jaccard(sets[i], sets[j])
        if similarity >= threshold:
            found.append((i, j, similarity))
    return sorted(found)


def _completeness(action: Action) -> tuple[int, int]:
    """More filled fields first, then more text: the best copy becomes canonical."""
    values = [v for v in action.to_dict().values() if v not in ("", [], 0, None)]
    return (len(values), sum(len(str(v)) for v in values))


def _group_indexes(
    actions: Sequence[Action], sets: Sequence[frozenset[str]], threshold: float
) -> list[list[int]]:
    """Union-find over pairs that are exact or near-exact copies."""
    parent = list(range(len(actions)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first_with_id: dict[str, int] = {}
    pairs = [(first_with_id.setdefault(a.id, i), i) for i, a in enumerate(actions)]
    pairs += [(i, j) for i, j, _ in pairs_above(sets, threshold)]
    for i, j in pairs:
        parent[root(j)] = root(i)
    groups: dict[int, list[int]] = {}
    for i in range(len(actions)):
        groups.setdefault(root(i), []).append(i)
    return list(groups.values())


def find_duplicates(
    actions: Sequence[Action], threshold: float = NEAR_DUPLICATE_THRESHOLD
) -> tuple[list[Action], list[DuplicateGroup]]:
    """Return the canonical actions (first-seen order) and the duplicate groups.

    Each canonical action lists its other copies in `duplicates`.
    """
    canonical_at: dict[int, Action] = {}
    groups: list[DuplicateGroup] = []
    sets = [shingles(a) for a in actions]
    for members in _group_indexes(actions, sets, threshold):
        if len(members) == 1:
            canonical_at[members[0]] = replace(actions[members[0]], duplicates=())
            continue
        ranked = sorted(members, key=lambda i: (-_completeness(actions[i])[0], i))
        best = ranked[0]
        refs = tuple(
            DuplicateRef(
                id=actions[i].id,
                source_file=actions[i].source_file,
                source_line=actions[i].source_line,
                similarity=round(jaccard(sets[best], sets[i]), 4),
            )
            for i in sorted(members)
            if i != best
        )
        canonical = replace(actions[best], duplicates=refs)
        canonical_at[min(members)] = canonical
        if refs:
            others = tuple(actions[i] for i in sorted(members) if i != best)
            groups.append(DuplicateGroup(canonical, others))
    return [canonical_at[i] for i in sorted(canonical_at)], groups

"""Corpus analysis: each action's neighbours, very similar pairs, k-means themes, coverage.

Each action is represented by the mean of its chunk vectors (from the index, per encoder,
normalised; several encoders are averaged), so no model has to be loaded.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from functools import lru_cache

import numpy as np

from recommender.index.directory import LoadedIndex
from recommender.index.lexical import analyze, token, words
from recommender.records.duplicates import jaccard, shingles
from recommender.records.privacy import mask_text
from recommender.records.records import Action, fold
from recommender.reports.needs_file import ReportError

NEIGHBOURS = 5
PAIR_Z = 2.5  # a pair this many standard deviations above the mean cosine is flagged
PAIR_OVERLAP = 0.3  # or this share of common 3-word sequences (copied text)
MAX_PAIRS = 30
SEED = 0
# Words too vague to name a theme (« autres », « tous », « place »…).
_VAGUE = frozenset(analyze("autres tous toutes place faire permet permettre mise mettre ainsi"))


@dataclass(frozen=True)
class Cluster:
    number: int
    terms: tuple[str, ...]  # most distinctive words of the theme
    keywords: tuple[str, ...]  # most frequent keyword tags
    members: tuple[int, ...]  # action positions, closest to the centre first

    @property
    def label(self) -> str:
        return ", ".join(self.terms[:3])


@dataclass(frozen=True)
class Pair:
    first: int
    second: int
    cosine: float
    overlap: float  # Jaccard of word 3-shingles


@dataclass(frozen=True)
class CorpusReport:
    actions: tuple[Action, ...]
    neighbours: tuple[tuple[tuple[int, float], ...], ...]  # per action: (position, cosine)
    pairs: tuple[Pair, ...]
    clusters: tuple[Cluster, ...]
    theme_of: tuple[int, ...]  # cluster number per action
    typical: tuple[float, float]  # 5th and 95th percentiles of the pair cosines
    created: str
    masked: bool

    @property
    def duplicate_groups(self) -> tuple[Action, ...]:
        return tuple(a for a in self.actions if a.duplicates)


def analyse(index: LoadedIndex, *, mask: bool = True, block: int | None = None) -> CorpusReport:
    actions = index.actions
    vectors = action_vectors(index)
    scan = scan_pairs(actions, vectors, block or BLOCK)
    labels, centroids = kmeans(vectors, choose_k(len(actions)))
    stem_sets = [_stems(a) for a in actions]
    clusters = tuple(
        describe(number, np.flatnonzero(labels == c), actions, vectors, centroids[c], stem_sets)
        for number, c in enumerate(_order_clusters(labels), start=1)
    )
    theme_of = [0] * len(actions)
    for cluster in clusters:
        for i in cluster.members:
            theme_of[i] = cluster.number
    shown = tuple(mask_shown(a) for a in actions) if mask else tuple(actions)
    return CorpusReport(
        actions=shown,
        neighbours=scan.neighbours,
        pairs=scan.pairs,
        clusters=clusters,
        theme_of=tuple(theme_of),
        typical=scan.typical,
        created=datetime.now().strftime("%d/%m/%Y à %H:%M"),
        masked=mask,
    )


def mask_shown(action: Action) -> Action:
    """The report shows of each action its title (and, kept as they are by `mask_action`,
    structure, département, dimension, status): only the title is masked (masking every
    field of 20,000 actions took 20 s). Limit and perspective statements are masked where
    they are cut (answers/pitfalls.py)."""
    return replace(action, title=mask_text(action.title))


def action_vectors(index: LoadedIndex) -> np.ndarray:
    """One unit vector per action; the dot product of two is their mean cosine."""
    position = {a.id: i for i, a in enumerate(index.actions)}
    owner = np.array([position[c.action_id] for c in index.chunks], dtype=np.int64)
    parts = []
    for channel in index.dense:
        chunk_vectors = channel.index.reconstruct_n(0, channel.index.ntotal).astype(np.float64)
        means = np.zeros((len(index.actions), chunk_vectors.shape[1]))
        np.add.at(means, owner, chunk_vectors)
        norms = np.linalg.norm(means, axis=1, keepdims=True)
        parts.append(means / np.where(norms > 0, norms, 1.0))
    if not parts:
        raise ReportError("l'index ne contient aucun vecteur : lancez `reco build`.")
    return np.hstack(parts) / math.sqrt(len(parts))


# ---- neighbours and similar pairs, one block of rows at a time ---------------------------
# The cosine matrix of 20,000 actions would take 3.2 GB: it is computed BLOCK rows at a time
# and only what the report shows is kept; comparing the shared text of every pair took 6 min
# at 5,000 actions. Up to EXACT_PAIRS actions (the real base) every pair is compared as before;
# beyond, copied text is looked for among each action's PAIR_CANDIDATES nearest neighbours.

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
    rng = np.random.default_rng(SEED)
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


def _typical(sims: np.ndarray) -> tuple[float, float]:
    return _percentiles(sims[np.triu_indices(len(sims), 1)])


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


# ---- themes -------------------------------------------------------------------------------


def choose_k(n: int) -> int:
    return max(1, min(n, round(math.sqrt(n / 2))))


def kmeans(
    vectors: np.ndarray, k: int, seed: int = SEED, steps: int = 100
) -> tuple[np.ndarray, np.ndarray]:
    """Spherical k-means (cosine) with k-means++ seeding; deterministic for a seed."""
    rng = np.random.default_rng(seed)
    n = len(vectors)
    centres = [vectors[int(rng.integers(n))]]
    closest = vectors @ centres[0]  # best cosine to a centre so far (one product per centre)
    while len(centres) < k:
        distance = np.clip(1.0 - closest, 0.0, None)
        total = distance.sum()
        pick = rng.choice(n, p=distance / total) if total > 0 else int(rng.integers(n))
        centres.append(vectors[int(pick)])
        closest = np.maximum(closest, vectors @ centres[-1])
    centroids = np.array(centres)
    labels = np.full(n, -1)
    for _ in range(steps):
        new = (vectors @ centroids.T).argmax(axis=1)
        if np.array_equal(new, labels):
            break
        labels = new
        for c in range(k):
            members = vectors[labels == c]
            if len(members):
                mean = members.mean(axis=0)
                centroids[c] = mean / (np.linalg.norm(mean) or 1.0)
    return labels, centroids


def _order_clusters(labels: np.ndarray) -> list[int]:
    """Cluster ids, largest first (empty clusters dropped)."""
    counts = Counter(int(x) for x in labels)
    return sorted(counts, key=lambda c: (-counts[c], c))


def _theme_text(action: Action) -> str:
    return "\n".join([action.title, *action.keywords, action.summary])


def describe(
    number: int,
    members: np.ndarray,
    actions: Sequence[Action],
    vectors: np.ndarray,
    centroid: np.ndarray,
    stem_sets: Sequence[frozenset[str]] | None = None,
) -> Cluster:
    """Distinctive words (frequent in the theme, rarer elsewhere) and frequent tags."""
    stems = _distinctive(members, stem_sets or [_stems(a) for a in actions])
    surface: dict[str, Counter[str]] = {t: Counter() for t in stems}
    for i in members:
        for word in words(_theme_text(actions[i])):
            stem = token(word)  # = analyze(word)[0]: a word from `words` is one token
            if stem is not None and stem in surface:
                surface[stem][word] += 1
    terms: list[str] = []
    for stem in stems:
        word = surface[stem].most_common(1)[0][0] if surface[stem] else ""
        if word and all(fold(word)[:5] != fold(t)[:5] for t in terms):
            terms.append(word)  # « solidaire » after « solidarité » adds nothing
    tags = Counter(k for i in members for k in actions[i].keywords)
    closest = sorted(members.tolist(), key=lambda i: -float(vectors[i] @ centroid))
    return Cluster(
        number, tuple(terms[:6]), tuple(k for k, _ in tags.most_common(4)), tuple(closest)
    )


@lru_cache(maxsize=4096)
def _stems(action: Action) -> frozenset[str]:
    return frozenset(analyze(_theme_text(action)))


@lru_cache(maxsize=2)
def _document_frequency(stem_sets: tuple[frozenset[str], ...]) -> Counter[str]:
    """Counted once per analysis, not once per theme (100 themes at 20,000 actions)."""
    return Counter(t for stems in stem_sets for t in stems)


def _distinctive(members: np.ndarray, stem_sets: Sequence[frozenset[str]]) -> list[str]:
    """Stems by count in the theme × rarity in the corpus (tf-idf), best first."""
    n = len(stem_sets)
    df = _document_frequency(tuple(stem_sets))
    inside = Counter(t for i in members for t in stem_sets[i])
    least = 2 if len(members) > 1 else 1
    score = {
        t: c * math.log((n + 1) / (df[t] + 0.5))
        for t, c in inside.items()
        if c >= least and t.isalpha() and len(t) > 2 and t not in _VAGUE
    }
    return sorted(score, key=lambda t: (-score[t], t))[:10]


def coverage(actions: Sequence[Action]) -> tuple[list[str], list[tuple[str, list[int]]]]:
    """Counts of actions per département (rows) and dimension (columns), with totals."""
    dims = sorted({a.dimension or "non renseignée" for a in actions})
    table: dict[str, Counter[str]] = {}
    for a in actions:
        table.setdefault(a.departement or "non renseigné", Counter())[
            a.dimension or "non renseignée"
        ] += 1
    rows = [
        (dep, [table[dep][d] for d in dims] + [sum(table[dep].values())])
        for dep in sorted(table, key=lambda d: (-sum(table[d].values()), d))
    ]
    totals = [sum(r[1][i] for r in rows) for i in range(len(dims) + 1)]
    return [*dims, "Total"], [*rows, ("Total", totals)]

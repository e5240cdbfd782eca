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
from recommender.records.privacy import mask_text
from recommender.records.records import Action, fold
from recommender.reports.corpus_pairs import BLOCK, Pair, scan_pairs
from recommender.reports.needs_file import ReportError

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
    owner = index.chunk_owner
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

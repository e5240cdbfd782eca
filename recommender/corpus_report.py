"""Corpus report for trainers and federations: neighbours, duplicates, themes, coverage.

Each action is represented by the mean of its chunk vectors (from the index, per encoder,
normalised; several encoders are averaged), so no model has to be loaded.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path

import numpy as np

from recommender.duplicates import jaccard, shingles
from recommender.index import LoadedIndex
from recommender.lexical import analyze, words
from recommender.needs_file import ReportError
from recommender.privacy import mask_action
from recommender.records import Action, fold
from recommender.report_html import Section, fr_number, sections_document
from recommender.report_tables import csv_bytes, write_sheets
from recommender.storage import atomic_write_bytes

OUTPUTS = (".html", ".xlsx", ".csv")
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


@dataclass(frozen=True)
class CorpusStats:
    n_actions: int
    n_clusters: int
    n_duplicate_groups: int
    n_pairs: int
    seconds: float
    out: Path

    def summary(self) -> str:
        return (
            f"Rapport de la base écrit dans {self.out} : {self.n_actions} actions, "
            f"{self.n_clusters} thèmes, {self.n_duplicate_groups} groupe(s) de doublons, "
            f"{self.n_pairs} paire(s) très semblable(s), en {self.seconds:.1f} s."
        )


def check_corpus_output(out: Path) -> str:
    suffix = Path(out).suffix.lower()
    if suffix not in OUTPUTS:
        raise ReportError(
            f"format « {Path(out).suffix or 'sans extension'} » non pris en charge pour le "
            "rapport de la base : choisissez .html, .xlsx ou .csv."
        )
    return suffix


def run_corpus_report(index: LoadedIndex, out: Path, *, mask: bool = True) -> CorpusStats:
    started = time.perf_counter()
    suffix = check_corpus_output(out)
    report = analyse(index, mask=mask)
    WRITERS[suffix](report, Path(out))
    return CorpusStats(
        n_actions=len(report.actions),
        n_clusters=len(report.clusters),
        n_duplicate_groups=len(report.duplicate_groups),
        n_pairs=len(report.pairs),
        seconds=time.perf_counter() - started,
        out=Path(out),
    )


def analyse(index: LoadedIndex, *, mask: bool = True) -> CorpusReport:
    actions = index.actions
    vectors = action_vectors(index)
    sims = vectors @ vectors.T
    labels, centroids = kmeans(vectors, choose_k(len(actions)))
    clusters = tuple(
        describe(number, np.flatnonzero(labels == c), actions, vectors, centroids[c])
        for number, c in enumerate(_order_clusters(labels), start=1)
    )
    theme_of = [0] * len(actions)
    for cluster in clusters:
        for i in cluster.members:
            theme_of[i] = cluster.number
    shown = tuple(mask_action(a) for a in actions) if mask else tuple(actions)
    return CorpusReport(
        actions=shown,
        neighbours=tuple(nearest(sims, NEIGHBOURS)),
        pairs=tuple(similar_pairs(actions, sims)),
        clusters=clusters,
        theme_of=tuple(theme_of),
        typical=_typical(sims),
        created=datetime.now().strftime("%d/%m/%Y à %H:%M"),
        masked=mask,
    )


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


def _typical(sims: np.ndarray) -> tuple[float, float]:
    upper = sims[np.triu_indices(len(sims), 1)]
    if not upper.size:
        return (0.0, 0.0)
    return (round(float(np.percentile(upper, 5)), 2), round(float(np.percentile(upper, 95)), 2))


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
    while len(centres) < k:
        distance = np.clip(1.0 - (vectors @ np.array(centres).T).max(axis=1), 0.0, None)
        total = distance.sum()
        pick = rng.choice(n, p=distance / total) if total > 0 else int(rng.integers(n))
        centres.append(vectors[int(pick)])
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
) -> Cluster:
    """Distinctive words (frequent in the theme, rarer elsewhere) and frequent tags."""
    stems = _distinctive(members, [_stems(a) for a in actions])
    surface: dict[str, Counter[str]] = {t: Counter() for t in stems}
    for i in members:
        for word in words(_theme_text(actions[i])):
            tokens = analyze(word)
            if tokens and tokens[0] in surface:
                surface[tokens[0]][word] += 1
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


def _distinctive(members: np.ndarray, stem_sets: Sequence[frozenset[str]]) -> list[str]:
    """Stems by count in the theme × rarity in the corpus (tf-idf), best first."""
    n = len(stem_sets)
    df = Counter(t for stems in stem_sets for t in stems)
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


# ---- outputs ------------------------------------------------------------------------------


def _sections(r: CorpusReport) -> list[Section]:
    a = r.actions
    themes = [
        (
            c.number,
            c.label,
            len(c.members),
            ", ".join(c.keywords),
            [a[i].title for i in c.members[:3]],
        )
        for c in r.clusters
    ]
    groups = [
        (
            g.title,
            g.id,
            [f"{d.source_file}:{d.source_line} ({d.similarity:.0%})" for d in g.duplicates],
        )
        for g in r.duplicate_groups
    ]
    pairs = [(a[p.first].title, a[p.second].title, p.cosine, f"{p.overlap:.0%}") for p in r.pairs]
    head, rows = coverage(a)
    return [
        ("Thèmes", f"{len(r.clusters)} groupes d'actions proches (k-means sur les vecteurs), "
         "avec leurs mots distinctifs et les actions les plus centrales.",
         ["N°", "Thème (mots distinctifs)", "Actions", "Mots-clés fréquents",
          "Actions représentatives"], themes),
        ("Doublons", "Fiches saisies plusieurs fois : une seule est gardée dans la base, les "
         "copies (fichier:ligne, part de texte commun) sont listées.",
         ["Action conservée", "Identifiant", "Copies"], groups),
        ("Paires très semblables", "Actions bien plus proches que la moyenne de la base, ou "
         "partageant beaucoup de texte : doublon possible ou actions jumelles, à vérifier.",
         ["Action", "Action proche", "Cosinus", "Texte commun"], pairs),
        ("Couverture", "Nombre d'actions par département et par dimension.",
         ["Département", *head], [(dep, *counts) for dep, counts in rows]),
    ]  # fmt: skip


NEIGHBOUR_HEAD = ["Identifiant", "Action", "Structure", "Département", "Dimension", "Thème n°"]
NEIGHBOUR_HEAD += ["Copies", *(f"{x} {k}" for k in range(1, 6) for x in ("Voisin", "Score"))]


def _neighbour_rows(r: CorpusReport) -> list[list[object]]:
    """One row per action: identity, theme, copies, then its neighbours and scores."""
    rows: list[list[object]] = []
    for i, a in enumerate(r.actions):
        cells: list[object] = [a.id, a.title, a.structure_name or a.structure, a.departement]
        cells += [a.dimension, r.theme_of[i], len(a.duplicates)]
        rows.append(
            cells + [x for j, score in r.neighbours[i] for x in (r.actions[j].title, score)]
        )
    return rows


def _intro(r: CorpusReport) -> list[str]:
    masking = "Données personnelles masquées." if r.masked else "Données personnelles NON masquées."
    low, high = (fr_number(x, 2) for x in r.typical)
    return [
        f"Généré le {r.created} — {len(r.actions)} actions. {masking}",
        "Scores : cosinus moyen entre les passages des deux actions (1 = identiques). Dans "
        f"cette base, 90 % des paires sont entre {low} et {high} : comparez les scores "
        "entre eux plutôt qu'à une valeur fixe.",
    ]


def write_html(r: CorpusReport, out: Path) -> None:
    neighbours = [
        (f"{a.title} — {a.structure_name or a.structure} ({a.departement or '?'})", r.theme_of[i],
         [f"{r.actions[j].title} ({fr_number(score)})" for j, score in r.neighbours[i]])
        for i, a in enumerate(r.actions)
    ]  # fmt: skip
    sections = [
        *_sections(r),
        ("Voisins de chaque action", f"Les {NEIGHBOURS} actions les plus proches de chacune.",
         ["Action", "Thème n°", "Voisins (score)"], neighbours),
    ]  # fmt: skip
    page = sections_document("Rapport de la base d'actions", _intro(r), sections)
    atomic_write_bytes(out, page.encode("utf-8"))


def write_xlsx(r: CorpusReport, out: Path) -> None:
    tables = [(title, head, rows) for title, _, head, rows in _sections(r)]
    about = ("À propos", ["Note"], [[line] for line in _intro(r)])
    write_sheets(out, [("Voisins", NEIGHBOUR_HEAD, _neighbour_rows(r)), *tables, about])


def write_csv(r: CorpusReport, out: Path) -> None:
    atomic_write_bytes(out, csv_bytes(NEIGHBOUR_HEAD, _neighbour_rows(r)))


WRITERS = {".html": write_html, ".xlsx": write_xlsx, ".csv": write_csv}

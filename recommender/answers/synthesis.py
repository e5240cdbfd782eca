"""Synthesis across cards: « Points de vigilance » (limits) and « Pistes » (perspectives).

Each card's field is cut into whole sentences (answers/statements.py) and each statement
gets a theme (answers/themes.py: the reviewed label, else the classifier). Statements of
the same theme whose meaning is close (cosine of their vectors at least MERGE_SIMILARITY,
measured on paraphrase pairs from the records: bench/paraphrase_threshold.py) become one
point citing every card that says it. Themes are ordered by how many cards share them,
« Autres points » always last and never alone; at most MAX_POINTS points are shown, one per
theme first. Cards with nothing in the field are counted.

The chat, the reports (HTML, XLSX, Markdown) and the conversation download all read the
`Synthesis` made here and the sentences `point_sentence`, `missing_sentence`,
`hidden_sentence` form; they only lay them out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from recommender.answers.statements import clip, statements
from recommender.answers.themes import OTHER, StatementThemes, normalise, themes_for
from recommender.index.lexical import analyze

LIMITS, PERSPECTIVES = "limite", "perspective"
VIGILANCE_TITLE = "Points de vigilance (limites rencontrées ailleurs)"
PISTES_TITLE = "Pistes (perspectives des autres centres)"
OTHER_LABEL = "Autres points"
FIELD_NAMES = {LIMITS: "limites", PERSPECTIVES: "perspectives"}
MAX_POINTS = 5
# Same theme and cosine >= 0.45: 5 errors on 48 hand-read pairs of statements of the records
# (19 paraphrases, 29 neighbouring points; e5-adapted on records and written needs,
# bench/paraphrase_threshold.py): no different points merged, 5 paraphrases kept apart
# (paraphrases 0.25-0.97, different points 0.14-0.63). With the former model: 0.49, 5 errors.
MERGE_SIMILARITY = 0.45
LEXICAL_SIMILARITY = 0.6  # Jaccard of stems, when there are no vectors (no encoder)
POINT_CHARS = 240


@dataclass(frozen=True)
class Point:
    text: str  # the statement that stands for the point (the most central one)
    sources: tuple[int, ...]  # card numbers (1-based) that say it
    merged: tuple[str, ...] = ()  # the other statements said in other words


@dataclass(frozen=True)
class Group:
    theme: str  # French label
    points: tuple[Point, ...]
    key: str = OTHER
    cards: tuple[int, ...] = ()  # every card with a statement of this theme


@dataclass(frozen=True)
class Synthesis:
    kind: str  # LIMITS or PERSPECTIVES
    groups: tuple[Group, ...] = ()
    n_cards: int = 0
    without: tuple[int, ...] = ()  # cards whose field says nothing
    hidden: int = 0  # statements not shown (beyond MAX_POINTS, or only « autre »)

    def __bool__(self) -> bool:
        return bool(self.groups or self.without or self.hidden)

    @property
    def title(self) -> str:
        return VIGILANCE_TITLE if self.kind == LIMITS else PISTES_TITLE


def count_phrase(n: int, total: int) -> str:
    return f"{n} action{'s' if n > 1 else ''} sur {total}"


def cards_phrase(cards: Sequence[int]) -> str:
    return f"fiche{'s' if len(cards) > 1 else ''} {', '.join(str(c) for c in cards)}"


def point_sentence(point: Point, n_cards: int, size: int = POINT_CHARS) -> tuple[str, str, str]:
    """(« 3 actions sur 5 », the point's text, « fiches 1, 3, 4 ») for any layout."""
    return (
        count_phrase(len(point.sources), n_cards),
        clip(point.text, size),
        cards_phrase(point.sources),
    )


def point_line(point: Point, n_cards: int, size: int = POINT_CHARS) -> str:
    """« 3 actions sur 5 : le public s'essouffle (fiches 1, 3, 4) » in plain text."""
    count, text, cards = point_sentence(point, n_cards, size)
    return f"{count} : {text} ({cards})"


def missing_sentence(synthesis: Synthesis) -> str:
    """« 2 fiches sans limites renseignées (fiches 3, 5) », or nothing."""
    n = len(synthesis.without)
    if not n:
        return ""
    noun = "fiche" if n == 1 else "fiches"
    return (
        f"{n} {noun} sans {FIELD_NAMES[synthesis.kind]} renseignées "
        f"({cards_phrase(synthesis.without)})"
    )


def hidden_sentence(synthesis: Synthesis) -> str:
    """« 3 autres énoncés dans les fiches », or nothing."""
    n = synthesis.hidden
    if not n:
        return ""
    return f"{n} autre{'s' if n > 1 else ''} énoncé{'s' if n > 1 else ''} dans les fiches"


def notes(synthesis: Synthesis) -> list[str]:
    return [s for s in (missing_sentence(synthesis), hidden_sentence(synthesis)) if s]


def as_lines(synthesis: Synthesis) -> list[str]:
    """The synthesis as plain text lines (CLI, tests)."""
    if not synthesis:
        return []
    lines = [synthesis.title]
    for group in synthesis.groups:
        lines.append(f"  {group.theme}")
        lines += [f"    - {point_line(p, synthesis.n_cards)}" for p in group.points]
    lines += [f"  ({n})" for n in notes(synthesis)]
    return lines


# ---- merging by meaning --------------------------------------------------------------------


@dataclass
class _Cluster:
    key: str
    texts: list[str]
    cards: list[int]
    rows: list[int]  # rows of the vectors matrix


def _merge(items: Sequence[tuple[int, str, str]], vectors: np.ndarray | None) -> list[_Cluster]:
    """Statements (card, text, theme) of one theme and close meaning become one cluster."""
    clusters: list[_Cluster] = []
    stems = [set(analyze(text)) for _, text, _ in items]
    for row, (card, text, key) in enumerate(items):
        best, best_score = None, -1.0
        for cluster in clusters:
            if cluster.key != key:
                continue
            if normalise(text) in {normalise(t) for t in cluster.texts}:
                score = 2.0  # the same sentence (a record copied, or said twice)
            elif key == OTHER:
                score = -1.0  # « autre » gathers unlike statements: never merged by meaning
            elif vectors is not None:
                centre = vectors[cluster.rows].mean(axis=0)
                centre /= max(float(np.linalg.norm(centre)), 1e-12)
                score = float(vectors[row] @ centre)
                score = score if score >= MERGE_SIMILARITY else -1.0
            else:
                joined = set().union(*(stems[r] for r in cluster.rows))
                jaccard = len(stems[row] & joined) / max(len(stems[row] | joined), 1)
                score = jaccard if jaccard >= LEXICAL_SIMILARITY else -1.0
            if score > best_score:
                best, best_score = cluster, score
        if best is None or best_score < 0:
            clusters.append(_Cluster(key, [text], [card], [row]))
        else:
            best.texts.append(text)
            best.rows.append(row)
            if card not in best.cards:
                best.cards.append(card)
    return clusters


# A sentence that leans on the one before (« Il en est de même pour les jouets ») does not
# stand for a point when another one can.
_LEANING = re.compile(
    r"^(?:il en est de m[eê]me|cela|ceci|ce qui|pour cela|donc|mais|or|en effet|par ailleurs"
    r"|de plus|aussi|ils?|elles?)\b",
    re.IGNORECASE,
)


def _point(cluster: _Cluster, vectors: np.ndarray | None, theme: np.ndarray | None) -> Point:
    """The statement that stands alone and is closest to both the cluster's centre and its
    theme's definition stands for it (the shorter one on a tie)."""
    leaning = [bool(_LEANING.match(t)) for t in cluster.texts]
    if vectors is not None and len(cluster.rows) > 1:
        sub = vectors[cluster.rows]
        centre = sub.mean(axis=0) + (theme if theme is not None else 0.0)
        centrality = (sub @ centre).round(4)
    else:
        centrality = np.zeros(len(cluster.texts))
    order = sorted(
        range(len(cluster.texts)),
        key=lambda i: (leaning[i], -centrality[i], len(cluster.texts[i])),
    )
    chosen = cluster.texts[order[0]]
    merged = tuple(dict.fromkeys(t for t in cluster.texts if t != chosen))
    return Point(chosen, tuple(sorted(cluster.cards)), merged)


def _theme_vectors(themes: StatementThemes, kind: str, keys: set[str]) -> dict[str, np.ndarray]:
    """Vectors of the definitions of `keys` (« label : definition »), if there is an encoder."""
    if themes.vectors is None or not keys:
        return {}
    chosen = [t for t in themes.taxonomy.of(kind) if t.key in keys]
    vectors = themes.vectors([f"{t.label} : {t.positive}" for t in chosen])
    return {t.key: v for t, v in zip(chosen, vectors, strict=True)}


def synthesise(
    texts: Sequence[str],
    kind: str,
    themes: StatementThemes | None = None,
    max_points: int = MAX_POINTS,
) -> Synthesis:
    """The synthesis of one field (`texts`: one per card, in card order)."""
    themes = themes or themes_for(None)
    items: list[tuple[int, str]] = [
        (card, s) for card, text in enumerate(texts, start=1) for s in statements(text)
    ]
    said = {card for card, _ in items}
    without = tuple(c for c in range(1, len(texts) + 1) if c not in said)
    if not items:
        return Synthesis(kind, (), len(texts), without, 0)
    keys = themes.themes([t for _, t in items], kind)
    vectors = themes.vectors([t for _, t in items]) if themes.vectors is not None else None
    clusters = _merge([(c, t, k) for (c, t), k in zip(items, keys, strict=True)], vectors)
    theme_vectors = _theme_vectors(themes, kind, {c.key for c in clusters if len(c.rows) > 1})
    by_key: dict[str, list[Point]] = {}
    for cluster in clusters:
        point = _point(cluster, vectors, theme_vectors.get(cluster.key))
        by_key.setdefault(cluster.key, []).append(point)
    order = [t.key for t in themes.taxonomy.of(kind)]

    def cards_of(key: str) -> tuple[int, ...]:
        return tuple(sorted({c for p in by_key[key] for c in p.sources}))

    ranked = sorted(
        by_key,
        key=lambda k: (
            k == OTHER,
            -len(cards_of(k)),
            -max(len(p.sources) for p in by_key[k]),  # a point shared by more cards first
            -len(by_key[k]),
            order.index(k),
        ),
    )
    for key in ranked:
        by_key[key].sort(key=lambda p: (-len(p.sources), len(p.text)))
    chosen: dict[str, list[Point]] = {k: [] for k in ranked}
    shown = 0
    depth = 0
    while shown < max_points and any(len(chosen[k]) < len(by_key[k]) for k in ranked):
        for key in ranked:
            if shown >= max_points:
                break
            if key == OTHER and (depth > 0 or not any(chosen[k] for k in ranked if k != OTHER)):
                continue  # « Autres points »: one point at most, after a theme, never alone
            if depth < len(by_key[key]):
                chosen[key].append(by_key[key][depth])
                shown += 1
        depth += 1
        if depth > max(len(v) for v in by_key.values()):
            break
    groups = tuple(
        Group(
            OTHER_LABEL if key == OTHER else themes.label(kind, key),
            tuple(chosen[key]),
            key,
            tuple(sorted({c for p in chosen[key] for c in p.sources}))
            if key == OTHER
            else cards_of(key),
        )
        for key in ranked
        if chosen[key]
    )
    total = sum(1 + len(p.merged) for points in by_key.values() for p in points)
    in_points = sum(1 + len(p.merged) for g in groups for p in g.points)
    return Synthesis(kind, groups, len(texts), without, total - in_points)


def vigilance(limits: Sequence[str], themes: StatementThemes | None = None) -> Synthesis:
    return synthesise(limits, LIMITS, themes)


def pistes(perspectives: Sequence[str], themes: StatementThemes | None = None) -> Synthesis:
    return synthesise(perspectives, PERSPECTIVES, themes)

"""Views of the corpus for the app: 2-D map, full records, masked hits, facet choices.

The map is a PCA (NumPy SVD) of each action's mean chunk vector, read back from the first
dense channel of the index with FAISS `reconstruct_n`.
"""

from __future__ import annotations

import hashlib
import html
from collections.abc import Sequence
from dataclasses import dataclass

import faiss
import numpy as np

from recommender.core.text import md
from recommender.index.directory import LoadedIndex
from recommender.records.privacy import mask_action, mask_text
from recommender.records.records import LIST_FIELDS, TEXT_FIELDS, Action, fold
from recommender.search.filters import Facet, Filters, facet_counts

ALL = "(tous)"  # dropdown value meaning « no filter on this facet »
SIDE_FACETS = (Facet.DEPARTEMENT, Facet.DIMENSION, Facet.PUBLIC, Facet.STATUS)


# ---- 2-D map -------------------------------------------------------------------------------


@dataclass(frozen=True)
class MapPoint:
    action: Action
    x: float
    y: float


def chunk_vectors(index: faiss.Index) -> np.ndarray:
    """All vectors stored in a FAISS index (IVF indexes get a direct map first)."""
    if isinstance(index, faiss.IndexIVF):
        index.make_direct_map()
    return np.asarray(index.reconstruct_n(0, index.ntotal), dtype=np.float64)


def action_vectors(loaded: LoadedIndex) -> np.ndarray:
    """One row per action: the mean of its chunk vectors (zeros if it has none)."""
    vectors = chunk_vectors(loaded.dense[0].index)
    owner = loaded.chunk_owner  # rows added in order, as the loop over passages did
    sums = np.zeros((len(loaded.actions), vectors.shape[1]))
    np.add.at(sums, owner, vectors)
    counts = np.bincount(owner, minlength=len(loaded.actions))
    return sums / np.maximum(counts, 1)[:, None]


def pca_2d(vectors: np.ndarray) -> np.ndarray:
    """The first two principal components of the rows (n × 2; zeros if fewer than 2 rows)."""
    out = np.zeros((len(vectors), 2))
    if len(vectors) < 2:
        return out
    centred = vectors - vectors.mean(axis=0)
    _, _, components = np.linalg.svd(centred, full_matrices=False)
    projected = centred @ components[:2].T
    out[:, : projected.shape[1]] = projected
    return out


MAP_POINTS = 2_000  # beyond this many actions the map shows a sample (readable, light page)
TABLE_ROWS = 500  # rows and record choices sent to the page (search narrows the rest)


def sample_points(points: Sequence[MapPoint], limit: int = MAP_POINTS) -> list[MapPoint]:
    """At most `limit` points, the same ones at every load (chosen by a hash of the id, so
    a rebuild keeps the unchanged actions on the map); all of them when there are fewer."""
    if len(points) <= limit:
        return list(points)
    keyed = sorted(points, key=lambda p: hashlib.blake2b(p.action.id.encode()).digest())
    kept = {id(p) for p in keyed[:limit]}
    return [p for p in points if id(p) in kept]


def action_map(loaded: LoadedIndex) -> list[MapPoint]:
    xy = pca_2d(action_vectors(loaded))
    return [
        MapPoint(a, round(float(x), 4), round(float(y), 4))
        for a, (x, y) in zip(loaded.actions, xy, strict=True)
    ]


# ---- full records --------------------------------------------------------------------------

FIELD_LABELS: dict[str, str] = {
    "title": "Titre", "structure_name": "Structure", "structure": "Structure (export)",
    "departement": "Département", "status": "Statut", "end_reason": "Motif de fin",
    "dimension": "Dimension", "keywords": "Mots-clés", "summary": "Résumé",
    "initiative": "À l'initiative de", "initiative_detail": "Initiative (précision)",
    "territory": "Territoire", "experience": "Raisons et objectifs", "public": "Public",
    "partners": "Partenaires", "description": "Description", "resources": "Moyens",
    "people": "Personnes mobilisées", "result_territory": "Résultats pour le territoire",
    "result_centre": "Résultats pour le centre",
    "result_inhabitants": "Résultats pour les habitants", "limits": "Limites",
    "perspectives": "Perspectives", "files": "Documents",
}  # fmt: skip
assert set(FIELD_LABELS) == set(TEXT_FIELDS) | set(LIST_FIELDS)


def record_markdown(action: Action, *, mask: bool = True) -> str:
    """Every field of a record as escaped Markdown (« non renseigné » when empty)."""
    shown = mask_action(action) if mask else action
    lines = [f"### {md(shown.title)}", f"*Identifiant : {md(shown.id)}*"]
    for name, label in FIELD_LABELS.items():
        if name == "title":
            continue
        value = getattr(shown, name)
        text = (", ".join(value) if name in LIST_FIELDS else value).strip()
        body = md(text).replace("\n", "  \n") if text else "*non renseigné*"
        lines.append(f"**{md(label)}** :  \n{body}")
    return "\n\n".join(lines)


# ---- browsing and facets -------------------------------------------------------------------


def facet_choices(
    actions: Sequence[Action], facet: Facet, current: Sequence[str] = ()
) -> list[tuple[str, str]]:
    """Dropdown choices « Yvelines (22) » → value, after « (tous) »; several current values
    (from a chat follow-up) appear as one extra choice joined by « | »."""
    counts = facet_counts(actions)[facet.value]
    choices = [(ALL, ALL), *((f"{v} ({n})", v) for v, n in counts.items())]
    if len(current) > 1:
        choices.append((" ou ".join(current), "|".join(current)))
    return choices


def choice_value(current: Sequence[str]) -> str:
    """The dropdown value showing a facet's current filter values."""
    return "|".join(current) if current else ALL


def chosen_values(value: str | None) -> tuple[str, ...]:
    """Filter values for a dropdown value (« (tous) » or nothing: no filter)."""
    if not value or value == ALL:
        return ()
    return tuple(v for v in value.split("|") if v)


def browse(actions: Sequence[Action], text: str, filters: Filters) -> list[Action]:
    """Actions matching the filters whose title, structure, summary or keywords contain
    every word typed (accents and case ignored), sorted by title."""
    wanted = fold(text).split()
    kept = []
    for action in actions:
        if not filters.matches(action):
            continue
        haystack = fold(" ".join((action.title, action.structure, action.summary)))
        haystack += " " + fold(" ".join(action.keywords))
        if all(w in haystack for w in wanted):
            kept.append(action)
    return sorted(kept, key=lambda a: fold(a.title))


def action_label(action: Action, mask: bool = True) -> str:
    """« Titre — Structure (Département) » for dropdowns."""
    title = mask_text(action.title) if mask else action.title
    where = f" ({action.departement})" if action.departement else ""
    return f"{title} — {action.structure_label}{where}"


def table_rows(actions: Sequence[Action], mask: bool = True) -> list[list[str]]:
    """One row per action for the trainers' table (the id last, to open the record)."""
    return [
        [
            mask_text(a.title) if mask else a.title,
            a.structure_label,
            a.departement,
            a.dimension,
            a.status,
            a.id,
        ]
        for a in actions
    ]


def map_rows(points: Sequence[MapPoint], mask: bool = True) -> list[list[object]]:
    """x, y, dimension, title, structure, département per action (for a scatter plot)."""
    return [
        [
            p.x,
            p.y,
            p.action.dimension or "non renseignée",
            mask_text(p.action.title) if mask else p.action.title,
            p.action.structure_label,
            p.action.departement,
        ]
        for p in points
    ]


PALETTE = ("#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2", "#9d755d")
UNKNOWN_COLOUR = "#bab0ac"


def map_colours(points: Sequence[MapPoint]) -> dict[str, str]:
    """A fixed colour per dimension (most frequent first); grey when not filled in."""
    counts = facet_counts(p.action for p in points)[Facet.DIMENSION.value]
    colours = {d: PALETTE[i % len(PALETTE)] for i, d in enumerate(counts)}
    return {**colours, "non renseignée": UNKNOWN_COLOUR}


def legend_html(colours: dict[str, str]) -> str:
    """The map's legend as HTML (labels escaped): « ● Citoyenneté  ● Services … »."""
    items = (
        f'<span style="margin-right:1.2em"><span style="color:{c}">●</span> '
        f"{html.escape(name)}</span>"
        for name, c in colours.items()
    )
    return '<div style="font-size:0.95em">' + "".join(items) + "</div>"

"""Ranking leads of issue 13 measured on the dev needs only (docs/EVALUATION.md, « Pistes »).

Each lead gives standardised evidence matrices (needs x actions); a logistic model over them
is cross-validated by need (5 folds, 3 fold draws) on the dev needs of both labelled sets,
as `bench.tune_ranking` does for the default channels. Test splits are never read.

Usage: python -m bench.ranking_leads data/eval/blind.json data/eval/queries.json
(index and encoders as for `reco search`: RECO_INDEX, RECO_ENCODERS…; one dense channel)
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.tune_ranking import fit, ranked_ndcg
from recommender.core.config import Settings
from recommender.index.chunks import ChunkField, field_texts
from recommender.index.hubness import CHUNK_CANDIDATES, pool_by_action
from recommender.index.lexical import LexicalIndex
from recommender.records.records import Action
from recommender.search.evaluate import LabelledQuery, load_queries
from recommender.search.fusion import standardise
from recommender.search.passages import query_stems
from recommender.search.service import Engine, prepare_query

FOLDS, DRAWS = 5, 3
FIELDS: dict[str, Callable[[Action], str]] = {
    "titre": lambda a: a.title,
    "mots-clés": lambda a: " ; ".join(a.keywords),
    "public": lambda a: " ; ".join(a.public),
    "résumé": lambda a: a.summary,
    "raisons": lambda a: f"{a.experience}\n{a.initiative_detail}",
    "description": lambda a: a.description,
}


@dataclass
class Evidence:
    """Raw per-need evidence of the dev needs, computed once."""

    bm25: np.ndarray  # needs x actions (with glossary expansion, as searched)
    field_bm25: dict[str, np.ndarray]
    cosines: np.ndarray  # needs x chunks
    query_vectors: np.ndarray
    chunk_vectors: np.ndarray
    owner: np.ndarray
    fields: np.ndarray  # each chunk's ChunkField position
    hub: np.ndarray
    coverage: np.ndarray  # IDF-weighted share of the need's words in each action
    length: np.ndarray


def gather(engine: Engine, texts: list[str]) -> Evidence:
    rec = engine.recommender
    channel = rec.index.dense[0]
    chunk_vectors = channel.index.reconstruct_n(0, channel.index.ntotal)
    queries = np.vstack([v[0] for v in rec.encode_queries(texts)]).astype(np.float32)
    per_field = {k: LexicalIndex.build([f(a) for a in rec.actions]) for k, f in FIELDS.items()}
    expansions = [rec.glossary.expand(t) for t in texts]
    return Evidence(
        bm25=np.vstack([rec._lexical(t, e) for t, e in zip(texts, expansions, strict=True)]),
        field_bm25={k: np.vstack([ix.scores(t) for t in texts]) for k, ix in per_field.items()},
        cosines=queries @ chunk_vectors.T,
        query_vectors=queries,
        chunk_vectors=chunk_vectors,
        owner=rec._chunk_owner,
        fields=np.array([list(ChunkField).index(c.field) for c in rec.index.chunks]),
        hub=np.asarray(channel.hub, dtype=np.float64),
        coverage=np.vstack([rec._coverage(query_stems(t))[1] for t in texts]),
        length=np.array([sum(map(len, field_texts(a).values())) for a in rec.actions]),
    )


def z(matrix: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
    valid = np.ones(matrix.shape, dtype=bool) if valid is None else valid
    return np.vstack([standardise(row, v) for row, v in zip(matrix, valid, strict=True)])


def pooled(ev: Evidence, cosines: np.ndarray, pool: int = 2, mask=None) -> np.ndarray:
    n = len(ev.hub)
    rows = np.arange(len(ev.owner)) if mask is None else np.flatnonzero(mask)
    out = []
    for scores in cosines:
        order = rows[np.argsort(-scores[rows], kind="stable")][:CHUNK_CANDIDATES]
        out.append(pool_by_action(order, scores[order], ev.owner, n, pool))
    return np.vstack(out)


def dense_z(ev: Evidence, cosines: np.ndarray | None = None, **kw) -> np.ndarray:
    matrix = pooled(ev, ev.cosines if cosines is None else cosines, **kw)
    return z(matrix, matrix > -1)


def base(ev: Evidence) -> list[np.ndarray]:
    hub = np.tile(ev.hub, (len(ev.bm25), 1))
    return [z(ev.bm25), dense_z(ev), z(hub)]


def rocchio(ev: Evidence, k: int, alpha: float) -> list[np.ndarray]:
    """Pseudo-relevance feedback on the query vector: q + alpha * mean of its top-k chunks."""
    top = np.argsort(-ev.cosines, axis=1)[:, :k]
    moved = ev.query_vectors + alpha * ev.chunk_vectors[top].mean(axis=1)
    moved /= np.linalg.norm(moved, axis=1, keepdims=True)
    first = base(ev)
    return [first[0], dense_z(ev, moved @ ev.chunk_vectors.T), first[2]]


def leads(ev: Evidence) -> dict[str, Callable[[], list[np.ndarray]]]:
    n = len(ev.bm25)
    field_dense = [
        dense_z(ev, pool=1, mask=ev.fields == f) for f in range(len(ChunkField)) if f < 3
    ]
    richer = [
        *[z(m) for m in ev.field_bm25.values()],
        *field_dense,
        ev.coverage,
        z(np.tile(np.log1p(ev.length), (n, 1))),
        dense_z(ev, pool=1),
    ]
    return {
        "défaut : BM25 + dense + a priori": lambda: base(ev),
        "+ BM25 par champ (6)": lambda: base(ev) + [z(m) for m in ev.field_bm25.values()],
        "+ dense par champ (résumé, raisons, description)": lambda: base(ev) + field_dense,
        "+ couverture IDF du besoin": lambda: [*base(ev), ev.coverage],
        "+ longueur de la fiche": lambda: base(ev) + richer[-2:-1],
        "+ tout (12 indices)": lambda: base(ev) + richer,
        "dense : meilleur passage seul": lambda: [*base(ev)[:1], dense_z(ev, pool=1), base(ev)[2]],
        "dense : passages du résumé et des raisons": lambda: [
            base(ev)[0],
            dense_z(ev, mask=ev.fields <= 1),
            base(ev)[2],
        ],
        "Rocchio dense (k=3, α=0,3)": lambda: rocchio(ev, 3, 0.3),
        "Rocchio dense (k=10, α=0,7)": lambda: rocchio(ev, 10, 0.7),
    }


def cross_validated(
    matrices: list[np.ndarray], queries: list[LabelledQuery], ids: list[str]
) -> np.ndarray:
    """Held-out score matrices (needs x actions) averaged over `DRAWS` fold draws of nDCG."""
    per_need = np.zeros(len(queries))
    stacked = [np.column_stack([m[i] for m in matrices]) for i in range(len(queries))]
    for draw in range(DRAWS):
        fold = np.random.default_rng(draw).permutation(len(queries)) % FOLDS
        for k in range(FOLDS):
            train = [i for i in range(len(queries)) if fold[i] != k]
            w = fit(stacked, queries, ids, train)
            for i in np.flatnonzero(fold == k):
                per_need[i] += ranked_ndcg(stacked[i] @ w, ids, queries[i].relevant) / DRAWS
    return per_need


def hubness(matrices: list[np.ndarray], queries, ids, every: list[int]) -> float:
    """Share of needs (with or without an answer) whose top 5, under weights fitted on all
    dev needs, holds the most frequent action."""
    stacked = [np.column_stack([m[i] for m in matrices]) for i in range(len(queries))]
    graded = [i for i in range(len(queries)) if queries[i].relevant]
    w = fit(stacked, queries, ids, graded)
    tops = [set(np.argsort(-(stacked[i] @ w), kind="stable")[:5].tolist()) for i in every]
    counts = Counter(a for top in tops for a in top)
    return counts.most_common(1)[0][1] / len(tops)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("queries", type=Path, nargs="+")
    args = parser.parse_args()
    engine = Engine.load(Settings.from_env())
    ids = [a.id for a in engine.actions]
    sets = [[q for q in load_queries(p) if q.split == "dev"] for p in args.queries]
    queries = [q for s in sets for q in s]
    ev = gather(engine, [prepare_query(q.query).text for q in queries])
    first_set = [i for i, q in enumerate(queries) if i < len(sets[0])]
    graded = [i for i, q in enumerate(queries) if q.relevant]
    print(
        "| piste (dev, validation croisée) | " + " | ".join(map(str, args.queries)) + " | hubness |"
    )
    print("|---|" + "---|" * (len(args.queries) + 1))
    for name, make in leads(ev).items():
        matrices = make()
        kept = [[m[i] for i in graded] for m in matrices]
        per_need = cross_validated([np.vstack(m) for m in kept], [queries[i] for i in graded], ids)
        cells, start = [], 0
        for s in sets:
            count = sum(1 for q in s if q.relevant)
            cells.append(f"{per_need[start : start + count].mean():.3f}")
            start += count
        share = hubness(matrices, queries, ids, first_set)
        print(f"| {name} | " + " | ".join(cells) + f" | {share:.0%} |", flush=True)


if __name__ == "__main__":
    main()

"""Learn the fusion weights (BM25, dense, hub prior) on the dev split of labelled needs.

A logistic model over the standardised channels the search fuses (`Recommender.
score_channels`) predicts « judged relevant » for every (need, action) pair of the dev
needs; its weights, divided by the dense weight, are the `SearchConfig` defaults
(`lexical_weight`, `hub_weight`). Cross-validated by need (5 folds) to show what the learned
weights give on needs they were not fitted on. Test splits are never read.

Usage: python -m bench.tune_ranking data/eval/blind.json data/eval/queries.json [--json]
(index and encoders as for `reco search`: RECO_INDEX, RECO_ENCODERS…)
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from recommender.core.config import Settings
from recommender.search.calibration import fit_logistic
from recommender.search.evaluate import LabelledQuery, load_queries, ndcg
from recommender.search.fusion import standardise
from recommender.search.service import Engine, prepare_query

FOLDS = 5


def channel_matrix(engine: Engine, query: str) -> tuple[list[str], np.ndarray]:
    """Standardised channels for one need: names, and an (actions x channels) matrix."""
    rec = engine.recommender
    text = prepare_query(query).text
    vectors = rec.encode_queries([text])[0]
    lexical = rec._lexical(text, rec.glossary.expand(text))
    dense, _ = rec._dense(vectors)
    channels = rec.score_channels(lexical, dense)
    columns = [standardise(c.scores, c.valid) for c in channels]
    return [c.name for c in channels], np.column_stack(columns)


def ranked_ndcg(scores: np.ndarray, ids: list[str], relevant: Mapping[str, int]) -> float:
    order = np.argsort(-scores, kind="stable")
    return ndcg([ids[i] for i in order], relevant, 10)


def cross_validate(
    matrices: list[np.ndarray], queries: list[LabelledQuery], ids: list[str]
) -> tuple[float, float]:
    """nDCG@10 of held-out needs: learned weights vs equal weights on the same channels."""
    fold = np.random.default_rng(0).permutation(len(queries)) % FOLDS
    learned, equal = [], []
    for k in range(FOLDS):
        train = [i for i in range(len(queries)) if fold[i] != k]
        w = fit(matrices, queries, ids, train)
        for i in (i for i in range(len(queries)) if fold[i] == k):
            learned.append(ranked_ndcg(matrices[i] @ w, ids, queries[i].relevant))
            equal.append(ranked_ndcg(matrices[i][:, :2].sum(axis=1), ids, queries[i].relevant))
    return float(np.mean(learned)), float(np.mean(equal))


def fit(
    matrices: list[np.ndarray], queries: list[LabelledQuery], ids: list[str], rows: list[int]
) -> np.ndarray:
    x = np.vstack([matrices[i] for i in rows])
    y = np.concatenate([[queries[i].relevant.get(a, 0) > 0 for a in ids] for i in rows])
    return fit_logistic(x, y.astype(np.float64))[:-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("queries", type=Path, nargs="+")
    parser.add_argument("--split", default="dev")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    engine = Engine.load(Settings.from_env())
    ids = [a.id for a in engine.actions]
    queries = [q for path in args.queries for q in load_queries(path) if q.split == args.split]
    queries = [q for q in queries if q.relevant]  # needs with no answer say nothing of order
    names, _ = channel_matrix(engine, queries[0].query)
    matrices = [channel_matrix(engine, q.query)[1] for q in queries]
    weights = fit(matrices, queries, ids, list(range(len(queries))))
    cv_learned, cv_equal = cross_validate(matrices, queries, ids)
    dense = weights[names.index("dense0")]
    result = {
        "needs": len(queries),
        "weights": dict(zip(names, np.round(weights, 4).tolist(), strict=True)),
        "lexical_weight": round(float(weights[0] / dense), 3),
        "hub_weight": round(float(-weights[names.index("hub0")] / dense), 3),
        "cv_ndcg10_learned": round(cv_learned, 4),
        "cv_ndcg10_bm25_plus_dense": round(cv_equal, 4),
    }
    print(json.dumps(result, indent=None if args.json else 1))


if __name__ == "__main__":
    main()

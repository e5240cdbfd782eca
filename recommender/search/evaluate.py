"""Ranking metrics over a labelled query set: nDCG@5/10, recall@5, MRR, no-match accuracy."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class LabelledQuery:
    query: str
    relevant: Mapping[str, int]
    split: str = "dev"
    kind: str = ""


def load_queries(path: Path) -> list[LabelledQuery]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path} : jeu de requêtes illisible ({exc})") from exc
    if not isinstance(data, list):
        raise ValueError(f"{path} : une liste JSON de requêtes est attendue")
    queries = []
    for number, item in enumerate(data, start=1):
        if not isinstance(item, dict) or "query" not in item:
            raise ValueError(f"{path} : élément {number} sans champ « query »")
        relevant = {str(k): int(v) for k, v in (item.get("relevant") or {}).items()}
        queries.append(
            LabelledQuery(item["query"], relevant, item.get("split", "dev"), item.get("kind", ""))
        )
    return queries


def dcg(gains: Sequence[float]) -> float:
    return sum((2**g - 1) / math.log2(i + 2) for i, g in enumerate(gains))


def ndcg(ranked: Sequence[str], relevant: Mapping[str, int], k: int) -> float:
    ideal = dcg(sorted(relevant.values(), reverse=True)[:k])
    if ideal == 0:
        return 0.0
    return dcg([relevant.get(doc, 0) for doc in ranked[:k]]) / ideal


def recall(ranked: Sequence[str], relevant: Mapping[str, int], k: int) -> float:
    if not relevant:
        return 0.0
    return len(set(ranked[:k]) & set(relevant)) / len(relevant)


def reciprocal_rank(ranked: Sequence[str], relevant: Mapping[str, int]) -> float:
    for position, doc in enumerate(ranked, start=1):
        if doc in relevant:
            return 1.0 / position
    return 0.0


@dataclass(frozen=True)
class Scores:
    n: int
    ndcg5: float
    ndcg10: float
    recall5: float
    mrr: float
    no_match_accuracy: float | None

    def to_dict(self) -> dict[str, float | int | None]:
        return {
            "n": self.n,
            "ndcg@5": round(self.ndcg5, 4),
            "ndcg@10": round(self.ndcg10, 4),
            "recall@5": round(self.recall5, 4),
            "mrr": round(self.mrr, 4),
            "no_match_accuracy": None
            if self.no_match_accuracy is None
            else round(self.no_match_accuracy, 4),
        }


# Ranked lists deeper than this do not change nDCG@10, recall@5 or MRR much.
EVAL_DEPTH = 20

# A ranker returns the ranked ids and whether it declared « no match ».
Ranker = Callable[[str], tuple[list[str], bool]]


def evaluate(queries: Sequence[LabelledQuery], ranker: Ranker) -> Scores:
    """Ranking metrics over queries with relevant actions; no-match accuracy over all."""
    graded, rows, correct_no_match = [], [], 0
    for q in queries:
        ranked, no_match = ranker(q.query)
        correct_no_match += int(no_match == (not q.relevant))
        if q.relevant:
            graded.append(q)
            rows.append(
                (
                    ndcg(ranked, q.relevant, 5),
                    ndcg(ranked, q.relevant, 10),
                    recall(ranked, q.relevant, 5),
                    reciprocal_rank(ranked, q.relevant),
                )
            )
    n = len(rows) or 1
    means = [sum(col) / n for col in zip(*rows, strict=True)] if rows else [0.0] * 4
    accuracy = correct_no_match / len(queries) if queries else None
    ndcg5, ndcg10, recall5, mrr = means
    return Scores(len(graded), ndcg5, ndcg10, recall5, mrr, accuracy)

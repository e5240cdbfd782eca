"""Method x kind of need table on the blind set (dev and test) and the first labelled set.

Needs an index built with the two e5 encoders:
    RECO_ENCODERS=e5-st,e5-adapted RECO_INDEX=/tmp/idx-both reco build
    RECO_ENCODERS=e5-st,e5-adapted RECO_INDEX=/tmp/idx-both python -m bench.blind_table \
        [--out docs/eval_blind.md]
Query vectors are computed once per need; each row only changes the fusion settings.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from recommender.core.config import Settings
from recommender.search.diagnosis import Ranked, diagnose
from recommender.search.evaluate import EVAL_DEPTH, LabelledQuery, load_queries
from recommender.search.search import SearchConfig
from recommender.search.service import Engine, prepare_query

# Rows: (name, config) for an index whose channels are (e5-st, e5-adapted).
ROWS: tuple[tuple[str, SearchConfig], ...] = (
    ("BM25 seul", SearchConfig(lexical_weight=1.0, dense_weights=(0.0, 0.0), hub_weight=0.0)),
    ("e5-st seul", SearchConfig(lexical_weight=0.0, dense_weights=(1.0, 0.0), hub_weight=0.0)),
    ("e5 adapté seul", SearchConfig(lexical_weight=0.0, dense_weights=(0.0, 1.0), hub_weight=0.0)),
    (
        "ancien défaut : BM25 + e5-st",
        SearchConfig(lexical_weight=1.0, dense_weights=(1.0, 0.0), hub_weight=0.0),
    ),
    (
        "BM25 + e5 adapté (poids égaux)",
        SearchConfig(lexical_weight=1.0, dense_weights=(0.0, 1.0), hub_weight=0.0),
    ),
    (
        "BM25 + e5-st + hub (appris)",
        SearchConfig(lexical_weight=1.0, dense_weights=(1.0, 0.0), hub_weight=0.26),
    ),
    ("nouveau défaut : BM25 + e5 adapté + hub", SearchConfig(dense_weights=(0.0, 1.0))),
)
KINDS = ("narrative", "short", "constat", "hard", "rare")


def run(engine: Engine, queries: Sequence[LabelledQuery], config: SearchConfig, vectors: dict):
    engine.recommender.config = config

    def ranker(text: str) -> Ranked:
        result = engine.recommender.rank(prepare_query(text).text, vectors[text], top=EVAL_DEPTH)
        levels = tuple(h.level for h in result.hits)
        return Ranked(tuple(h.action.id for h in result.hits), result.no_match, levels)

    return diagnose(queries, ranker)


def table(engine: Engine, blind: list[LabelledQuery], first: list[LabelledQuery]) -> str:
    every = blind + first
    texts = [prepare_query(q.query).text for q in every]
    encoded = engine.recommender.encode_queries(texts)
    vectors = {q.query: v for q, v in zip(every, encoded, strict=True)}
    head = "| méthode | split | nDCG@10 | " + " | ".join(KINDS) + " | hubness | 1er jeu nDCG@10 |"
    lines = [head, "|" + "---|" * (len(KINDS) + 5)]
    for name, config in ROWS:
        for split in ("dev", "test"):
            d = run(engine, [q for q in blind if q.split == split], config, vectors)
            old = run(engine, [q for q in first if q.split == split], config, vectors)
            kinds = " | ".join(
                f"{d.by_kind[k].ndcg10:.3f}" if k in d.by_kind else "—" for k in KINDS
            )
            lines.append(
                f"| {name} | {split} | {d.overall.ndcg10:.3f} | {kinds} | "
                f"{d.hubness.share:.0%} | {old.overall.ndcg10:.3f} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blind", type=Path, default=Path("data/eval/blind.json"))
    parser.add_argument("--first", type=Path, default=Path("data/eval/queries.json"))
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    engine = Engine.load(Settings.from_env())
    text = table(engine, load_queries(args.blind), load_queries(args.first))
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

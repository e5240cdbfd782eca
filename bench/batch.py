"""Figure 5: needs per second for a 1,000-needs batch report (batched encoding).

Uses `recommender.reports.report.run_report` (read_needs + run_report) when that module exists;
otherwise `engine.search_many` in batches of 64 plus `compose` per need. The table says
which path was measured.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from pathlib import Path

from bench.common import Section, percentile, timed
from recommender.answers.answer import compose
from recommender.search.need import understand
from recommender.search.service import Engine

BATCH = 64
COLUMNS = ["chemin mesuré", "besoins", "durée p50 (s)", "besoins/s p50", "besoins/s (pire)"]
VARIANTS = ("", " Merci pour vos idées.", " C'est urgent pour la rentrée.", " En QPV.")


def needs_texts(queries: Sequence[str], n: int) -> list[str]:
    """`n` varied needs: the evaluation queries with different endings, in turn."""
    return [
        queries[i % len(queries)] + VARIANTS[(i // len(queries)) % len(VARIANTS)] for i in range(n)
    ]


def report_module():
    try:
        module = importlib.import_module("recommender.reports.report")
    except ImportError:
        return None
    has_api = hasattr(module, "run_report") and hasattr(module, "read_needs")
    return module if has_api else None


def with_report(engine: Engine, texts: Sequence[str], work: Path) -> float:
    module = report_module()
    source = work / "besoins.txt"
    source.write_text("\n".join(texts) + "\n", encoding="utf-8")
    needs = module.read_needs(source)
    seconds, _ = timed(lambda: module.run_report(engine, needs, work / "rapport.csv", top=5))
    return seconds


def with_search_many(engine: Engine, texts: Sequence[str]) -> float:
    def run() -> None:
        for start in range(0, len(texts), BATCH):
            batch = texts[start : start + BATCH]
            for text, result in zip(batch, engine.search_many(batch), strict=True):
                compose(result, understand(text, engine.actions))

    return timed(run)[0]


def run(engine: Engine, queries: Sequence[str], n: int, repeats: int, work: Path) -> Section:
    section = Section("batch", f"Rapport par lots ({n} besoins)", COLUMNS)
    texts = needs_texts(queries, n)
    work.mkdir(parents=True, exist_ok=True)
    if report_module() is not None:
        path = "recommender.reports.report.run_report (lecture .txt, recherche par lots de 64, CSV)"
        times = [with_report(engine, texts, work) for _ in range(repeats)]
    else:
        path = "engine.search_many par lots de 64 + compose (module de rapport absent)"
        times = [with_search_many(engine, texts) for _ in range(repeats)]
    median = percentile(times, 50)
    values = [path, n, median, n / median, n / max(times)]
    section.rows.append(dict(zip(COLUMNS, values, strict=True)))
    section.notes.append(
        f"{repeats} rapport(s) de {n} besoins (les besoins d'évaluation avec des fins de phrase "
        "variées), top 5, encodeur par défaut, fichier de sortie dans un dossier temporaire."
    )
    return section

"""Corpus report for trainers and federations: neighbours, duplicates, themes, coverage.

The analysis is in `recommender.reports.corpus_analysis`, the HTML/XLSX/CSV writers in
`recommender.reports.corpus_output`; `run_corpus_report` runs one then the other.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from recommender.index.directory import LoadedIndex
from recommender.reports.corpus_analysis import analyse
from recommender.reports.corpus_output import WRITERS
from recommender.reports.report_tables import output_suffix

OUTPUTS = (".html", ".xlsx", ".csv")


@dataclass(frozen=True)
class CorpusStats:
    n_actions: int
    n_clusters: int
    n_duplicate_groups: int
    n_pairs: int
    seconds: float
    out: Path

    def summary(self) -> str:
        return (
            f"Rapport de la base écrit dans {self.out} : {self.n_actions} actions, "
            f"{self.n_clusters} thèmes, {self.n_duplicate_groups} groupe(s) de doublons, "
            f"{self.n_pairs} paire(s) très semblable(s), en {self.seconds:.1f} s."
        )


def check_corpus_output(out: Path) -> str:
    """The output format from the file name; anything else is refused before analysing."""
    return output_suffix(
        out,
        OUTPUTS,
        "format « {} » non pris en charge pour le rapport de la base : "
        "choisissez .html, .xlsx ou .csv.",
    )


def run_corpus_report(index: LoadedIndex, out: Path, *, mask: bool = True) -> CorpusStats:
    started = time.perf_counter()
    suffix = check_corpus_output(out)
    report = analyse(index, mask=mask)
    WRITERS[suffix](report, Path(out))
    return CorpusStats(
        n_actions=len(report.actions),
        n_clusters=len(report.clusters),
        n_duplicate_groups=len(report.duplicate_groups),
        n_pairs=len(report.pairs),
        seconds=time.perf_counter() - started,
        out=Path(out),
    )

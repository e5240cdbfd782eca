"""Batch similarity reports: a file of needs in, one HTML, XLSX, CSV or Markdown report out.

Public API (also used by the app's « Rapport » tab and the chat's download button):
`read_needs`, `run_report`, `conversation_html`, `ReportError`, `ReportStats`.
Personal data in the records is masked unless the caller says otherwise.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from recommender.answers.answer import Answer, answer_markdown, compose
from recommender.answers.masking import Masker
from recommender.answers.themes import themes_for
from recommender.answers.view import NO_MATCH
from recommender.core.storage import atomic_write_bytes
from recommender.core.text import md
from recommender.reports.needs_file import NeedRow, NeedsFile, ReportError, SkippedRow, read_needs
from recommender.reports.report_html import conversation_document, report_html
from recommender.reports.report_tables import (
    ReportDoc,
    ReportItem,
    output_suffix,
    write_csv,
    write_xlsx,
)
from recommender.search.filters import NO_FILTERS, Filters
from recommender.search.need import understand
from recommender.search.service import Engine, QueryError, prepare_query

__all__ = [
    "ReportError",
    "ReportStats",
    "conversation_html",
    "read_needs",
    "run_report",
]

OUTPUTS = (".html", ".xlsx", ".csv", ".md")
BATCH = 64  # needs encoded per call: fast, and the progress bar still moves
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class ReportStats:
    n_needs: int
    n_skipped: int
    n_results: int
    seconds: float
    out: Path
    skipped_lines: tuple[int, ...] = ()

    def summary(self) -> str:
        """One French sentence for the end of a run."""
        rate = f", {self.n_needs / self.seconds:.1f} besoins/s" if self.seconds > 0 else ""
        skipped = ""
        if self.n_skipped:
            lines = ", ".join(str(n) for n in self.skipped_lines[:20])
            more = " …" if len(self.skipped_lines) > 20 else ""
            skipped = f", {self.n_skipped} ignoré(s) (ligne(s) {lines}{more})"
        return (
            f"Rapport écrit dans {self.out} : {self.n_needs} besoin(s) traité(s){skipped}, "
            f"{self.n_results} résultat(s), en {self.seconds:.1f} s{rate}."
        )


def check_output(out: Path) -> str:
    """The output format from the file name; anything else is refused before searching."""
    return output_suffix(
        out,
        OUTPUTS,
        "format de rapport « {} » non pris en charge : choisissez un fichier .html "
        "(lecture, impression PDF), .xlsx (Excel), .csv (tableur) ou .md (texte).",
    )


def run_report(
    engine: Engine,
    needs: NeedsFile,
    out: Path,
    *,
    top: int = 5,
    filters: Filters = NO_FILTERS,
    mask: bool = True,
    progress: Progress | None = None,
) -> ReportStats:
    """Search every need, compose the answers and write the report to `out`."""
    started = time.perf_counter()
    out = Path(out)
    suffix = check_output(out)
    if top < 1:
        raise ReportError("le nombre d'actions par besoin doit être au moins 1.")
    rows, refused = _searchable(needs.needs)
    items = _search(engine, rows, filters, top, mask, progress)
    items, common = _shared_notes(items)
    skipped = tuple(sorted((*needs.skipped, *refused), key=lambda s: s.line))
    doc = ReportDoc(
        source=needs.source,
        column=needs.column,
        extra_columns=needs.extra_columns,
        items=tuple(items),
        skipped=skipped,
        created=datetime.now().strftime("%d/%m/%Y à %H:%M"),
        top=top,
        filters=describe_filters(filters),
        notes=common,
        masked=mask,
    )
    WRITERS[suffix](doc, out)
    return ReportStats(
        n_needs=len(items),
        n_skipped=len(skipped),
        n_results=sum(len(i.answer.cards) for i in items),
        seconds=time.perf_counter() - started,
        out=out,
        skipped_lines=tuple(s.line for s in skipped),
    )


def describe_filters(filters: Filters) -> str:
    parts = [f"{facet.label} : {', '.join(values)}" for facet, values in filters.items()]
    return " ; ".join(parts) or "aucun"


def _searchable(rows: Sequence[NeedRow]) -> tuple[list[NeedRow], list[SkippedRow]]:
    """Needs the engine accepts; the others (only symbols, emoji…) are listed as skipped."""
    kept, refused = [], []
    for row in rows:
        try:
            prepare_query(row.text)
        except QueryError as exc:
            reason = str(exc).split(" : ")[0].rstrip(".")
            refused.append(SkippedRow(row.line, reason[:1].lower() + reason[1:], row.text))
        else:
            kept.append(row)
    return kept, refused


def _search(
    engine: Engine,
    rows: Sequence[NeedRow],
    filters: Filters,
    top: int,
    mask: bool,
    progress: Progress | None,
) -> list[ReportItem]:
    masker = Masker() if mask else None
    themes = themes_for(engine, wait=True)
    items: list[ReportItem] = []
    if progress:
        progress(0, len(rows))
    for start in range(0, len(rows), BATCH):
        batch = rows[start : start + BATCH]
        try:
            results = engine.search_many([r.text for r in batch], filters, top)
        except QueryError as exc:
            raise ReportError(str(exc)) from exc
        for row, result in zip(batch, results, strict=True):
            shown = masker.result(result) if masker else result
            need = understand(row.text, engine.actions)
            answer = compose(shown, need, max_cards=top, themes=themes)
            items.append(ReportItem(len(items) + 1, row, answer))
        if progress:
            progress(len(items), len(rows))
    return items


def _shared_notes(items: list[ReportItem]) -> tuple[list[ReportItem], tuple[str, ...]]:
    """Notes every need got (an unknown filter value…) are said once, at the top."""
    if not items:
        return items, ()
    first = items[0].answer.result.notes
    common = tuple(n for n in first if all(n in i.answer.result.notes for i in items))
    if not common:
        return items, ()
    trimmed = []
    for item in items:
        result = item.answer.result
        kept = tuple(n for n in result.notes if n not in common)
        answer = replace(item.answer, result=replace(result, notes=kept))
        trimmed.append(replace(item, answer=answer))
    return trimmed, common


# ---- outputs ------------------------------------------------------------------------------


def report_markdown(doc: ReportDoc) -> str:
    lines = [
        "# Rapport de similarité — actions des centres sociaux",
        "",
        f"Fichier : **{md(doc.source)}** (colonne « {md(doc.column)} ») — généré le "
        f"{md(doc.created)} — {len(doc.items)} besoin(s), jusqu'à {doc.top} action(s) chacun.  ",
        f"Filtres : {md(doc.filters)}. {md(doc.masking_note)}",
        *(f"*{md(n)}*  " for n in doc.notes),
    ]
    if doc.skipped:
        ignored = ", ".join(f"ligne {s.line} ({s.reason})" for s in doc.skipped)
        lines.append(f"Lignes ignorées : {md(ignored)}.")
    lines += ["", "## Synthèse", "", "| N° | Besoin | Actions les plus proches |", "|---|---|---|"]
    for item in doc.items:
        best = " ; ".join(
            f"{md(c.action.title)} (*{c.hit.level.value}*)" for c in item.answer.cards
        )
        text = md(" ".join(item.row.text.split()))
        lines.append(f"| {item.number} | {text} | {best or f'*{NO_MATCH}*'} |")
    for item in doc.items:
        extras = [f"{md(c)} : {md(item.row.value(c))}" for c in doc.extra_columns]
        lines += ["", f"## Besoin {item.number} (ligne {item.row.line})", ""]
        lines.append("> " + md(" ".join(item.row.text.split())))
        if any(item.row.value(c) for c in doc.extra_columns):
            lines += ["", " · ".join(extras)]
        lines += ["", answer_markdown(item.answer)]
    return "\n".join(lines) + "\n"


def _write_text(text: str, out: Path) -> None:
    atomic_write_bytes(out, text.encode("utf-8"))


WRITERS: dict[str, Callable[[ReportDoc, Path], None]] = {
    ".html": lambda doc, out: _write_text(report_html(doc), out),
    ".md": lambda doc, out: _write_text(report_markdown(doc), out),
    ".csv": write_csv,
    ".xlsx": write_xlsx,
}


def conversation_html(answers: Sequence[Answer], *, mask: bool = True) -> str:
    """The chat's answers as one self-contained HTML page (for the download button)."""
    masker = Masker() if mask else None
    items = [
        ReportItem(number, NeedRow(0, a.need.text), masker.answer(a) if masker else a)
        for number, a in enumerate(answers, start=1)
    ]
    return conversation_document(items, datetime.now().strftime("%d/%m/%Y à %H:%M"))

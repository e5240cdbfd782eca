"""Read a file of needs for a batch report: .csv, .xlsx, .txt or .jsonl.

Tables (.csv, .xlsx, .jsonl objects) have a column holding the need, chosen by name
(« besoin », « need », « description »…) or given by the user; every other column
(territoire, centre…) is carried into the report. Empty needs are skipped and listed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from recommender.records.records import fold
from recommender.reports.needs_formats import (
    MAX_NEEDS,
    SUPPORTED_TEXT,
    TEXT_COLUMN,
    ReportError,
    Table,
    read_table,
)

MAX_BYTES = 10 * 1024 * 1024
SUPPORTED = (".csv", ".xlsx", ".txt", ".jsonl")
# Column names tried in order; within a tier, two matching columns are ambiguous.
_EXACT_TIERS = (("besoin", "besoins", "need", "needs"), ("description", "descriptions"))
_CONTAINS_TIERS = (("besoin", "need"), ("description",))
COLUMN_HINT = "champ « Colonne des besoins » de l'application ou option --column"


@dataclass(frozen=True)
class NeedRow:
    """One need to search, with its line in the file and the other columns' values."""

    line: int
    text: str
    extra: tuple[tuple[str, str], ...] = ()

    def value(self, column: str) -> str:
        return dict(self.extra).get(column, "")


@dataclass(frozen=True)
class SkippedRow:
    line: int
    reason: str
    text: str = ""


@dataclass(frozen=True)
class NeedsFile:
    needs: tuple[NeedRow, ...]
    skipped: tuple[SkippedRow, ...]
    column: str  # the column holding the needs (« besoin » for a .txt file)
    source: str  # file name, shown in the report
    extra_columns: tuple[str, ...] = ()  # carried columns, in file order


def read_needs(path: Path, column: str | None = None) -> NeedsFile:
    """Read and check a needs file; any problem raises ReportError in French."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise ReportError(
            f"format « {path.suffix or 'sans extension'} » non pris en charge pour "
            f"{path.name} : utilisez un fichier {SUPPORTED_TEXT}."
        )
    _check_size(path)
    table = read_table(path)
    chosen = TEXT_COLUMN if suffix == ".txt" else choose_column(table.columns, column)
    return _to_needs(table, chosen, path.name)


def _check_size(path: Path) -> None:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ReportError(f"fichier {path} introuvable ou illisible ({exc.strerror}).") from exc
    if size >= MAX_BYTES:
        megabytes = f"{size / 1024 / 1024:.1f}".replace(".", ",")
        raise ReportError(
            f"{path.name} pèse {megabytes} Mo : les fichiers de {MAX_BYTES // 1024 // 1024} Mo "
            "ou plus sont refusés. Découpez-le en plusieurs parties."
        )


def _to_needs(table: Table, column: str, source: str) -> NeedsFile:
    needs: list[NeedRow] = []
    skipped: list[SkippedRow] = []
    extras = tuple(c for c in table.columns if c != column)
    for line, values in table.rows:
        text = values.get(column, "").strip()
        if not text:
            skipped.append(SkippedRow(line, "besoin vide"))
            continue
        needs.append(NeedRow(line, text, tuple((c, values.get(c, "")) for c in extras)))
    if len(needs) > MAX_NEEDS:
        raise ReportError(
            f"{source} contient {len(needs)} besoins : la limite est de {MAX_NEEDS} par "
            "rapport. Découpez le fichier en plusieurs parties."
        )
    if not needs:
        raise ReportError(f"{source} ne contient aucun besoin (colonne « {column} » vide).")
    return NeedsFile(tuple(needs), tuple(skipped), column, source, extras)


def choose_column(columns: Sequence[str], wanted: str | None = None) -> str:
    """The column holding the needs: the one asked for, else found by its name."""
    found = ", ".join(f"« {c} »" for c in columns) or "aucune"
    if wanted is not None:
        match = [c for c in columns if fold(c) == fold(wanted)]
        if not match:
            raise ReportError(f"colonne « {wanted} » absente. Colonnes trouvées : {found}.")
        return match[0]
    folded = [(c, fold(c)) for c in columns]
    tiers = [[c for c, f in folded if f in names] for names in _EXACT_TIERS]
    tiers += [[c for c, f in folded if any(n in f for n in names)] for names in _CONTAINS_TIERS]
    for candidates in tiers:
        if len(candidates) == 1:
            return candidates[0]
        if len(candidates) > 1:
            listed = ", ".join(f"« {c} »" for c in candidates)
            raise ReportError(
                f"plusieurs colonnes peuvent contenir les besoins ({listed}) : choisissez-en "
                f"une ({COLUMN_HINT}). Colonnes trouvées : {found}."
            )
    if len(columns) == 1:
        return columns[0]
    raise ReportError(
        "aucune colonne « besoin » (ou « need », « description ») : indiquez laquelle "
        f"contient les besoins ({COLUMN_HINT}). Colonnes trouvées : {found}."
    )

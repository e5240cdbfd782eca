"""Read a file of needs for a batch report: .csv, .xlsx, .txt or .jsonl.

Tables (.csv, .xlsx, .jsonl objects) have a column holding the need, chosen by name
(« besoin », « need », « description »…) or given by the user; every other column
(territoire, centre…) is carried into the report. Empty needs are skipped and listed.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from recommender.records import fold

MAX_BYTES = 10 * 1024 * 1024
MAX_NEEDS = 5000
SUPPORTED = (".csv", ".xlsx", ".txt", ".jsonl")
SUPPORTED_TEXT = (
    "CSV (.csv), Excel (.xlsx), texte (.txt, un besoin par ligne) ou JSON Lines (.jsonl)"
)
# Column names tried in order; within a tier, two matching columns are ambiguous.
_EXACT_TIERS = (("besoin", "besoins", "need", "needs"), ("description", "descriptions"))
_CONTAINS_TIERS = (("besoin", "need"), ("description",))
TEXT_COLUMN = "besoin"  # name given to the single column of a .txt file


class ReportError(ValueError):
    """The needs file or the report cannot be made; the message (French) says why."""


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


@dataclass(frozen=True)
class _Table:
    columns: tuple[str, ...]
    rows: tuple[tuple[int, dict[str, str]], ...]  # (line number, column -> value)


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
    if suffix == ".txt":
        table = _read_txt(path)
    elif suffix == ".xlsx":
        table = _read_xlsx(path)
    elif suffix == ".jsonl":
        table = _read_jsonl(path)
    else:
        table = _read_csv(path)
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


def _to_needs(table: _Table, column: str, source: str) -> NeedsFile:
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
                f"une avec --column. Colonnes trouvées : {found}."
            )
    if len(columns) == 1:
        return columns[0]
    raise ReportError(
        "aucune colonne « besoin » (ou « need », « description ») : indiquez laquelle "
        f"contient les besoins avec --column. Colonnes trouvées : {found}."
    )


# ---- formats ------------------------------------------------------------------------------


def _decode(data: bytes) -> str:
    """UTF-8 (with or without BOM), else Windows-1252 (Excel's « CSV » on French Windows)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _read_bytes(path: Path) -> str:
    try:
        return _decode(path.read_bytes())
    except OSError as exc:
        raise ReportError(f"lecture de {path.name} impossible ({exc.strerror}).") from exc


def _read_txt(path: Path) -> _Table:
    lines = _read_bytes(path).splitlines()
    rows = tuple((n, {TEXT_COLUMN: line}) for n, line in enumerate(lines, start=1))
    return _Table((TEXT_COLUMN,), rows)


def _header(cells: Sequence[object]) -> tuple[str, ...]:
    """Column names, stripped; blank or repeated names get a position-based name."""
    names: list[str] = []
    for position, cell in enumerate(cells, start=1):
        name = _cell_text(cell).strip()
        if not name or name in names:
            name = f"{name or 'colonne'} {position}".strip()
        names.append(name)
    return tuple(names)


def _table(header: Sequence[object], body: Sequence[tuple[int, Sequence[object]]]) -> _Table:
    columns = _header(header)
    rows = []
    for line, cells in body:
        texts = [_cell_text(c) for c in cells]
        if not any(t.strip() for t in texts):
            continue  # wholly blank rows are layout, not needs
        rows.append((line, dict(zip(columns, texts, strict=False))))
    return _Table(columns, tuple(rows))


def _read_csv(path: Path) -> _Table:
    text = _read_bytes(path)
    first = text.split("\n", 1)[0]
    delimiter = max((";", ",", "\t"), key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        records = []
        line = 1
        for cells in reader:
            records.append((line, cells))
            line = reader.line_num + 1
    except csv.Error as exc:
        raise ReportError(f"{path.name} ligne {reader.line_num} : CSV illisible ({exc}).") from exc
    if not records:
        raise ReportError(f"{path.name} est vide.")
    return _table(records[0][1], records[1:])


def _read_xlsx(path: Path) -> _Table:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise ReportError(
            f"{path.name} n'est pas un classeur Excel lisible ({type(exc).__name__}) : "
            "enregistrez-le au format .xlsx ou en CSV."
        ) from exc
    try:
        rows = [(n, row) for n, row in enumerate(book.worksheets[0].iter_rows(values_only=True), 1)]
    finally:
        book.close()
    if not rows:
        raise ReportError(f"la première feuille de {path.name} est vide.")
    return _table(rows[0][1], rows[1:])


def _read_jsonl(path: Path) -> _Table:
    columns: dict[str, None] = {}
    rows: list[tuple[int, dict[str, str]]] = []
    for line, raw in enumerate(_read_bytes(path).splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            value = json.loads(raw)
        except ValueError as exc:
            raise ReportError(f"{path.name} ligne {line} : JSON illisible ({exc}).") from exc
        if isinstance(value, str):
            value = {TEXT_COLUMN: value}
        if not isinstance(value, dict):
            raise ReportError(f"{path.name} ligne {line} : un objet JSON {{…}} est attendu.")
        for key in value:
            columns.setdefault(str(key), None)
        rows.append((line, {str(k): _cell_text(v) for k, v in value.items()}))
    if not rows:
        raise ReportError(f"{path.name} est vide.")
    return _Table(tuple(columns), tuple(rows))


def _cell_text(value: object) -> str:
    """A cell as text: integral numbers without « .0 », dates as ISO, lists joined."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list | tuple):
        return ", ".join(_cell_text(v) for v in value)
    if hasattr(value, "isoformat"):
        return value.isoformat()  # type: ignore[no-any-return]
    return str(value)

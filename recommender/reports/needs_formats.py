"""Needs files to tables of cells: one reader per format (.txt, .csv, .xlsx, .jsonl).

Each reader refuses what is not text (images, PDFs, archives: said in the message), decodes
UTF-8, UTF-16 with a BOM or Windows-1252, and stops early on files far beyond what a report
accepts. Choosing the needs column and building the rows is `recommender.reports.needs_file`'s job.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from recommender.core.decoding import UTF16_BOMS, decode_text, guess_delimiter

MAX_NEEDS = 5000
# Reading stops early on files far beyond the limit (a 10 MB file can hold 5 million lines:
# 30 s and 2.5 GB of memory before this cap), and on spreadsheets that inflate when unzipped.
MAX_ROWS = 4 * MAX_NEEDS  # rows kept (blank lines of a .txt included)
MAX_LINES = 200_000  # lines or rows read, blank ones included
MAX_XLSX_UNZIPPED = 50 * 1024 * 1024  # XML scanned by openpyxl: about 8 s at most
SUPPORTED_TEXT = (
    "CSV (.csv), Excel (.xlsx), texte (.txt, un besoin par ligne) ou JSON Lines (.jsonl)"
)
TEXT_COLUMN = "besoin"  # name given to the single column of a .txt file
# What a file that is not text really is, from its first bytes (for the message).
_SIGNATURES = (
    (b"PK\x03\x04", "un classeur Excel ou une archive ZIP (un classeur finit par .xlsx)"),
    (b"\xd0\xcf\x11\xe0", "un ancien classeur Excel (.xls) ou un document Office"),
    (b"%PDF-", "un PDF"),
    (b"\x89PNG", "une image PNG"),
    (b"\xff\xd8\xff", "une image JPEG"),
    (b"GIF8", "une image GIF"),
)
_BINARY_BYTES = frozenset([*range(0, 9), *range(14, 26), *range(27, 32), 127])  # not \x1a


class ReportError(ValueError):
    """The needs file or the report cannot be made; the message (French) says why."""


@dataclass(frozen=True)
class Table:
    columns: tuple[str, ...]
    rows: tuple[tuple[int, dict[str, str]], ...]  # (line number, column -> value)


def read_table(path: Path) -> Table:
    """The table of a .txt, .xlsx or .jsonl file; any other suffix is read as CSV."""
    suffix = path.suffix.lower()
    if suffix == ".txt":
        return _read_txt(path)
    if suffix == ".xlsx":
        return _read_xlsx(path)
    if suffix == ".jsonl":
        return _read_jsonl(path)
    return _read_csv(path)


def _binary_kind(data: bytes) -> str | None:
    """What a file is when it is not text (image, PDF, archive…), else None."""
    if data.startswith(UTF16_BOMS):
        return None
    for signature, kind in _SIGNATURES:
        if data.startswith(signature):
            return kind
    head = data[:65536]
    controls = sum(1 for byte in head if byte in _BINARY_BYTES)
    if b"\x00" in head or controls > max(2, len(head) // 100):
        return "un fichier binaire (image, document, programme…)"
    return None


def _read_bytes(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ReportError(f"lecture de {path.name} impossible ({exc.strerror}).") from exc
    kind = _binary_kind(data)
    if kind is not None:
        raise ReportError(
            f"{path.name} n'est pas un fichier texte : il ressemble à {kind}. "
            f"Enregistrez les besoins en {SUPPORTED_TEXT}."
        )
    return decode_text(data)


def _capped(
    rows: Iterable[tuple[int, Sequence[object]]], name: str, blank_kept: bool = False
) -> Iterator[tuple[int, Sequence[object]]]:
    """Rows with their line numbers, wholly blank ones dropped (kept for a .txt file);
    stops with a ReportError on files far beyond the number of needs a report accepts."""
    kept = 0
    for line, cells in rows:
        if line > MAX_LINES:
            raise ReportError(_too_long(name, f"plus de {MAX_LINES:,} lignes".replace(",", " ")))
        if not blank_kept and not any(_cell_text(c).strip() for c in cells):
            continue  # wholly blank rows are layout, not needs
        kept += 1
        if kept > MAX_ROWS:
            lines = f"plus de {MAX_ROWS:,} lignes remplies".replace(",", " ")
            raise ReportError(_too_long(name, lines))
        yield line, cells


def _too_long(name: str, what: str) -> str:
    return (
        f"{name} contient {what} : la limite est de {MAX_NEEDS} besoins par rapport. "
        "Découpez le fichier en plusieurs parties."
    )


def _read_txt(path: Path) -> Table:
    lines = enumerate(((line,) for line in _read_bytes(path).splitlines()), start=1)
    rows = tuple((n, {TEXT_COLUMN: str(c[0])}) for n, c in _capped(lines, path.name, True))
    return Table((TEXT_COLUMN,), rows)


def _header(cells: Sequence[object]) -> tuple[str, ...]:
    """Column names, stripped; blank or repeated names get a position-based name."""
    names: list[str] = []
    for position, cell in enumerate(cells, start=1):
        name = _cell_text(cell).strip()
        if not name or name in names:
            name = f"{name or 'colonne'} {position}".strip()
        names.append(name)
    return tuple(names)


def _table(header: Sequence[object], body: Iterable[tuple[int, Sequence[object]]]) -> Table:
    """The header's columns and the body's rows (already without wholly blank rows)."""
    columns = _header(header)
    rows = [
        (line, dict(zip(columns, map(_cell_text, cells), strict=False))) for line, cells in body
    ]
    return Table(columns, tuple(rows))


def _read_csv(path: Path) -> Table:
    text = _read_bytes(path)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=guess_delimiter(text))

    def numbered() -> Iterator[tuple[int, Sequence[object]]]:
        line = 1
        for cells in reader:
            yield line, cells
            line = reader.line_num + 1

    try:
        records = list(_capped(numbered(), path.name))
    except csv.Error as exc:
        raise ReportError(f"{path.name} ligne {reader.line_num} : CSV illisible ({exc}).") from exc
    if not records:
        raise ReportError(f"{path.name} est vide.")
    return _table(records[0][1], records[1:])


def _read_xlsx(path: Path) -> Table:
    _check_unzipped_size(path)
    rows = _xlsx_rows(path)
    if not rows:
        raise ReportError(f"la première feuille de {path.name} est vide.")
    return _table(rows[0][1], rows[1:])


def _unreadable(path: Path, exc: Exception) -> ReportError:
    return ReportError(
        f"{path.name} n'est pas un classeur Excel lisible ({type(exc).__name__}) : "
        "enregistrez-le au format .xlsx ou en CSV."
    )


def _check_unzipped_size(path: Path) -> None:
    """Refuse a workbook that would inflate beyond MAX_XLSX_UNZIPPED (a « zip bomb »)."""
    try:
        with zipfile.ZipFile(path) as archive:
            unzipped = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return  # not a zip at all: openpyxl's error says the file is not a workbook
    if unzipped > MAX_XLSX_UNZIPPED:
        raise ReportError(
            f"{path.name} occuperait {unzipped // 1024 // 1024} Mo une fois décompressé "
            f"(limite : {MAX_XLSX_UNZIPPED // 1024 // 1024} Mo) : enregistrez seulement la "
            "feuille des besoins, ou exportez-la en CSV."
        )


def _xlsx_rows(path: Path) -> list[tuple[int, Sequence[object]]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl, zipfile and XML parsers: a damaged or fake workbook
        raise _unreadable(path, exc) from exc
    try:
        if not book.worksheets:
            raise ReportError(f"{path.name} ne contient aucune feuille de calcul.")
        cells = enumerate(_parsed(path, book.worksheets[0].iter_rows(values_only=True)), start=1)
        return list(_capped(cells, path.name))
    finally:
        book.close()


def _parsed(path: Path, rows: Iterator[tuple[object, ...]]) -> Iterator[tuple[object, ...]]:
    """The sheet's rows; only the parser's own work (read-only mode parses lazily, row by
    row) is guarded: an error there means a damaged sheet, not a bug of ours."""
    while True:
        try:
            row = next(rows)
        except StopIteration:
            return
        except Exception as exc:  # XML parser on a damaged sheet
            raise _unreadable(path, exc) from exc
        yield row


def _read_jsonl(path: Path) -> Table:
    columns: dict[str, None] = {}
    rows: list[tuple[int, dict[str, str]]] = []
    lines = enumerate(((raw,) for raw in _read_bytes(path).splitlines()), start=1)
    for line, (raw,) in _capped(lines, path.name):
        try:
            value = json.loads(str(raw))
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
    return Table(tuple(columns), tuple(rows))


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
        return str(value.isoformat())
    return str(value)

"""What a batch report holds, and its tabular outputs: CSV (Excel-friendly) and XLSX.

Every text cell goes through `safe_cell`: a value Excel could read as a formula
(« =… », « +… », « -… », « @… ») is prefixed with an apostrophe.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from recommender.answers.answer import Answer, Card
from recommender.answers.synthesis import Synthesis, notes, point_sentence
from recommender.answers.view import NO_MATCH, NOT_PROVIDED, missing_sentence
from recommender.core.storage import atomic_write_bytes
from recommender.records.records import Action
from recommender.reports.needs_file import NeedRow, ReportError, SkippedRow

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
XLSX_MAX_CHARS = 32_000  # Excel's cell limit is 32,767 characters
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


@dataclass(frozen=True)
class ReportItem:
    number: int  # 1-based position among the needs searched
    row: NeedRow
    answer: Answer


@dataclass(frozen=True)
class ReportDoc:
    """Everything a report shows, whatever its format."""

    source: str
    column: str
    extra_columns: tuple[str, ...]
    items: tuple[ReportItem, ...]
    skipped: tuple[SkippedRow, ...]
    created: str  # « 21/11/2026 à 10:32 »
    top: int
    filters: str  # French description, « aucun » when none
    notes: tuple[str, ...]  # notes shared by all needs (ignored filter values…)
    masked: bool

    @property
    def masking_note(self) -> str:
        if self.masked:
            return "Données personnelles masquées (prénoms, e-mails, téléphones)."
        return "Données personnelles NON masquées (accord du propriétaire des données)."


def output_suffix(out: Path, allowed: Sequence[str], refusal: str) -> str:
    """The output format from the file name (lower-case suffix); any other is refused with
    `refusal`, where `{}` stands for the suffix as typed (or « sans extension »)."""
    suffix = Path(out).suffix.lower()
    if suffix not in allowed:
        raise ReportError(refusal.format(Path(out).suffix or "sans extension"))
    return suffix


def safe_cell(value: object) -> object:
    """Neutralise spreadsheet formulas in text; numbers and None pass unchanged."""
    if not isinstance(value, str):
        return value
    return "'" + value if value.startswith(FORMULA_START) else value


# ---- rows ---------------------------------------------------------------------------------

RESULT_HEADER = (
    "Rang",
    "Niveau",
    "Action",
    "Structure",
    "Département",
    "Statut",
    "Pourquoi (champ)",
    "Passage",
    "Limites",
    "Perspectives",
    "Identifiant",
)


def summary_header(doc: ReportDoc) -> list[str]:
    return ["N°", "Ligne", "Besoin", *doc.extra_columns, *RESULT_HEADER]


def _card_cells(card: Card) -> list[object]:
    v = card.view
    return [
        v.number,
        v.level.value,
        v.title,
        v.structure,
        v.departement,
        v.status_line,
        v.field,
        " ".join(v.passage.text.split()),
        v.limits or NOT_PROVIDED,
        v.perspectives or NOT_PROVIDED,
        v.id,
    ]


def _empty_result(level: str, detail: str = "") -> list[object]:
    return ["", level, detail, *[""] * (len(RESULT_HEADER) - 3)]


def summary_rows(doc: ReportDoc) -> list[list[object]]:
    """One row per need × result; a need without a close action gets one row saying so."""
    rows: list[list[object]] = []
    for item in doc.items:
        head = [item.number, item.row.line, item.row.text]
        head += [item.row.value(c) for c in doc.extra_columns]
        for card in item.answer.cards:
            rows.append(head + _card_cells(card))
        if not item.answer.cards:
            themes = ", ".join(item.answer.result.nearest_themes)
            detail = f"Thèmes voisins : {themes}" if themes else ""
            missing = missing_sentence(item.answer.result.unknown_words)
            detail = " ".join(part for part in (missing, detail) if part)
            rows.append(head + _empty_result(NO_MATCH, detail))
    for skipped in doc.skipped:
        blanks = [""] * len(doc.extra_columns)
        ignored = _empty_result(f"ignoré : {skipped.reason}")
        rows.append(["", skipped.line, skipped.text, *blanks, *ignored])
    return rows


SYNTHESIS_HEADER = ("N°", "Besoin", "Partie", "Thème", "Actions", "Point", "Fiches")


def synthesis_rows(doc: ReportDoc) -> list[list[object]]:
    """The chat's synthesis under each need (answers/synthesis.py), one row per point, then
    a row for the cards without anything in the field."""
    rows: list[list[object]] = []
    for item in doc.items:
        for synthesis in (item.answer.vigilance, item.answer.pistes):
            rows += _synthesis_rows(item, synthesis)
    return rows


def _synthesis_rows(item: ReportItem, synthesis: Synthesis) -> list[list[object]]:
    head: list[object] = [item.number, item.row.text, synthesis.title]
    rows: list[list[object]] = []
    for group in synthesis.groups:
        for point in group.points:
            count, text, cards = point_sentence(point, synthesis.n_cards, XLSX_MAX_CHARS)
            rows.append([*head, group.theme, count, text, cards])
    rows += [[*head, "", "", note, ""] for note in notes(synthesis)]
    return rows


ACTION_FIELDS: tuple[tuple[str, str], ...] = (
    ("id", "Identifiant"),
    ("title", "Titre"),
    ("structure_name", "Structure"),
    ("departement", "Département"),
    ("status", "Statut"),
    ("end_reason", "Motif de fin"),
    ("dimension", "Dimension"),
    ("keywords", "Mots-clés"),
    ("public", "Public"),
    ("territory", "Territoire"),
    ("partners", "Partenaires"),
    ("summary", "Résumé"),
    ("experience", "Raisons et objectifs"),
    ("description", "Description"),
    ("resources", "Moyens"),
    ("people", "Personnes mobilisées"),
    ("result_territory", "Résultats pour le territoire"),
    ("result_centre", "Résultats pour le centre"),
    ("result_inhabitants", "Résultats pour les habitants"),
    ("limits", "Limites"),
    ("perspectives", "Perspectives"),
)


def cited_actions(items: Iterable[ReportItem]) -> list[tuple[Action, list[int]]]:
    """Each action shown in the report once (first-cited order) with the needs citing it."""
    cited: dict[str, tuple[Action, list[int]]] = {}
    for item in items:
        for card in item.answer.cards:
            entry = cited.setdefault(card.action.id, (card.action, []))
            entry[1].append(item.number)
    return list(cited.values())


def action_header() -> list[str]:
    return [label for _, label in ACTION_FIELDS] + ["Cité pour les besoins n°"]


def action_row(action: Action, needs: Sequence[int]) -> list[object]:
    cells: list[object] = []
    for name, _ in ACTION_FIELDS:
        value = action.structure_label if name == "structure_name" else getattr(action, name)
        cells.append(", ".join(value) if isinstance(value, tuple) else value)
    return [*cells, ", ".join(str(n) for n in needs)]


# ---- CSV ----------------------------------------------------------------------------------


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    """UTF-8 with BOM and « ; »: what Excel on a French Windows opens correctly."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow([safe_cell(h) for h in header])
    for row in rows:
        writer.writerow([safe_cell(c) for c in row])
    return buffer.getvalue().encode("utf-8-sig")


def write_csv(doc: ReportDoc, out: Path) -> None:
    atomic_write_bytes(out, csv_bytes(summary_header(doc), summary_rows(doc)))


# ---- XLSX ---------------------------------------------------------------------------------


Sheet = tuple[str, Sequence[str], Iterable[Sequence[object]]]  # title, header, rows


def _xlsx_text(value: object) -> object:
    if isinstance(value, list | tuple):
        value = " ; ".join(str(v) for v in value)
    if isinstance(value, str):
        value = _ILLEGAL_XML.sub(" ", value)[:XLSX_MAX_CHARS]
    return safe_cell(value)


def add_sheet(
    book: object, title: str, header: Sequence[str], rows: Iterable[Sequence[object]]
) -> None:
    """A sheet with a bold frozen header, filters on every column and wrapped long text."""
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    sheet = book.create_sheet(title[:31])  # type: ignore[attr-defined]
    sheet.append([_xlsx_text(h) for h in header])
    widths = [len(h) for h in header]
    for row in rows:
        cells = [_xlsx_text(c) for c in row]
        sheet.append(cells)
        for i, cell in enumerate(cells[: len(widths)]):
            widths[i] = max(widths[i], min(len(str(cell or "")), 60))
    for cell in sheet[1]:
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor="2F5D62")
    wrap = Alignment(wrap_text=True, vertical="top")
    for i, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = max(8, min(width + 2, 60))
        if width >= 40:
            for (cell,) in sheet.iter_rows(min_row=2, min_col=i, max_col=i):
                cell.alignment = wrap
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = sheet.dimensions


def write_sheets(out: Path, sheets: Iterable[Sheet]) -> None:
    """An XLSX workbook, one formatted sheet per table, written atomically."""
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    for title, header, rows in sheets:
        add_sheet(book, title, header, rows)
    buffer = io.BytesIO()
    book.save(buffer)
    atomic_write_bytes(out, buffer.getvalue())


def write_xlsx(doc: ReportDoc, out: Path) -> None:
    cited = cited_actions(doc.items)
    about = [
        ("Fichier des besoins", doc.source),
        ("Colonne des besoins", doc.column),
        ("Date", doc.created),
        ("Besoins traités", len(doc.items)),
        ("Lignes ignorées", ", ".join(f"{s.line} ({s.reason})" for s in doc.skipped) or "aucune"),
        ("Résultats par besoin (maximum)", doc.top),
        ("Filtres", doc.filters),
        ("Données personnelles", doc.masking_note),
        *(("Note", n) for n in doc.notes),
    ]
    sheets: list[Sheet] = [
        ("Synthèse", summary_header(doc), summary_rows(doc)),
        ("Vigilance et pistes", SYNTHESIS_HEADER, synthesis_rows(doc)),
        ("Actions citées", action_header(), [action_row(a, n) for a, n in cited]),
        ("À propos", ["Élément", "Valeur"], about),
    ]
    write_sheets(out, sheets)

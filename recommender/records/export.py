"""Parser of the text export « Les actions des centres sociaux » (both layouts).

Layout 1: a line `Actions`, the title on the next line, then `- Label` lines with values.
Layout 2: `Actions "Title"` on one line, the same labels grouped under section headers
(DESCRIPTION DE L'ACTION, RAISON D'ETRE DE L' ACTION, ...) that are not values.

The parser is driven by the known labels, so field order does not matter. Values of list
fields are `- item` lines; values of text fields are free lines (line breaks kept).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, replace
from functools import lru_cache

from recommender.records.export_format import (
    HEADER,
    LABELS,
    LIST_VALUED,
    SECTION_HEADERS,
    SINGLE_VALUED,
    SUB_HEADINGS,
    ExportError,
    norm_label,
)
from recommender.records.records import Action, fold

_LABEL_BY_NORM = {norm_label(label): name for label, name in LABELS.items()}
_SECTION_NORMS = {norm_label(h) for h in SECTION_HEADERS}
_SUB_NORMS = {norm_label(h) for h in SUB_HEADINGS}
# Multi-word labels can be glued to the end of the previous line (`…usagers,- Structure …`).
_GLUED = re.compile(
    r"^(?P<before>.*\S)\s*- (?P<label>"
    + "|".join(re.escape(norm_label(k)) for k in LABELS if " " in k)
    + r")\s*$"
)
_LAYOUT2_TITLE = re.compile(r'^Actions "(?P<title>.*)"\s*$')


@dataclass(frozen=True)
class Line:
    number: int
    text: str


def split_lines(text: str) -> list[Line]:
    """Number the lines and split labels glued to the end of a previous line."""
    lines: list[Line] = []
    for number, raw in enumerate(text.split("\n"), start=1):
        raw = raw.rstrip()
        match = _GLUED.match(norm_label(raw)) if "- " in raw else None
        if match and not raw.startswith("- "):
            cut = raw.rfind("- ")
            lines.append(Line(number, raw[:cut].rstrip()))
            lines.append(Line(number, "- " + match["label"]))
        else:
            lines.append(Line(number, raw))
    return lines


def label_of(text: str) -> str | None:
    """The field name if `text` is a label line (`- Label`), else None."""
    if not text.startswith("- "):
        return None
    return _LABEL_BY_NORM.get(norm_label(text[2:]))


def _is_structural(text: str) -> bool:
    norm = norm_label(text)
    return label_of(text) is not None or norm in _SECTION_NORMS


def find_record_starts(lines: list[Line]) -> list[tuple[int, str]]:
    """Indexes where a record starts, with its title; body starts after the title line(s)."""
    starts = []
    for i, line in enumerate(lines):
        following = lines[i + 1].text if i + 1 < len(lines) else ""
        match = _LAYOUT2_TITLE.match(line.text)
        if match and (not following.strip() or _is_structural(following)):
            starts.append((i, match["title"].strip()))
        elif line.text.strip() == "Actions" and following.strip() and not _is_structural(following):
            after = lines[i + 2].text if i + 2 < len(lines) else ""
            if not after.strip() or _is_structural(after) or after.strip() == "Actions":
                starts.append((i, following.strip()))
    return starts


def _suspect_label(text: str) -> str | None:
    """A known label that `- text` nearly spells (a typo or renamed label), if any."""
    if not text.startswith("- "):
        return None
    return _close_label(norm_label(text[2:]))


@lru_cache(maxsize=65536)
def _close_label(norm: str) -> str | None:
    """The list items (« - Parentalité ») come back in every record: compared once."""
    close = difflib.get_close_matches(norm, list(_LABEL_BY_NORM), n=1, cutoff=0.86)
    return close[0] if close and close[0] != norm else None


@dataclass
class _Builder:
    """Mutable accumulator for one record while its lines are read."""

    source: str
    start: int
    title: str
    lists: dict[str, list[str]]
    texts: dict[str, list[str]]
    seen: list[str]

    def add(self, name: str, line: Line) -> None:
        text = line.text
        if name in LIST_VALUED:
            self._add_item(name, line)
        elif text.strip() != "-":
            self.texts.setdefault(name, []).append(text)

    def _add_item(self, name: str, line: Line) -> None:
        text = line.text.strip()
        if not text or text == "-" or norm_label(text) in _SUB_NORMS:
            return
        if not text.startswith("- "):
            raise ExportError(
                self.source, line.number, f"valeur inattendue dans le champ « {name} » : {text!r}"
            )
        items = self.lists.setdefault(name, [])
        if name in SINGLE_VALUED and items:
            raise ExportError(
                self.source,
                line.number,
                f"libellé de champ inconnu « {text[2:]} » (le champ « {name} » a déjà "
                f"une valeur : « {items[0]} »)",
            )
        items.append(text[2:].strip())


def _clean_text(lines: list[str]) -> str:
    while lines and not lines[0].strip():
        lines = lines[1:]
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    return "\n".join(lines)


def _dedupe(items: list[str]) -> tuple[str, ...]:
    seen: dict[str, str] = {}
    for item in items:
        seen.setdefault(fold(item), item)
    return tuple(seen.values())


def _finish(builder: _Builder) -> Action:
    structure = (builder.lists.get("structure") or [""])[0]
    name, sep, dept = structure.rpartition(" - ")
    values: dict[str, object] = {
        "title": builder.title,
        "structure": structure,
        "structure_name": name.strip() if sep else structure,
        "departement": dept.strip() if sep else "",
        "source_file": builder.source,
        "source_line": builder.start,
    }
    for field_name in ("status", "dimension"):
        values[field_name] = (builder.lists.get(field_name) or [""])[0]
    for field_name in ("keywords", "initiative", "territory", "public", "partners"):
        values[field_name] = _dedupe(builder.lists.get(field_name, []))
    for field_name, lines in builder.texts.items():
        values[field_name] = _clean_text(lines)
    return replace(Action(**values), id="").with_id()  # type: ignore[arg-type]


def _parse_record(
    source: str, start: Line, title: str, body: list[Line]
) -> tuple[Action, list[str]]:
    if not title:
        raise ExportError(source, start.number, 'action sans titre (« Actions "" »)')
    builder = _Builder(source, start.number, title, {}, {}, [])
    current: str | None = None
    for line in body:
        name = label_of(line.text)
        if name is not None:
            current = name
            builder.seen.append(name)
            continue
        if norm_label(line.text) in _SECTION_NORMS:
            continue
        suspect = _suspect_label(line.text)
        if suspect is not None:
            raise ExportError(
                source,
                line.number,
                f"libellé de champ inconnu « {line.text[2:]} » (vouliez-vous dire « {suspect} » ?)",
            )
        if current is None:
            if line.text.strip():
                raise ExportError(source, line.number, f"texte hors de tout champ : {line.text!r}")
            continue
        builder.add(current, line)
    return _finish(builder), builder.seen


def parse_export(text: str, source: str) -> list[Action]:
    """Parse one export's text into actions (in file order, duplicates included)."""
    lines = split_lines(text)
    if not any(line.text.strip() for line in lines):
        raise ExportError(source, 1, "le fichier est vide")
    starts = find_record_starts(lines)
    if not starts:
        raise ExportError(
            source,
            1,
            "ce fichier n'est pas un export « Les actions des centres sociaux » "
            "(aucune ligne « Actions » suivie d'un titre et de champs)",
        )
    _check_preamble(lines[: starts[0][0]], source)
    _check_cut_title(lines, source)
    actions = []
    for k, (index, title) in enumerate(starts):
        end = starts[k + 1][0] if k + 1 < len(starts) else len(lines)
        body_from = index + (1 if _LAYOUT2_TITLE.match(lines[index].text) else 2)
        action, seen = _parse_record(source, lines[index], title, lines[body_from:end])
        if k + 1 == len(starts):
            last = next(line for line in reversed(lines[index:end]) if line.text.strip())
            _check_complete(source, last.number, action, seen)
        actions.append(action)
    return actions


def _check_preamble(lines: list[Line], source: str) -> None:
    for line in lines:
        if line.text.strip() and norm_label(line.text) != HEADER:
            raise ExportError(
                source, line.number, f"texte avant la première action : {line.text!r}"
            )


def _check_complete(source: str, last_line: int, action: Action, seen: list[str]) -> None:
    """The last record of a file must reach its last label, else the file was cut.

    Short cards still carry every label (with empty values), so they pass.
    """
    if "perspectives" in seen:
        return
    where = f"s'arrête au champ « {seen[-1]} »" if seen else "n'a aucun champ"
    raise ExportError(
        source,
        last_line,
        f"fichier tronqué : la dernière action « {action.title} » {where} "
        "sans « Suite de l'action : Perspectives »",
    )


# Format lines that may follow the last label (`Perspectives`): a file ending in the first
# letters of one was cut there. Cuts in earlier labels are caught by `_check_complete`.
_CLOSING_LINES = ("Actions", norm_label("FICHIERS ASSOCIES"), norm_label("- Fichier(s) associé(s)"))


def _opens_record(text: str) -> bool:
    """`Actions` or `Actions "…`: a line that can only open a record."""
    return text == "Actions" or text.startswith('Actions "')


def _is_cut_closing_line(text: str) -> bool:
    norm = norm_label(text)
    letters = sum(c.isalpha() for c in norm)
    return letters >= 3 and any(f.startswith(norm) and f != norm for f in _CLOSING_LINES)


def _check_cut_title(lines: list[Line], source: str) -> None:
    """A file whose last lines open a record, or end in half a closing line, was truncated."""
    tail = [line for line in lines if line.text.strip()][-3:]
    opening = next((line for line in tail if _opens_record(line.text.strip())), None)
    if opening or _is_cut_closing_line(tail[-1].text):
        raise ExportError(
            source,
            (opening or tail[-1]).number,
            "fichier tronqué : la fin du fichier coupe une action ou une ligne du format",
        )

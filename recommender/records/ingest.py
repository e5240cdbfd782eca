"""Ingestion: export files (.txt), JSON Lines and CSV into de-duplicated action records.

Bytes are decoded here (UTF-8 with or without BOM, else cp1252/latin-1; CRLF folded) so
the parsers only see clean text.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from recommender.core.decoding import decode_text, guess_delimiter, truncated_line
from recommender.records.duplicates import DuplicateGroup, find_duplicates
from recommender.records.export import parse_export
from recommender.records.export_format import ExportError
from recommender.records.records import LIST_FIELDS, Action

SUPPORTED_SUFFIXES = (".txt", ".jsonl", ".csv")
IGNORED_COLUMNS = ("id", "duplicates", "source_file", "source_line")
MAX_FILE_BYTES = 50 * 1024 * 1024


@dataclass(frozen=True)
class IngestReport:
    """What an ingestion produced: canonical actions and what was found on the way."""

    actions: tuple[Action, ...]
    counts: dict[str, int]
    groups: tuple[DuplicateGroup, ...]
    skipped: tuple[str, ...] = field(default=())

    @property
    def parsed(self) -> int:
        return sum(self.counts.values())


def decode_bytes(data: bytes, source: str) -> str:
    """Decode an export's bytes (`core.decoding`); a copy cut inside a character is refused."""
    line = truncated_line(data)
    if line is not None:
        raise ExportError(
            source, line, "fichier tronqué au milieu d'un caractère (copie incomplète ?)"
        )
    return decode_text(data)


def read_file(path: Path) -> list[Action]:
    """Parse one file according to its extension."""
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise ExportError(path.name, 1, f"fichier trop gros ({size // 1_000_000} Mo, maximum 50)")
    text = decode_bytes(path.read_bytes(), path.name)
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        return parse_jsonl(text, path.name)
    if suffix == ".csv":
        return parse_csv(text, path.name)
    return parse_export(text, path.name)


def parse_jsonl(text: str, source: str) -> list[Action]:
    actions = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ExportError(source, number, f"JSON invalide ({exc.msg})") from exc
        if not isinstance(data, dict):
            raise ExportError(source, number, "chaque ligne doit être un objet JSON")
        actions.append(_from_row(data, source, number))
    if not actions:
        raise ExportError(source, 1, "le fichier est vide")
    return actions


def parse_csv(text: str, source: str) -> list[Action]:
    if not text.strip():
        raise ExportError(source, 1, "le fichier est vide")
    reader = csv.DictReader(io.StringIO(text), delimiter=guess_delimiter(text))
    if "title" not in (reader.fieldnames or []):
        raise ExportError(
            source, 1, f"colonne « title » introuvable (colonnes lues : {reader.fieldnames})"
        )
    actions = []
    for row in reader:
        if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
            continue
        actions.append(_from_row(row, source, reader.line_num))
    return actions


def _split_list(value: object) -> list[str]:
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    text = str(value or "").replace(";", "|").replace("\n", "|")
    return [part.strip() for part in text.split("|") if part.strip() and part.strip() != "-"]


def _from_row(row: dict, source: str, line: int) -> Action:
    if None in row:
        raise ExportError(source, line, "ligne avec plus de cellules que de colonnes")
    data = {k: v for k, v in row.items() if k not in IGNORED_COLUMNS}
    for name in LIST_FIELDS:
        if name in data:
            data[name] = _split_list(data[name])
    data.update(source_file=source, source_line=line)
    try:
        action = Action.from_dict(data)
    except (ValueError, TypeError) as exc:
        raise ExportError(source, line, f"{exc} (noms attendus : ceux de actions.jsonl)") from exc
    if not action.title.strip():
        raise ExportError(source, line, "action sans titre (« title » vide)")
    if action.structure and not action.departement:
        name, sep, dept = action.structure.rpartition(" - ")
        if sep:
            action = replace(action, structure_name=name.strip(), departement=dept.strip())
    return action.with_id()


def list_inputs(paths: Iterable[Path]) -> tuple[list[Path], list[str]]:
    """Expand directories; return the files to read and the names skipped."""
    files: list[Path] = []
    skipped: list[str] = []
    for path in paths:
        if not path.exists():
            raise ExportError(str(path), 0, "fichier ou dossier introuvable")
        candidates = sorted(path.iterdir()) if path.is_dir() else [path]
        for candidate in candidates:
            if candidate.name.startswith(".") or candidate.is_dir():
                continue
            if candidate.suffix.lower() in SUPPORTED_SUFFIXES:
                files.append(candidate)
            else:
                skipped.append(candidate.name)
    return files, skipped


def ingest_paths(paths: Sequence[Path]) -> IngestReport:
    """Read every input, then de-duplicate across all of them.

    All file errors are collected so users can fix every file in one go.
    """
    files, skipped = list_inputs(paths)
    if not files:
        raise ExportError(", ".join(map(str, paths)), 0, "aucun fichier .txt, .jsonl ou .csv")
    parsed: list[Action] = []
    counts: dict[str, int] = {}
    errors: list[str] = []
    for path in files:
        try:
            actions = read_file(path)
        except ExportError as exc:
            errors.append(str(exc))
            continue
        counts[path.name] = len(actions)
        parsed.extend(actions)
    if errors:
        raise IngestFailed(errors)
    canonical, groups = find_duplicates(parsed)
    return IngestReport(tuple(canonical), counts, tuple(groups), tuple(skipped))


class IngestFailed(ValueError):
    """One or more input files could not be read; nothing was written."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors

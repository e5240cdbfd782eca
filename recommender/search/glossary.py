"""The domain glossary (data/glossary.tsv): sector acronyms and field synonyms.

Used to widen a query (« CLAS » also searches « accompagnement scolaire ») and to explain a
match (« CLAS = contrat local d'accompagnement à la scolarité »).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from recommender.records.records import fold


class EntryKind(StrEnum):
    ACRONYM = "sigle"
    SYNONYM = "synonyme"


@dataclass(frozen=True)
class Entry:
    kind: EntryKind
    term: str
    equivalents: tuple[str, ...]

    @property
    def expressions(self) -> tuple[str, ...]:
        return (self.term, *self.equivalents)


@dataclass(frozen=True)
class Expansion:
    """Glossary entries a query mentions, and the extra words to search."""

    entries: tuple[Entry, ...]

    @property
    def extra_text(self) -> str:
        return " ; ".join(" ; ".join(e.expressions) for e in self.entries)

    def notes(self) -> list[str]:
        return [
            f"{e.term} = {e.equivalents[0]}"
            if e.kind is EntryKind.ACRONYM
            else f"« {e.term} » élargi à : {', '.join(e.equivalents[:4])}"
            for e in self.entries
        ]


class GlossaryError(ValueError):
    pass


@lru_cache(maxsize=8192)
def _pattern(expression: str, acronym: bool) -> re.Pattern[str]:
    text = re.escape(expression if acronym else fold(expression))
    return re.compile(rf"(?<![\w]){text}(?![\w])")


@dataclass(frozen=True)
class Glossary:
    entries: tuple[Entry, ...]

    @classmethod
    def load(cls, path: Path) -> Glossary:
        entries = []
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip() or line.startswith("#"):
                continue
            parts = line.split("\t")
            if len(parts) != 3 or parts[0] not in {k.value for k in EntryKind}:
                raise GlossaryError(
                    f"{path}, ligne {number} : attendu « type<TAB>terme<TAB>équivalents »"
                )
            equivalents = tuple(p.strip() for p in parts[2].split("|") if p.strip())
            entries.append(Entry(EntryKind(parts[0]), parts[1].strip(), equivalents))
        return cls(tuple(entries))

    def expand(self, query: str) -> Expansion:
        """Entries whose term or one of its equivalents appears in the query."""
        folded = fold(query)
        found = []
        for entry in self.entries:
            acronym = entry.kind is EntryKind.ACRONYM
            # Acronyms match case-sensitively (« PIJ », not « pij » inside words); the rest folded.
            hit = (acronym and _pattern(entry.term, True).search(query)) or any(
                _pattern(e, False).search(folded)
                for e in (entry.equivalents if acronym else entry.expressions)
            )
            if hit:
                found.append(entry)
        return Expansion(tuple(found))


EMPTY = Glossary(())

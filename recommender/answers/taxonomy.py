"""The reviewed theme taxonomy of limit and perspective statements, and its labelled set.

Both live in `data/synthesis/` (taxonomy.json, labels.json, statements.json; README there):
12 limit themes, 9 perspective themes and « autre » for each side, labelled by two judges;
written.json adds training statements written from the definitions alone (no record read).
answers/themes.py classifies statements with them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from recommender.answers.statements import content_words, fold

SYNTHESIS_DIR = Path(__file__).resolve().parents[2] / "data" / "synthesis"
KINDS = ("limite", "perspective")
OTHER = "autre"


@dataclass(frozen=True)
class Theme:
    kind: str
    key: str
    label: str
    definition: str

    @property
    def positive(self) -> str:
        """What the definition includes (before « ; PAS … »)."""
        return re.split(r";\s*PAS\b", self.definition)[0]

    def phrases(self) -> list[str]:
        """The label and the short phrases of the definition, as extra training texts."""
        parts = re.split(r"[,;()]|\bou\b|\bet\b", self.positive)
        found = [p.strip(" .:-'’") for p in parts]
        return [self.label, *(p for p in found if content_words(p))]


@dataclass(frozen=True)
class Taxonomy:
    themes: tuple[Theme, ...]

    @classmethod
    def load(cls, directory: Path = SYNTHESIS_DIR) -> Taxonomy:
        raw = json.loads((directory / "taxonomy.json").read_text(encoding="utf-8"))
        themes = (Theme(k, t["key"], t["label"], t["definition"]) for k in KINDS for t in raw[k])
        return cls(tuple(themes))

    def of(self, kind: str) -> tuple[Theme, ...]:
        return tuple(t for t in self.themes if t.kind == kind)

    def label(self, kind: str, key: str) -> str:
        return next((t.label for t in self.themes if t.kind == kind and t.key == key), key)

    def keys(self, kind: str) -> list[str]:
        return [t.key for t in self.of(kind)]


@dataclass(frozen=True)
class Labelled:
    id: str
    kind: str
    text: str
    theme: str
    action: str


def load_labelled(directory: Path = SYNTHESIS_DIR) -> tuple[Labelled, ...]:
    statements = json.loads((directory / "statements.json").read_text(encoding="utf-8"))
    labels = json.loads((directory / "labels.json").read_text(encoding="utf-8"))
    return tuple(
        Labelled(s["id"], s["kind"], s["text"], labels[s["id"]], s["action"])
        for s in statements
        if s["id"] in labels
    )


@dataclass(frozen=True)
class Written:
    """A training statement written from a theme's definition alone (not from a record)."""

    kind: str
    theme: str
    text: str


WRITTEN_FILE = "written.json"


def load_written(taxonomy: Taxonomy, directory: Path = SYNTHESIS_DIR) -> tuple[Written, ...]:
    """The written statements of `directory` (none when the file is absent); a theme key
    the taxonomy does not have is an error in the data file, said as such."""
    path = directory / WRITTEN_FILE
    if not path.exists():
        return ()
    rows = json.loads(path.read_text(encoding="utf-8"))
    written = tuple(Written(r["side"], r["theme"], r["text"]) for r in rows)
    unknown = sorted(
        {f"{w.kind}/{w.theme}" for w in written if w.theme not in taxonomy.keys(w.kind)}
    )
    if unknown:
        raise ValueError(f"{path}: thèmes absents de la taxonomie : {', '.join(unknown)}")
    return written


def normalise(text: str) -> str:
    """The text a reviewed label is looked up by: folded, without end punctuation."""
    return " ".join(WORDS.findall(fold(text)))


WORDS = re.compile(r"[^\W_]+(?:'[^\W_]+)*")

"""Field-aware passages: each action becomes a few chunks that remember where they come from.

Long fields are cut into overlapping windows on sentence or line boundaries, so a match can
say *where* it matched (« Limites », « Description ») and long records are fully embedded.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum

from recommender.records.records import Action

MAX_CHARS = 900
OVERLAP_CHARS = 150


class ChunkField(StrEnum):
    """The parts of a record that are embedded separately."""

    SUMMARY = "resume"
    REASONS = "raisons"
    DESCRIPTION = "description"
    RESULTS = "resultats"
    LIMITS = "limites"
    PERSPECTIVES = "perspectives"

    @property
    def label(self) -> str:
        return FIELD_LABELS[self]


FIELD_LABELS: dict[ChunkField, str] = {
    ChunkField.SUMMARY: "Résumé",
    ChunkField.REASONS: "Raisons et objectifs",
    ChunkField.DESCRIPTION: "Description",
    ChunkField.RESULTS: "Résultats",
    ChunkField.LIMITS: "Limites",
    ChunkField.PERSPECTIVES: "Perspectives",
}


@dataclass(frozen=True)
class Chunk:
    action_id: str
    field: ChunkField
    window: int
    start: int
    text: str

    def to_dict(self) -> dict[str, object]:
        return {
            "action_id": self.action_id,
            "field": self.field.value,
            "window": self.window,
            "start": self.start,
            "text": self.text,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Chunk:
        return cls(
            action_id=str(data["action_id"]),
            field=ChunkField(data["field"]),
            window=int(data["window"]),
            start=int(data["start"]),
            text=str(data["text"]),
        )


def _summary_text(action: Action) -> str:
    head = [action.title.strip()]
    tags = [*action.keywords, *action.public]
    if tags:
        head.append(" ; ".join(tags))
    if action.summary.strip():
        head.append(action.summary.strip())
    return "\n".join(head)


def field_texts(action: Action) -> dict[ChunkField, str]:
    """The text of each chunk field of an action (empty fields omitted)."""
    results = (action.result_territory, action.result_centre, action.result_inhabitants)
    texts = {
        ChunkField.SUMMARY: _summary_text(action),
        ChunkField.REASONS: _join(action.experience, action.initiative_detail),
        ChunkField.DESCRIPTION: action.description,
        ChunkField.RESULTS: _join(*results),
        ChunkField.LIMITS: action.limits,
        ChunkField.PERSPECTIVES: action.perspectives,
    }
    return {name: text.strip() for name, text in texts.items() if text.strip()}


def _join(*parts: str) -> str:
    return "\n".join(p.strip() for p in parts if p.strip())


_BREAK = re.compile(r"(?<=[.!?;:])\s+|\n+")


def windows(
    text: str, max_chars: int = MAX_CHARS, overlap: int = OVERLAP_CHARS
) -> Iterator[tuple[int, str]]:
    """Yield (start offset, window) pairs covering `text`, cut at sentence/line breaks."""
    if len(text) <= max_chars:
        yield 0, text
        return
    start = 0
    while start < len(text):
        end = min(len(text), start + max_chars)
        if end < len(text):
            breaks = [m.end() for m in _BREAK.finditer(text, start + max_chars // 2, end)]
            if breaks:
                end = breaks[-1]
        piece = text[start:end]
        lead = len(piece) - len(piece.lstrip())  # keep `start` on the window's first character
        yield start + lead, piece.strip()
        if end >= len(text):
            return
        # Restart a little before the cut, at a word boundary, so context is not lost.
        back = text.rfind(" ", start, max(start + 1, end - overlap))
        start = back + 1 if back > start else end


def chunk_action(action: Action) -> list[Chunk]:
    chunks = []
    for name, text in field_texts(action).items():
        for number, (start, window) in enumerate(windows(text)):
            if window:
                chunks.append(Chunk(action.id, name, number, start, window))
    return chunks


def chunk_actions(actions: Iterable[Action]) -> list[Chunk]:
    return [chunk for action in actions for chunk in chunk_action(action)]


def reference_need(action: Action) -> str:
    """The action's summary read as if a need: hub detection compares actions with these."""
    return _summary_text(action).strip() or action.title


def embedding_text(chunk: Chunk, title: str) -> str:
    """What the dense encoder sees: the title gives each window its context."""
    return field_embedding_text(chunk.field, chunk.text, title)


def field_embedding_text(field: ChunkField, text: str, title: str) -> str:
    if field is ChunkField.SUMMARY:
        return text
    return f"{title} — {field.label} : {text}"

"""Why an action matched: its best passage and the query words or concepts found in it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from recommender.core.text import WORD, highlight
from recommender.index.chunks import Chunk
from recommender.index.lexical import analyze, token

PASSAGE_CHARS = 420


@dataclass(frozen=True)
class Passage:
    chunk: Chunk
    text: str
    spans: tuple[tuple[int, int], ...]  # character spans of matched words in `text`
    terms: tuple[str, ...]  # matched words as written in the passage

    def marked(self, before: str = "«", after: str = "»") -> str:
        """The passage with matched words wrapped (plain text; callers escape for HTML)."""
        return highlight(self.text, self.spans, before, after)


def query_stems(*texts: str) -> frozenset[str]:
    return frozenset(t for text in texts for t in analyze(text))


def _stem_of(word: str) -> str | None:
    return token(word.casefold())


def _excerpt(text: str, stems: frozenset[str], size: int) -> str:
    """A window of `size` chars around the densest run of matched words."""
    if len(text) <= size:
        return text
    positions = [m.start() for m in WORD.finditer(text) if _stem_of(m.group()) in stems]
    if not positions:
        return text[:size].rsplit(" ", 1)[0] + " …"
    best = max(positions, key=lambda p: sum(1 for q in positions if p <= q < p + size))
    start = max(0, best - size // 5)
    start = text.rfind(" ", 0, start) + 1 if start else 0
    end = min(len(text), start + size)
    excerpt = text[start:end].rsplit(" ", 1)[0] if end < len(text) else text[start:end]
    return ("… " if start else "") + excerpt + (" …" if end < len(text) else "")


def make_passage(chunk: Chunk, stems: frozenset[str], size: int = PASSAGE_CHARS) -> Passage:
    text = _excerpt(chunk.text, stems, size)
    spans, terms = [], []
    for match in WORD.finditer(text):
        if len(match.group()) > 2 and _stem_of(match.group()) in stems:
            spans.append(match.span())
            terms.append(match.group())
    return Passage(chunk, text, tuple(spans), tuple(dict.fromkeys(t.lower() for t in terms)))


def best_chunk(
    chunks: Sequence[Chunk],
    dense_scores: Sequence[float],
    chunk_stems: Sequence[frozenset[str]],
    stems: frozenset[str],
) -> Chunk:
    """The chunk with the best dense score, nudged by the query words it contains."""

    def score(i: int) -> float:
        return dense_scores[i] + 0.02 * len(chunk_stems[i] & stems)

    return chunks[max(range(len(chunks)), key=score)]

"""What a need talks about that no record does: the words found in no action.

« Les locataires ont de la moisissure » : if no record contains « moisissure », nothing can be
very close, however similar the rest of the sentence. The share of the need's weight carried
by such words (IDF-weighted) feeds the « rien de proche » detector (search/outside.py), and
the words themselves tell the user what is missing.

A typo is not a new topic: « isolemant », « colectif », « budjet » are one edit away from a
word of the records and are not counted as unknown (`RecordWords.near`).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from recommender.index.analysis import coverage_parts
from recommender.index.lexical import strip_accents, token, words
from recommender.records.records import Action

TYPO_MIN_LETTERS = 6  # shorter words are not excused: « deuil » is not a typo of « seuil »
_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def idf_weights(stems: Iterable[str], df: Mapping[str, int], n_actions: int) -> dict[str, float]:
    """IDF of each stem over the actions; a stem no action has weighs the most."""
    return {t: math.log((n_actions + 1) / (df.get(t, 0) + 0.5)) for t in stems}


def one_edit(word: str) -> set[str]:
    """Every string one deletion, swap of neighbours, replacement or insertion away."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    return {
        *(a + b[1:] for a, b in splits if b),
        *(a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1),
        *(a + c + b[1:] for a, b in splits if b for c in _LETTERS),
        *(a + c + b for a, b in splits for c in _LETTERS),
    }


class RecordWords:
    """The records' words, accents folded, to excuse a misspelled word of a need.

    Built on first use (only needs with a word no record has pay for it), then kept; or
    given, as the index stores it (20,000 actions: 6 s at the first such need otherwise).
    """

    def __init__(self, actions: Sequence[Action], words: frozenset[str] | None = None) -> None:
        self._actions = actions
        self._words: frozenset[str] | None = words
        self._lock = threading.Lock()

    def _vocabulary(self) -> frozenset[str]:
        with self._lock:
            if self._words is None:
                typed = {
                    w
                    for action in self._actions
                    for part in coverage_parts(action)
                    for w in words(part or "")
                }
                self._words = frozenset(map(strip_accents, typed))  # each distinct word once
            return self._words

    def near(self, word: str) -> bool:
        """True when `word` (as typed) is one edit away from a word of the records."""
        folded = strip_accents(word.casefold())
        if len(folded) < TYPO_MIN_LETTERS:
            return False
        vocabulary = self._vocabulary()
        return folded in vocabulary or not vocabulary.isdisjoint(one_edit(folded))


@dataclass(frozen=True)
class Novelty:
    share: float  # IDF-weighted share of the need's words that no record contains
    words: tuple[str, ...]  # those words, as typed (first spelling of each)


def novelty(
    text: str,
    df: Mapping[str, int],
    n_actions: int,
    excused: Callable[[str], bool] | None = None,
) -> Novelty:
    """The need's words no record has; `excused(word)` spares typos of known words."""
    spelling: dict[str, str] = {}
    for word in words(text):
        stem = token(word)
        if stem is not None:
            spelling.setdefault(stem, word)
    if not spelling:
        return Novelty(0.0, ())
    idf = idf_weights(spelling, df, n_actions)
    unknown = [t for t in spelling if df.get(t, 0) == 0 and not (excused and excused(spelling[t]))]
    share = sum(idf[t] for t in unknown) / (sum(idf.values()) or 1.0)
    return Novelty(share, tuple(spelling[t] for t in unknown))

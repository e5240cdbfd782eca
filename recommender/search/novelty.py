"""What a need talks about that no record does: the words found in no action.

« Les locataires ont de la moisissure » : if no record contains « moisissure », nothing can be
very close, however similar the rest of the sentence. The share of the need's weight carried
by such words (IDF-weighted) feeds the « rien de proche » rule (search/calibration.py), and
the words themselves tell the user what is missing.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from recommender.index.lexical import token, words


def idf_weights(stems: Iterable[str], df: Mapping[str, int], n_actions: int) -> dict[str, float]:
    """IDF of each stem over the actions; a stem no action has weighs the most."""
    return {t: math.log((n_actions + 1) / (df.get(t, 0) + 0.5)) for t in stems}


@dataclass(frozen=True)
class Novelty:
    share: float  # IDF-weighted share of the need's words that no record contains
    words: tuple[str, ...]  # those words, as typed (first spelling of each)


def novelty(text: str, df: Mapping[str, int], n_actions: int) -> Novelty:
    spelling: dict[str, str] = {}
    for word in words(text):
        stem = token(word)
        if stem is not None:
            spelling.setdefault(stem, word)
    if not spelling:
        return Novelty(0.0, ())
    idf = idf_weights(spelling, df, n_actions)
    unknown = [t for t in spelling if df.get(t, 0) == 0]
    share = sum(idf[t] for t in unknown) / (sum(idf.values()) or 1.0)
    return Novelty(share, tuple(spelling[t] for t in unknown))

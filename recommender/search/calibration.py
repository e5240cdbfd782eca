"""Plain-French match levels from hit evidence, calibrated on the labelled query set.

A logistic model maps a hit's evidence (dense cosines, share of the query's words found in
the action, fused rank score) to the probability that staff would judge it relevant. The
thresholds turning probabilities into « très proche / proche / à explorer » and the
« rien de proche » rule are fitted on dev splits (`reco calibrate`) and saved as JSON:

- « très proche » is kept for cards graded 2 at least `VERY_CLOSE_PRECISION` of the time,
  and for at most `VERY_CLOSE_SHARE` of the cards shown;
- « rien de proche » when the best of the top three, lowered by the share of the need's
  words that no record contains (« moisissure », « noyade »), is below a threshold chosen so
  that at most `MAX_FALSE_NO_MATCH` of the needs with a grade-2 action are told « rien ».
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path

import numpy as np


class MatchLevel(StrEnum):
    VERY_CLOSE = "très proche"
    CLOSE = "proche"
    EXPLORE = "à explorer"
    FAR = "éloigné"


@dataclass(frozen=True)
class Calibration:
    encoder_ids: tuple[str, ...]
    weights: tuple[float, ...]  # one per feature, then the intercept
    very_close: float
    close: float
    explore: float  # below this a hit is « éloigné »
    no_match: float  # best of the top three (see `nothing_close`) below this: « no match »
    fitted_on: str = "non calibré"
    unknown_weight: float = 0.0  # how much unknown words lower the no-match evidence

    def probability(self, features: np.ndarray) -> np.ndarray:
        features = np.atleast_2d(features)
        w = np.asarray(self.weights, dtype=np.float64)
        if features.shape[1] + 1 != len(w):
            raise ValueError("calibration faite pour un autre nombre d'encodeurs")
        return 1.0 / (1.0 + np.exp(-(features @ w[:-1] + w[-1])))

    def level(self, probability: float) -> MatchLevel:
        if probability >= self.very_close:
            return MatchLevel.VERY_CLOSE
        if probability >= self.close:
            return MatchLevel.CLOSE
        if probability >= self.explore:
            return MatchLevel.EXPLORE
        return MatchLevel.FAR

    def nothing_close(self, best: float, unknown: float) -> bool:
        """« Rien de proche »: `best`, the best probability of the top three hits, lowered
        by `unknown`, the share of the need's (IDF-weighted) words found in no record."""
        return best - self.unknown_weight * unknown < self.no_match

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> Calibration:
        data = json.loads(path.read_text(encoding="utf-8"))
        data["encoder_ids"] = tuple(data["encoder_ids"])
        data["weights"] = tuple(data["weights"])
        return cls(**data)


def default_calibration(encoder_ids: Sequence[str]) -> Calibration:
    """Used until `reco calibrate` has run: cosines and word coverage weigh equally."""
    n = len(encoder_ids)
    weights = [6.0 / max(n, 1)] * n + [1.5, 1.0, 1.5, -6.0]
    return Calibration(tuple(encoder_ids), tuple(weights), 0.6, 0.4, 0.2, 0.0)


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 0.1, steps: int = 50) -> np.ndarray:
    """Logistic regression by Newton's method (weights then intercept)."""
    design = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros(design.shape[1])
    penalty = l2 * np.eye(len(w))
    penalty[-1, -1] = 0.0
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-(design @ w)))
        gradient = design.T @ (p - y) + penalty @ w
        hessian = design.T @ (design * (p * (1 - p))[:, None]) + penalty
        w -= np.linalg.solve(hessian + 1e-9 * np.eye(len(w)), gradient)
    return w


VERY_CLOSE_PRECISION = 0.8  # cards marked « très proche » graded 2 (blind dev)
VERY_CLOSE_SHARE = 1 / 3  # at most this share of the cards shown
MAX_FALSE_NO_MATCH = 0.05  # needs with a grade-2 action told « rien de proche »
CARDS = 5  # levels are fitted on the cards an answer shows


@dataclass(frozen=True)
class LabelledHit:
    """One hit of a labelled query: its evidence and the grade staff gave (0, 1 or 2)."""

    query: int
    rank: int
    features: tuple[float, ...]
    grade: int


@dataclass(frozen=True)
class LabelledNeed:
    """A labelled need as the search saw it."""

    hits: tuple[LabelledHit, ...]
    unknown: float  # share of its words no record contains
    best_grade: int  # of any action in the corpus (0: nothing relevant)


def _smallest_threshold(p: np.ndarray, good: np.ndarray, precision: float) -> float | None:
    """Smallest probability t such that hits with p >= t are `good` at least `precision`."""
    for t in np.unique(np.round(p, 3)):
        kept = p >= t
        if kept.sum() >= 5 and good[kept].mean() >= precision:
            return float(t)
    return None


def _at_most_share(p: np.ndarray, t: float, share: float) -> float:
    """Raise `t` until at most `share` of the probabilities `p` reach it."""
    if not len(p) or (p >= t).mean() <= share:
        return t
    return float(max(t, np.quantile(p, 1 - share) + 1e-6))


def _no_match_rule(best: np.ndarray, unknown: np.ndarray, grade: np.ndarray) -> tuple[float, float]:
    """(unknown_weight, threshold) telling « rien » to the most needs with nothing relevant
    while at most MAX_FALSE_NO_MATCH of the needs with a grade-2 action hear it."""
    two, none = grade == 2, grade == 0
    if not two.any() or not none.any():
        return 0.0, 0.0
    allowed = int(MAX_FALSE_NO_MATCH * two.sum())
    choices = []
    for weight in np.round(np.arange(0.0, 2.01, 0.1), 2):
        score = best - weight * unknown
        threshold = float(np.sort(score[two])[allowed])  # `allowed` grade-2 needs below it
        choices.append(((score[none] < threshold).mean(), -weight, float(weight), threshold))
    _, _, weight, threshold = max(choices)
    return weight, threshold


def _best_of_top3(p: np.ndarray, hits: Sequence[LabelledHit], n_needs: int) -> np.ndarray:
    best = np.zeros(n_needs)
    for probability, h in zip(p, hits, strict=True):
        if h.rank < 3:
            best[h.query] = max(best[h.query], float(probability))
    return best


def fit_calibration(
    encoder_ids: Sequence[str], needs: Sequence[LabelledNeed], source: str
) -> Calibration:
    hits = [h for need in needs for h in need.hits]
    x = np.array([h.features for h in hits], dtype=np.float64)
    grades = np.array([h.grade for h in hits])
    w = fit_logistic(x, (grades > 0).astype(np.float64))
    p = 1.0 / (1.0 + np.exp(-(np.hstack([x, np.ones((len(x), 1))]) @ w)))
    shown = np.array([h.rank < CARDS for h in hits])
    p_shown, g_shown = p[shown], grades[shown]
    explore = _smallest_threshold(p_shown, g_shown > 0, 0.3) or 0.2
    close = max(_smallest_threshold(p_shown, g_shown > 0, 0.6) or 0.5, explore)
    very_close = _smallest_threshold(p_shown, g_shown == 2, VERY_CLOSE_PRECISION) or 0.95
    very_close = max(
        _at_most_share(p_shown[p_shown >= explore], very_close, VERY_CLOSE_SHARE), close
    )
    best = _best_of_top3(p, hits, len(needs))
    unknown = np.array([n.unknown for n in needs])
    weight, no_match = _no_match_rule(best, unknown, np.array([n.best_grade for n in needs]))
    return Calibration(
        tuple(encoder_ids),
        tuple(float(v) for v in w),
        very_close,
        close,
        explore,
        no_match,
        source,
        weight,
    )

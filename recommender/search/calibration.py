"""Plain-French match levels from hit evidence, calibrated on the labelled query set.

A logistic model maps a hit's evidence (dense cosines, share of the query's words found in
the action, fused rank score) to the probability that staff would judge it relevant. The
thresholds turning probabilities into « très proche / proche / à explorer » and the
no-match threshold are fitted on the dev split (`reco calibrate`) and saved as JSON.
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
    no_match: float  # best of the top three below this: honest « no match »
    fitted_on: str = "non calibré"

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


@dataclass(frozen=True)
class LabelledHit:
    """One hit of a labelled query: its evidence and the grade staff gave (0, 1 or 2)."""

    query: int
    rank: int
    features: tuple[float, ...]
    grade: int


def _smallest_threshold(p: np.ndarray, good: np.ndarray, precision: float) -> float | None:
    """Smallest probability t such that hits with p >= t are `good` at least `precision`."""
    for t in np.unique(np.round(p, 3)):
        kept = p >= t
        if kept.sum() >= 5 and good[kept].mean() >= precision:
            return float(t)
    return None


def _no_match_threshold(p: np.ndarray, hits: Sequence[LabelledHit], has_relevant: dict) -> float:
    """Threshold on each query's best probability among its top three hits that
    maximises no-match accuracy (ties: the lowest, to say « nothing » less often)."""
    best: dict[int, float] = {}
    for probability, h in zip(p, hits, strict=True):
        if h.rank < 3:
            best[h.query] = max(best.get(h.query, 0.0), float(probability))
    if not best:
        return 0.0

    def accuracy(t: float) -> float:
        return float(np.mean([(best[q] < t) == (not has_relevant[q]) for q in best]))

    candidates = sorted(set(np.round(list(best.values()), 4)))
    return float(max(candidates, key=lambda t: (accuracy(t), -t)))


def fit_calibration(
    encoder_ids: Sequence[str], hits: Sequence[LabelledHit], has_relevant: dict, source: str
) -> Calibration:
    x = np.array([h.features for h in hits], dtype=np.float64)
    grades = np.array([h.grade for h in hits])
    w = fit_logistic(x, (grades > 0).astype(np.float64))
    p = 1.0 / (1.0 + np.exp(-(np.hstack([x, np.ones((len(x), 1))]) @ w)))
    explore = _smallest_threshold(p, grades > 0, 0.3) or 0.2
    close = max(_smallest_threshold(p, grades > 0, 0.6) or 0.5, explore)
    very_close = max(_smallest_threshold(p, grades == 2, 0.5) or 0.9, close)
    no_match = _no_match_threshold(p, hits, has_relevant)
    return Calibration(
        tuple(encoder_ids), tuple(float(v) for v in w), very_close, close, explore, no_match, source
    )

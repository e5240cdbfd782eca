"""Plain-French match levels from hit evidence, calibrated on the labelled query set.

A logistic model maps a hit's evidence (dense cosines, share of the query's words found in
the action, fused rank score) to the probability that staff would judge it relevant. The
thresholds turning probabilities into « très proche / proche / à explorer » and the
« rien de proche » rule are fitted on dev splits (`reco calibrate`) and saved as JSON:

- « très proche » is kept for cards graded 2 at least `VERY_CLOSE_PRECISION` of the time,
  and for at most `VERY_CLOSE_SHARE` of the cards shown;
- « rien de proche » when a need-level detector (search/outside.py: words no record has,
  best passage against the need's background) finds the need out of corpus, with a bar chosen
  so that at most `outside.MAX_FALSE_NO_MATCH` of the needs with a grade-2 action are told « rien ».

The file is versioned (`CALIBRATION_VERSION`): a file from an older rule is refused with a
message saying to run `reco calibrate` again, and the search falls back to defaults.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from enum import StrEnum
from pathlib import Path

import numpy as np

from recommender.core.storage import atomic_write_bytes
from recommender.search.logistic import fit_logistic, sigmoid
from recommender.search.outside import (
    DEFAULT_DETECTOR,
    Detector,
    fit_detector,
)

CALIBRATION_VERSION = 2  # 2: « rien de proche » by the need-level detector (outside.py)
REFIT = "relancez `reco calibrate data/eval/blind.json data/eval/queries.json --split dev`"


class MatchLevel(StrEnum):
    VERY_CLOSE = "très proche"
    CLOSE = "proche"
    EXPLORE = "à explorer"
    FAR = "éloigné"


@dataclass(frozen=True)
class Calibration:
    encoder_ids: tuple[str, ...]
    weights: tuple[float, ...]  # one per hit feature, then the intercept
    very_close: float
    close: float
    explore: float  # below this a hit is « éloigné »
    detector: Detector = DEFAULT_DETECTOR  # « rien de proche » (search/outside.py)
    fitted_on: str = "non calibré"
    version: int = CALIBRATION_VERSION

    def probability(self, features: np.ndarray) -> np.ndarray:
        features = np.atleast_2d(features)
        w = np.asarray(self.weights, dtype=np.float64)
        if features.shape[1] + 1 != len(w):
            raise ValueError("calibration faite pour un autre nombre d'encodeurs")
        return sigmoid(features @ w[:-1] + w[-1])

    def level(self, probability: float) -> MatchLevel:
        if probability >= self.very_close:
            return MatchLevel.VERY_CLOSE
        if probability >= self.close:
            return MatchLevel.CLOSE
        if probability >= self.explore:
            return MatchLevel.EXPLORE
        return MatchLevel.FAR

    def nothing_close(self, need: Sequence[float]) -> bool:
        """« Rien de proche » for a need's features (`outside.need_features`)."""
        return self.detector.nothing_close(need)

    def save(self, path: Path) -> None:
        text = json.dumps(asdict(self), indent=2, ensure_ascii=False) + "\n"
        atomic_write_bytes(path, text.encode("utf-8"))

    @classmethod
    def load(cls, path: Path) -> Calibration:
        """Raises ValueError (French) for a file of another version or shape."""
        data = json.loads(path.read_text(encoding="utf-8"))
        version = data.get("version", 1) if isinstance(data, dict) else None
        if version != CALIBRATION_VERSION:
            raise ValueError(
                f"{path} est au format {version} (attendu : {CALIBRATION_VERSION}, « rien de "
                f"proche » par détecteur hors corpus) : {REFIT}"
            )
        data["encoder_ids"] = tuple(data["encoder_ids"])
        data["weights"] = tuple(data["weights"])
        found = data["detector"]
        data["detector"] = Detector(
            tuple(found["weights"]),
            tuple(found["mean"]),
            tuple(found["scale"]),
            float(found["threshold"]),
        )
        return cls(**data)


def default_calibration(encoder_ids: Sequence[str]) -> Calibration:
    """Used until `reco calibrate` has run: cosines and word coverage weigh equally."""
    n = len(encoder_ids)
    weights = [6.0 / max(n, 1)] * n + [1.5, 1.0, 1.5, -6.0]
    return Calibration(tuple(encoder_ids), tuple(weights), 0.6, 0.4, 0.2)


VERY_CLOSE_PRECISION = 0.8  # cards marked « très proche » graded 2 (blind dev)
VERY_CLOSE_SHARE = 1 / 3  # at most this share of the cards shown
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
    features: tuple[float, ...]  # need-level evidence (outside.need_features)
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
    allowed = int(share * len(p))  # the bar goes just above the next one down
    return float(max(t, np.sort(p)[::-1][allowed] + 1e-6))


def no_match_inputs(
    calibration: Calibration, needs: Sequence[LabelledNeed]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Need features, best grades, and which needs are told « rien » anyway because even
    their first hit is « éloigné » (as `Recommender` decides)."""
    features = np.array([n.features for n in needs], dtype=np.float64)
    grades = np.array([n.best_grade for n in needs])
    first = [next((h for h in n.hits if h.rank == 0), None) for n in needs]
    forced = np.array(
        [
            h is None or calibration.probability(np.array(h.features))[0] < calibration.explore
            for h in first
        ]
    )
    return features.reshape(len(needs), -1), grades, forced


def fit_calibration(
    encoder_ids: Sequence[str], needs: Sequence[LabelledNeed], source: str
) -> Calibration:
    hits = [h for need in needs for h in need.hits]
    x = np.array([h.features for h in hits], dtype=np.float64)
    grades = np.array([h.grade for h in hits])
    w = fit_logistic(x, (grades > 0).astype(np.float64))
    p = sigmoid(np.hstack([x, np.ones((len(x), 1))]) @ w)
    shown = np.array([h.rank < CARDS for h in hits])
    p_shown, g_shown = p[shown], grades[shown]
    explore = _smallest_threshold(p_shown, g_shown > 0, 0.3) or 0.2
    close = max(_smallest_threshold(p_shown, g_shown > 0, 0.6) or 0.5, explore)
    very_close = _smallest_threshold(p_shown, g_shown == 2, VERY_CLOSE_PRECISION) or 0.95
    very_close = max(
        _at_most_share(p_shown[p_shown >= explore], very_close, VERY_CLOSE_SHARE), close
    )
    levels = Calibration(tuple(encoder_ids), tuple(float(v) for v in w), very_close, close, explore)
    return replace(levels, detector=fit_detector(*no_match_inputs(levels, needs)), fitted_on=source)

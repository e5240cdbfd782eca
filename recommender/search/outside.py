"""« Rien de proche » : is a need outside what the records cover?

Two need-level signals, chosen on the dev needs of both labelled sets because they do not
depend on how the actions are ranked (docs/EVALUATION.md, « Niveaux et rien de proche ») :

- `unknown`: the IDF-weighted share of the need's words that no record contains, typos of a
  record's word excused (search/novelty.py) — « punaises », « noyade », « moisissure » ;
- `dense_margin`: how far the best passage stands above the need's own background, i.e. its
  cosine minus the mean cosine of the passages retrieved for the need (mean over the dense
  channels). A need some passage really answers stands out; an unseen topic is about as
  close to everything as to anything.

A small logistic regression on the standardised signals gives the probability that the need
is out of corpus; above `threshold` the answer is « rien de proche ». Tried on dev and not
kept (cross-validated, no gain): the share of the need's words found in the top three BM25
records, agreement between the BM25 and dense top 5, the BM25 top-score margin, the calibrated
probability of the best hits, a z-score of the best cosine.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from recommender.search.logistic import fit_logistic, sigmoid

NEED_FEATURES = ("unknown", "dense_margin")
MAX_FALSE_NO_MATCH = 0.05  # needs with a grade-2 action told « rien de proche » (dev)
L2 = 1.0


def dense_margin(chunk_scores: Sequence[Mapping[int, float]]) -> float:
    """Best retrieved passage's cosine minus the mean over the retrieved passages, averaged
    over the dense channels (0 when nothing was retrieved)."""
    margins = []
    for scores in chunk_scores:
        values = np.fromiter(scores.values(), dtype=np.float64, count=len(scores))
        if values.size:
            margins.append(float(values.max() - values.mean()))
    return float(np.mean(margins)) if margins else 0.0


def need_features(unknown: float, chunk_scores: Sequence[Mapping[int, float]]) -> tuple[float, ...]:
    """The detector's inputs for one need, in the order of `NEED_FEATURES`."""
    return (round(float(unknown), 4), round(dense_margin(chunk_scores), 4))


@dataclass(frozen=True)
class Detector:
    """Logistic model over standardised need features: probability « out of corpus »."""

    weights: tuple[float, ...]  # one per need feature, then the intercept
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    threshold: float  # above this probability: « rien de proche »

    def probability(self, features: Sequence[float]) -> float:
        if len(features) != len(self.mean):
            raise ValueError("détecteur « rien de proche » fait pour d'autres indices")
        x = (np.asarray(features, dtype=np.float64) - self.mean) / self.scale
        w = np.asarray(self.weights, dtype=np.float64)
        return float(sigmoid(x @ w[:-1] + w[-1]))

    def nothing_close(self, features: Sequence[float]) -> bool:
        return self.probability(features) > self.threshold


# Until `reco calibrate` runs: « rien » only when nearly the whole need is unknown words.
DEFAULT_DETECTOR = Detector((10.0, 0.0, -8.0), (0.0, 0.0), (1.0, 1.0), 0.5)


def threshold_for(
    p: np.ndarray, grades: np.ndarray, forced: np.ndarray, target: float = MAX_FALSE_NO_MATCH
) -> float:
    """Lowest probability bar keeping the needs with a grade-2 action told « rien » (by the
    detector, or `forced` by another rule) at or under `target`."""
    two = grades == 2
    if not two.any():
        return 1.0
    allowed = int(target * two.sum()) - int((forced & two).sum())
    candidates = np.sort(p[two & ~forced])[::-1]
    if allowed < 0 or not candidates.size:
        return 1.0
    if allowed >= candidates.size:
        return 0.0
    return float(candidates[allowed])


def fit_detector(
    features: np.ndarray,
    grades: np.ndarray,
    forced: np.ndarray | None = None,
    target: float = MAX_FALSE_NO_MATCH,
) -> Detector:
    """Fit on labelled needs: out of corpus = nothing graded 1 or 2 (`grades` is the best
    grade of each need); `forced` needs are told « rien » anyway (first hit « éloigné »)."""
    forced = np.zeros(len(grades), dtype=bool) if forced is None else forced
    mean, scale = features.mean(axis=0), features.std(axis=0) + 1e-9
    outside = (grades == 0).astype(np.float64)
    if outside.all() or not outside.any():
        return DEFAULT_DETECTOR
    w = fit_logistic((features - mean) / scale, outside, l2=L2)
    detector = Detector(
        tuple(map(float, w)), tuple(map(float, mean)), tuple(map(float, scale)), 1.0
    )
    p = np.array([detector.probability(f) for f in features])
    return replace(detector, threshold=threshold_for(p, grades, forced, target))


@dataclass(frozen=True)
class Estimate:
    """« Rien de proche » on labelled needs: out-of-corpus needs told « rien » (want high),
    needs with a grade-2 action told « rien » all the same (want low)."""

    recall: float
    false_no_match: float


def said(detector: Detector, features: np.ndarray, forced: np.ndarray) -> np.ndarray:
    return np.array([detector.nothing_close(f) for f in features]) | forced


def estimate(said_nothing: np.ndarray, grades: np.ndarray) -> Estimate:
    recall = said_nothing[grades == 0].mean() if (grades == 0).any() else 0.0
    false = said_nothing[grades == 2].mean() if (grades == 2).any() else 0.0
    return Estimate(float(recall), float(false))


def cross_validate(
    features: np.ndarray,
    grades: np.ndarray,
    forced: np.ndarray,
    folds: int = 5,
    repeats: int = 20,
    target: float = MAX_FALSE_NO_MATCH,
) -> Estimate:
    """What to expect on needs not used for the fit: each fold is fitted on the others
    (stratified by best grade), repeated over shuffles, rates averaged."""
    rng = np.random.default_rng(0)
    runs = []
    for _ in range(repeats):
        fold = np.zeros(len(grades), dtype=np.int64)
        for grade in np.unique(grades):
            members = rng.permutation(np.flatnonzero(grades == grade))
            fold[members] = np.arange(len(members)) % folds
        told = np.zeros(len(grades), dtype=bool)
        for k in range(folds):
            train, held = fold != k, fold == k
            d = fit_detector(features[train], grades[train], forced[train], target)
            told[held] = said(d, features[held], forced[held])
        runs.append(estimate(told, grades))
    return Estimate(
        float(np.mean([r.recall for r in runs])), float(np.mean([r.false_no_match for r in runs]))
    )

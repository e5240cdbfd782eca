"""Fusing the evidence of one query: weighted z-scores (the default) or reciprocal ranks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Channel:
    """One kind of evidence: a score per action, its fusion weight, where it is defined."""

    name: str
    scores: np.ndarray
    weight: float
    valid: np.ndarray


def standardise(scores: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Per-query z-scores; rows a channel did not retrieve count as its minimum."""
    if not valid.any():
        return np.zeros(len(scores), dtype=np.float64)
    values = np.where(valid, scores, scores[valid].min()).astype(np.float64)
    spread = values.std() or 1.0
    return (values - values.mean()) / spread


def score_fusion(channels: Sequence[Channel]) -> np.ndarray:
    """Weighted sum of the channels' z-scores, shifted to be positive."""
    total = np.zeros(len(channels[0].scores), dtype=np.float64)
    for c in channels:
        if c.weight:
            total += c.weight * standardise(c.scores, c.valid)
    return total - total.min() + 1e-6


def rrf_fusion(channels: Sequence[tuple[np.ndarray, float, np.ndarray]], k: float) -> np.ndarray:
    """Reciprocal rank fusion: robust, ignores score scales."""
    fused = np.zeros(len(channels[0][0]), dtype=np.float64)
    for scores, weight, valid in channels:
        if weight == 0:
            continue
        order = np.argsort(-scores, kind="stable")
        ranks = np.empty(len(order), dtype=np.float64)
        ranks[order] = np.arange(1, len(order) + 1)
        fused += np.where(valid, weight / (k + ranks), 0.0)
    return fused

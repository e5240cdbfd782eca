"""« Rien de proche »: the need-level signals, the detector and its place in the search."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from recommender.search.calibration import MatchLevel
from recommender.search.novelty import RecordWords, novelty, one_edit
from recommender.search.outside import (
    DEFAULT_DETECTOR,
    MAX_FALSE_NO_MATCH,
    Detector,
    cross_validate,
    dense_margin,
    fit_detector,
    need_features,
    said,
    threshold_for,
)


def test_dense_margin_is_the_best_passage_above_the_need_background():
    assert dense_margin([{0: 0.9, 1: 0.5, 2: 0.4}]) == pytest.approx(0.9 - 0.6)
    # Two channels: their margins are averaged; a channel that retrieved nothing is skipped.
    assert dense_margin([{0: 0.9, 1: 0.5, 2: 0.4}, {3: 0.5, 4: 0.5}, {}]) == pytest.approx(0.15)
    assert dense_margin([]) == 0.0
    assert need_features(0.123456, [{0: 1.0, 1: 0.0}]) == (0.1235, 0.5)


def test_one_edit_covers_the_usual_typos():
    edits = one_edit("colectif")
    assert {"collectif", "coletcif", "colectf", "kolectif"} <= edits
    assert "collectifs" not in edits  # two edits away


def test_typos_of_a_record_word_are_not_unknown(fake_engine):
    records = RecordWords(fake_engine.actions)
    assert records.near("isolemant")  # « isolement »
    assert records.near("accompagnemnt")
    assert not records.near("moisissures")
    assert not records.near("aidee")  # too short to excuse, even one edit from « aide »
    df, n = fake_engine.recommender._df, len(fake_engine.actions)
    plain = novelty("isolemant des personnes âgées et moisissures", df, n)
    tolerant = novelty("isolemant des personnes âgées et moisissures", df, n, records.near)
    assert set(plain.words) == {"isolemant", "moisissures"}
    assert tolerant.words == ("moisissures",)
    assert 0 < tolerant.share < plain.share


def _needs(rng: np.random.Generator, n: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-corpus needs carry more unknown words and a smaller dense margin (with noise)."""
    grades = rng.choice([0, 1, 2], size=n, p=[0.25, 0.35, 0.4])
    outside = grades == 0
    unknown = np.clip(rng.normal(np.where(outside, 0.6, 0.15), 0.15), 0, 1)
    margin = rng.normal(np.where(outside, 0.2, 0.3), 0.05)
    return np.column_stack([unknown, margin]), grades


def test_fitted_detector_keeps_false_no_match_under_the_bar_and_finds_most_outside():
    features, grades = _needs(np.random.default_rng(0))
    forced = np.zeros(len(grades), dtype=bool)
    detector = fit_detector(features, grades, forced)
    told = said(detector, features, forced)
    assert told[grades == 2].mean() <= MAX_FALSE_NO_MATCH
    assert told[grades == 0].mean() > 0.7
    assert detector.weights[0] > 0 and detector.weights[1] < 0  # the signs that make sense


def test_needs_forced_to_no_match_use_up_the_allowance():
    features, grades = _needs(np.random.default_rng(1))
    free = fit_detector(features, grades, np.zeros(len(grades), dtype=bool))
    forced = np.zeros(len(grades), dtype=bool)
    forced[np.flatnonzero(grades == 2)[:2]] = True  # two grade-2 needs told « rien » anyway
    tight = fit_detector(features, grades, forced)
    assert tight.threshold > free.threshold
    assert said(tight, features, forced)[grades == 2].mean() <= MAX_FALSE_NO_MATCH


def test_threshold_edge_cases():
    p = np.array([0.9, 0.1, 0.2])
    assert threshold_for(p, np.array([0, 1, 1]), np.zeros(3, dtype=bool)) == 1.0  # no grade 2
    everything = np.ones(3, dtype=bool)
    assert threshold_for(p, np.array([0, 2, 2]), everything) == 1.0  # allowance used up
    # 40 grade-2 needs: 2 may hear « rien », so the bar is the third highest of theirs.
    two = np.linspace(0.0, 0.39, 40)
    bar = threshold_for(two, np.full(40, 2), np.zeros(40, dtype=bool))
    assert bar == pytest.approx(0.37) and (two > bar).sum() == 2


def test_detector_refuses_other_features_and_needs_both_kinds():
    with pytest.raises(ValueError, match="autres indices"):
        DEFAULT_DETECTOR.probability((0.1, 0.2, 0.3))
    only_answered = fit_detector(np.ones((4, 2)), np.array([1, 2, 2, 1]))
    assert only_answered == DEFAULT_DETECTOR


def test_cross_validation_estimates_unseen_needs():
    features, grades = _needs(np.random.default_rng(2))
    forced = np.zeros(len(grades), dtype=bool)
    held_out = cross_validate(features, grades, forced, repeats=3)
    assert 0.5 < held_out.recall <= 1.0
    assert held_out.false_no_match < 0.15
    noise = np.random.default_rng(3).normal(size=features.shape)
    blind = cross_validate(noise, grades, forced, repeats=3)
    assert blind.recall < held_out.recall  # features that say nothing find little


def test_search_asks_the_calibrated_detector(fake_engine):
    recommender = fake_engine.recommender
    need = "des punaises de lit et des moisissures dans les logements"
    result = fake_engine.search(need)
    assert len(result.need_features) == 2 and result.need_features[0] > 0
    always = Detector((0.0, 0.0, 10.0), (0.0, 0.0), (1.0, 1.0), 0.5)
    never = replace(always, weights=(0.0, 0.0, -10.0))
    original = recommender.calibration
    try:
        recommender.calibration = replace(original, detector=always)
        assert fake_engine.search(need).no_match
        recommender.calibration = replace(original, detector=never)
        known = fake_engine.search(fake_engine.actions[0].title)
        assert known.hits[0].level is not MatchLevel.FAR and not known.no_match
    finally:
        recommender.calibration = original


def test_a_larger_allowance_lowers_the_bar():
    features, grades = _needs(np.random.default_rng(4))
    forced = np.zeros(len(grades), dtype=bool)
    strict = fit_detector(features, grades, forced, target=0.02)
    loose = fit_detector(features, grades, forced, target=0.10)
    assert loose.threshold < strict.threshold
    assert said(loose, features, forced).sum() > said(strict, features, forced).sum()
    assert said(loose, features, forced)[grades == 2].mean() <= 0.10

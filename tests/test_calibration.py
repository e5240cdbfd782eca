"""Match levels and the « rien de proche » rule fitted on labelled needs."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.search.calibration import (
    MAX_FALSE_NO_MATCH,
    VERY_CLOSE_SHARE,
    Calibration,
    LabelledHit,
    LabelledNeed,
    _no_match_rule,
    fit_calibration,
)
from recommender.search.novelty import novelty


def test_no_match_rule_keeps_false_no_match_under_the_bar():
    rng = np.random.default_rng(0)
    grade = np.array([2] * 40 + [0] * 20 + [1] * 10)
    best = np.r_[rng.uniform(0.4, 0.9, 40), rng.uniform(0.2, 0.6, 20), rng.uniform(0.3, 0.7, 10)]
    # Needs with nothing relevant carry words no record has; the others hardly.
    unknown = np.r_[rng.uniform(0, 0.1, 40), rng.uniform(0.2, 0.6, 20), rng.uniform(0, 0.2, 10)]
    weight, threshold = _no_match_rule(best, unknown, grade)
    said = best - weight * unknown < threshold
    assert said[grade == 2].mean() <= MAX_FALSE_NO_MATCH
    assert weight > 0  # the unknown words helped here
    assert said[grade == 0].mean() > (best[grade == 0] < np.sort(best[:40])[2]).mean()


def test_no_match_rule_without_both_kinds_says_nothing():
    assert _no_match_rule(np.ones(3), np.zeros(3), np.array([2, 2, 1])) == (0.0, 0.0)


def _needs(rng, n=60):
    needs = []
    for q in range(n):
        hits = []
        for rank in range(10):
            grade = int(rng.choice([0, 0, 0, 1, 2])) if q % 4 else 0
            features = (grade + rng.normal(0, 0.6), rng.random(), rng.random(), rng.random())
            hits.append(LabelledHit(q, rank, features, grade))
        best = max(h.grade for h in hits)
        needs.append(LabelledNeed(tuple(hits), 0.5 if best == 0 else 0.0, best))
    return needs


def test_fitted_levels_keep_very_close_rare_and_precise():
    needs = _needs(np.random.default_rng(1))
    cal = fit_calibration(["e"], needs, "test")
    hits = [h for n in needs for h in n.hits if h.rank < 5]
    p = cal.probability(np.array([h.features for h in hits]))
    shown = p >= cal.explore
    very = p >= cal.very_close
    assert very[shown].mean() <= VERY_CLOSE_SHARE + 1e-9
    assert very.sum() > 0
    assert cal.very_close >= cal.close >= cal.explore


def test_nothing_close_and_old_files_still_load(tmp_path):
    cal = Calibration(("e",), (1.0, 0.0), 0.9, 0.6, 0.3, 0.2, "x", unknown_weight=0.5)
    assert cal.nothing_close(best=0.3, unknown=0.4)  # 0.3 - 0.2 < 0.2
    assert not cal.nothing_close(best=0.3, unknown=0.0)
    path = tmp_path / "calibration.json"
    cal.save(path)
    assert Calibration.load(path) == cal
    old = (
        path.read_text(encoding="utf-8")
        .replace('"unknown_weight": 0.5', '"x_": 0')
        .replace(',\n  "x_": 0', "")
    )
    path.write_text(old, encoding="utf-8")
    assert Calibration.load(path).unknown_weight == 0.0  # a file from before: old rule


def test_novelty_names_the_words_no_record_has():
    df = {"jardin": 3, "famill": 5}
    new = novelty("Des moisissures dans les jardins des familles", df, 10)
    assert new.words == ("moisissures",)
    assert 0 < new.share < 1
    assert novelty("jardin familles", df, 10).share == 0.0
    assert novelty("", df, 10).words == ()
    assert novelty("moisissure", {}, 10).share == pytest.approx(1.0)

"""Match levels and the « rien de proche » rule fitted on labelled needs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from recommender.search.calibration import (
    VERY_CLOSE_SHARE,
    Calibration,
    LabelledHit,
    LabelledNeed,
    fit_calibration,
    no_match_inputs,
)
from recommender.search.novelty import novelty
from recommender.search.outside import MAX_FALSE_NO_MATCH, Detector, said


def _needs(rng, n=60):
    needs = []
    for q in range(n):
        grades = [int(rng.choice([0, 0, 0, 1, 2])) if q % 4 else 0 for _ in range(10)]
        drawn = [(g + rng.normal(0, 0.6), rng.random(), rng.random(), rng.random()) for g in grades]
        ranked = sorted(zip(drawn, grades, strict=True), key=lambda pair: -pair[0][0])
        hits = [LabelledHit(q, rank, f, g) for rank, (f, g) in enumerate(ranked)]
        best = max(h.grade for h in hits)
        # Needs with nothing relevant carry more words no record has, and stand out less.
        need = (rng.uniform(0.3, 0.8), 0.15) if best == 0 else (rng.uniform(0, 0.4), 0.3)
        needs.append(LabelledNeed(tuple(hits), need, best))
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


def test_fitted_no_match_keeps_false_no_match_under_the_bar():
    needs = _needs(np.random.default_rng(2), n=120)
    cal = fit_calibration(["e"], needs, "test")
    features, grades, forced = no_match_inputs(cal, needs)
    told = said(cal.detector, features, forced)
    assert (grades == 2).any() and (grades == 0).any()
    assert told[grades == 2].mean() <= MAX_FALSE_NO_MATCH
    assert told[grades == 0].mean() > 0.5
    assert cal.nothing_close((0.8, 0.15)) and not cal.nothing_close((0.0, 0.3))


def test_saved_calibration_round_trips_and_old_versions_are_refused(tmp_path):
    detector = Detector((1.0, -1.0, 0.0), (0.2, 0.3), (0.1, 0.05), 0.4)
    cal = Calibration(("e",), (1.0, 0.0), 0.9, 0.6, 0.3, detector, "x")
    path = tmp_path / "calibration.json"
    cal.save(path)
    assert Calibration.load(path) == cal
    old = {k: v for k, v in json.loads(path.read_text(encoding="utf-8")).items()}
    del old["version"], old["detector"]
    path.write_text(json.dumps({**old, "no_match": 0.2, "unknown_weight": 1.0}), encoding="utf-8")
    with pytest.raises(ValueError, match=r"format 1 .*reco calibrate"):
        Calibration.load(path)


def test_novelty_names_the_words_no_record_has():
    df = {"jardin": 3, "famill": 5}
    new = novelty("Des moisissures dans les jardins des familles", df, 10)
    assert new.words == ("moisissures",)
    assert 0 < new.share < 1
    assert novelty("jardin familles", df, 10).share == 0.0
    assert novelty("", df, 10).words == ()
    assert novelty("moisissure", {}, 10).share == pytest.approx(1.0)

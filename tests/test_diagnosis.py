"""`reco eval`'s report of what went wrong, on hand-made answers."""

from __future__ import annotations

import pytest

from recommender.search.calibration import MatchLevel
from recommender.search.diagnosis import Ranked, diagnose, diagnosis_text
from recommender.search.evaluate import LabelledQuery

V, C, E, F = (MatchLevel.VERY_CLOSE, MatchLevel.CLOSE, MatchLevel.EXPLORE, MatchLevel.FAR)
QUERIES = [
    LabelledQuery("jardin", {"a": 2, "b": 1}, "dev", "short"),
    LabelledQuery("les mamans seules avec bébé", {"c": 2}, "dev", "narrative"),
    LabelledQuery("rats dans la cour", {}, "dev", "rare"),
    LabelledQuery("moisissure", {}, "dev", "rare"),
]
ANSWERS = {
    "jardin": Ranked(("a", "h", "b"), False, (V, C, F)),
    "les mamans seules avec bébé": Ranked(("h", "c"), True, (E, E)),
    "rats dans la cour": Ranked(("h", "x"), True, (E, E)),
    "moisissure": Ranked(("h", "y"), False, (C, E)),
}


@pytest.fixture
def report():
    return diagnose(QUERIES, lambda q: ANSWERS[q])


def test_levels_count_only_cards_shown(report):
    rows = {r.level: r for r in report.levels}
    assert F not in rows  # « éloigné » hits are not cards
    # Shown: jardin (a=V, h=C) and moisissure (h=C, y=E); no-match answers show nothing.
    assert (rows[V].cards, rows[C].cards, rows[E].cards) == (1, 2, 1)
    assert rows[V].precision_2 == 1.0 and rows[V].share == pytest.approx(0.25)
    assert rows[C].precision_1 == 0.0


def test_no_match_rows(report):
    nm = report.no_match
    assert (nm.out_of_corpus, nm.said_no_match) == (2, 0.5)  # rats yes, moisissure no
    assert (nm.with_grade_2, nm.false_no_match) == (2, 0.5)  # the mothers' need said « rien »
    assert nm.accuracy == pytest.approx(0.5)


def test_hubness_and_kinds(report):
    assert (report.hubness.action_id, report.hubness.count) == ("h", 4)
    assert report.hubness.share == 1.0
    assert set(report.by_kind) == {"short", "narrative", "rare"}
    assert report.by_kind["short"].n == 1 and report.by_kind["rare"].n == 0
    assert report.overall.n == 2


def test_text_and_json(report):
    text = diagnosis_text(report, lambda i: f"titre {i}")
    assert "« titre h », 4 fois" in text and "très proche" in text
    data = report.to_dict()
    assert data["hubness"]["action_id"] == "h"
    assert data["levels"][0] == {
        "level": "très proche",
        "cards": 1,
        "share": 0.25,
        "precision_2": 1.0,
        "precision_1": 1.0,
    }

"""Ranking metrics on small hand-computed examples."""

from __future__ import annotations

import json
import math

import pytest

from recommender.search.evaluate import (
    LabelledQuery,
    dcg,
    evaluate,
    load_queries,
    ndcg,
    recall,
    reciprocal_rank,
)

L2 = math.log2


def test_dcg_by_hand():
    # gains 2, 0, 1 -> (2^2-1)/log2(2) + 0 + (2^1-1)/log2(4)
    assert dcg([2, 0, 1]) == pytest.approx(3 + 0 + 1 / 2)
    assert dcg([]) == 0.0
    assert dcg([1]) == pytest.approx(1.0)


def test_ndcg_by_hand():
    relevant = {"a": 2, "b": 1}
    # Perfect order.
    assert ndcg(["a", "b", "x"], relevant, 5) == pytest.approx(1.0)
    # Swapped: (1 + 3/log2 3) / (3 + 1/log2 3)
    expected = (1 + 3 / L2(3)) / (3 + 1 / L2(3))
    assert ndcg(["b", "a"], relevant, 5) == pytest.approx(expected)
    assert expected == pytest.approx(0.7967, abs=1e-4)
    # Only the grade-1 document, at rank 3: (1/log2 4) / (3 + 1/log2 3)
    assert ndcg(["x", "y", "b"], relevant, 5) == pytest.approx(0.5 / (3 + 1 / L2(3)))
    # Cut-off: the relevant document at rank 6 does not count at k=5.
    assert ndcg(["p", "q", "r", "s", "t", "a"], relevant, 5) == 0.0
    assert ndcg(["p", "q", "r", "s", "t", "a"], relevant, 10) == pytest.approx(
        (3 / L2(7)) / (3 + 1 / L2(3))
    )
    # The ideal list is cut at k as well.
    assert ndcg(["a"], {"a": 1, "b": 1, "c": 1}, 1) == pytest.approx(1.0)


def test_ndcg_without_relevant_documents_is_zero():
    assert ndcg(["a", "b"], {}, 5) == 0.0
    assert ndcg(["a", "b"], {"a": 0}, 5) == 0.0


def test_recall_by_hand():
    relevant = {"a": 2, "b": 1, "c": 1, "d": 1}
    assert recall(["a", "x", "c", "y", "z", "b"], relevant, 5) == pytest.approx(2 / 4)
    assert recall(["a", "b", "c", "d"], relevant, 5) == 1.0
    assert recall([], relevant, 5) == 0.0
    assert recall(["a"], {}, 5) == 0.0


def test_reciprocal_rank_by_hand():
    relevant = {"b": 1, "d": 2}
    assert reciprocal_rank(["a", "b", "c", "d"], relevant) == pytest.approx(1 / 2)
    assert reciprocal_rank(["d"], relevant) == 1.0
    assert reciprocal_rank(["x", "y", "z"], relevant) == 0.0


def test_evaluate_means_and_no_match_accuracy():
    queries = [
        LabelledQuery("q1", {"a": 2, "b": 1}),
        LabelledQuery("q2", {"c": 1}),
        LabelledQuery("rien", {}),  # nothing relevant: the system should say « no match »
        LabelledQuery("rien2", {}),
    ]
    answers = {
        "q1": (["a", "b", "x"], False),  # perfect
        "q2": (["x", "y", "c"], False),  # relevant at rank 3
        "rien": (["x"], True),  # correct no-match
        "rien2": (["x"], False),  # wrongly claims a match
    }
    scores = evaluate(queries, lambda q: answers[q])
    assert scores.n == 2
    ndcg_q2 = 1 / L2(4)
    assert scores.ndcg5 == pytest.approx((1 + ndcg_q2) / 2)
    assert scores.ndcg10 == pytest.approx((1 + ndcg_q2) / 2)
    assert scores.recall5 == pytest.approx(1.0)
    assert scores.mrr == pytest.approx((1 + 1 / 3) / 2)
    assert scores.no_match_accuracy == pytest.approx(3 / 4)
    data = scores.to_dict()
    assert data == {
        "n": 2,
        "ndcg@5": 0.75,
        "ndcg@10": 0.75,
        "recall@5": 1.0,
        "mrr": 0.6667,
        "no_match_accuracy": 0.75,
    }


def test_no_match_claimed_on_answerable_query_counts_as_wrong():
    queries = [LabelledQuery("q", {"a": 1})]
    scores = evaluate(queries, lambda q: (["a"], True))
    assert scores.mrr == 1.0
    assert scores.no_match_accuracy == 0.0


def test_evaluate_edge_cases():
    empty = evaluate([], lambda q: ([], True))
    assert empty.n == 0 and empty.no_match_accuracy is None
    assert empty.to_dict()["no_match_accuracy"] is None
    only_negatives = evaluate([LabelledQuery("x", {})], lambda q: ([], True))
    assert only_negatives.n == 0
    assert only_negatives.ndcg5 == 0.0 and only_negatives.mrr == 0.0
    assert only_negatives.no_match_accuracy == 1.0


def test_load_queries(tmp_path):
    path = tmp_path / "queries.json"
    path.write_text(
        json.dumps(
            [
                {"query": "a", "relevant": {"act-1": 2, "act-2": "1"}, "split": "test"},
                {"query": "b", "kind": "court"},
            ]
        ),
        encoding="utf-8",
    )
    first, second = load_queries(path)
    assert first == LabelledQuery("a", {"act-1": 2, "act-2": 1}, "test", "")
    assert second == LabelledQuery("b", {}, "dev", "court")


@pytest.mark.parametrize(
    ("content", "message"),
    [("{pas du json", "illisible"), ('{"query": "a"}', "liste"), ('[{"q": "a"}]', "query")],
)
def test_load_queries_errors_are_french(tmp_path, content, message):
    path = tmp_path / "queries.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        load_queries(path)
    with pytest.raises(ValueError, match="illisible"):
        load_queries(tmp_path / "absent.json")

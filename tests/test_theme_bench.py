"""The cross-validation helpers of bench/theme_classifier.py (bench/theme_methods.py,
bench/theme_judges.py), on the fake encoder."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from bench.theme_judges import MERGE, kappa, merged, merged_key
from bench.theme_methods import f1, macro_f1, nested_method, out_of_fold, stratified_folds
from embeddings.fake import FakeEncoder
from recommender.answers.taxonomy import Taxonomy, load_labelled
from recommender.answers.theme_model import StatementVectors, fit_classifier


def test_stratified_folds_cover_every_row_once_and_spread_each_class():
    labels = ["a"] * 11 + ["b"] * 7 + ["c"] * 3
    folds = stratified_folds(labels, seed=1)
    rows = sorted(int(i) for fold in folds for i in fold)
    assert rows == list(range(len(labels)))
    for c in "abc":
        per_fold = [sum(labels[int(i)] == c for i in fold) for fold in folds]
        assert max(per_fold) - min(per_fold) <= 1, (c, per_fold)
    assert [list(f) for f in folds] != [list(f) for f in stratified_folds(labels, seed=2)]


def test_out_of_fold_never_predicts_a_row_from_a_fit_that_saw_it():
    rows = [10, 11, 12, 13, 14, 15]
    folds = [np.array([0, 3]), np.array([1, 4]), np.array([2, 5])]

    def method(train: list[int], test: list[int]) -> list[str]:
        assert not set(train) & set(test)
        return [f"{t}:{len(train)}" for t in test]

    assert out_of_fold(method, rows, folds) == [f"{r}:4" for r in rows]


def test_macro_f1_averages_every_class_including_missed_ones():
    gold = ["a", "a", "b", "c"]
    pred = ["a", "b", "b", "b"]
    assert f1(gold, pred, "a") == pytest.approx(2 / 3)
    assert f1(gold, pred, "b") == pytest.approx(0.5)
    assert f1(gold, pred, "c") == 0.0
    assert macro_f1(gold, pred, ["a", "b", "c"]) == pytest.approx((2 / 3 + 0.5) / 3)


def test_kappa_is_one_for_identical_labels_and_zero_for_chance():
    assert kappa(["a", "b", "a"], ["a", "b", "a"]) == pytest.approx(1.0)
    assert kappa(["a", "a", "b", "b"], ["a", "b", "a", "b"]) == pytest.approx(0.0)


def test_merged_taxonomy_has_one_theme_for_both_public_themes():
    taxonomy = merged(Taxonomy.load())
    keys = taxonomy.keys("limite")
    assert not set(MERGE) & set(keys)
    assert merged_key("engagement_participants") == "mobiliser_garder_public"
    assert merged_key("financement") == "financement"
    assert keys.count("mobiliser_garder_public") == 2  # both definitions stay training points


def test_the_classifier_takes_its_l2_penalty():
    vectors = StatementVectors(FakeEncoder())
    rows = [s for s in load_labelled() if s.kind == "perspective"][:30]
    texts, labels = [s.text for s in rows], [s.theme for s in rows]
    model = fit_classifier(Taxonomy.load(), "perspective", texts, labels, vectors, l2=0.5)
    assert model.model.l2 == 0.5


def test_nested_choice_is_made_on_training_rows_and_counted():
    taxonomy = Taxonomy.load()
    rows = [s for s in load_labelled() if s.kind == "perspective"]
    texts, gold = [s.text for s in rows], [s.theme for s in rows]
    vectors = StatementVectors(FakeEncoder())
    choices = {"fort": (vectors, 1e-4), "très pénalisé": (vectors, 100.0)}
    run = nested_method(taxonomy, "perspective", texts, gold, choices, written=())
    folds = stratified_folds(gold, 0)
    test = [int(i) for i in folds[0]]
    train = [i for i in range(len(gold)) if i not in set(test)]
    predicted = run(train, test)
    assert len(predicted) == len(test) and set(predicted) <= set(taxonomy.keys("perspective"))
    assert run.chosen == Counter({"fort": 1})  # type: ignore[attr-defined]

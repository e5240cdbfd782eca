"""Duplicate detection without all pairs (MinHash bands) finds exactly what the all-pairs
comparison found: on the real exports and on a generated corpus with planted copies."""

from __future__ import annotations

import pytest

from bench.corpus_gen import generate
from recommender.records.duplicates import find_duplicates, jaccard, pairs_above, shingles
from recommender.records.export import parse_export
from recommender.records.ingest import decode_bytes
from recommender.records.records import load_actions


def every_pair(sets):
    """The former quadratic loop, kept here as the reference: (i, j, Jaccard) for all i < j."""
    return [
        (i, j, jaccard(sets[i], sets[j])) for i in range(len(sets)) for j in range(i + 1, len(sets))
    ]


def above(pairs, threshold):
    return [p for p in pairs if p[2] >= threshold]


@pytest.fixture(scope="module")
def generated():
    corpus = generate(200, seed=3, exact_rate=0.05, near_rate=0.05)
    sets = [shingles(a) for a in corpus.actions]
    return corpus, sets, every_pair(sets)


def parsed_raw(raw_dir):
    actions = []
    for path in sorted(raw_dir.glob("*.txt")):
        actions += parse_export(decode_bytes(path.read_bytes(), path.name), path.name)
    return actions


@pytest.mark.parametrize("threshold", [0.9, 0.8])
def test_pairs_above_equals_all_pairs_on_the_real_exports(raw_dir, threshold):
    sets = [shingles(a) for a in parsed_raw(raw_dir)]
    assert pairs_above(sets, threshold) == above(every_pair(sets), threshold)


@pytest.mark.parametrize("threshold", [0.9, 0.8])
def test_pairs_above_equals_all_pairs_on_a_generated_corpus(generated, threshold):
    corpus, sets, pairs = generated
    expected = above(pairs, threshold)
    assert pairs_above(sets, threshold) == expected
    if threshold == 0.9:
        assert len(expected) == len(corpus.groups)  # every planted copy, nothing else


def test_pairs_above_edge_cases():
    same = frozenset({"a b c"})
    assert pairs_above([same, same, frozenset({"x"})], 1.0) == [(0, 1, 1.0)]
    assert pairs_above([], 0.9) == []
    assert pairs_above([frozenset(), frozenset()], 0.9) == [(0, 1, 1.0)]  # as `jaccard` says


def test_find_duplicates_on_the_real_exports_is_the_committed_result(raw_dir, data_dir):
    canonical, groups = find_duplicates(parsed_raw(raw_dir))
    committed = load_actions(data_dir / "actions.jsonl")
    assert [a.to_dict() for a in canonical] == [a.to_dict() for a in committed]
    assert len(groups) == sum(1 for a in committed if a.duplicates)

"""Hub prior (index/hubness.py): pooling per action and the CSLS prior, against brute force."""

from __future__ import annotations

import numpy as np

from recommender.index import vector_index
from recommender.index.hubness import hub_prior, pool_by_action


def _loop_pool(rows, scores, owner, n, pool):
    sums, counts = np.zeros(n), np.zeros(n)
    for row, score in zip(rows, scores, strict=True):
        if counts[owner[row]] < pool:
            sums[owner[row]] += score
            counts[owner[row]] += 1
    return np.where(counts > 0, sums / np.maximum(counts, 1), -1.0)


def _unit(rng, n, d=16):
    v = rng.normal(size=(n, d)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_pool_by_action_matches_a_plain_loop():
    rng = np.random.default_rng(1)
    owner = rng.integers(0, 7, size=40)
    for pool in (1, 2, 3):
        rows = rng.permutation(40)[:25]
        scores = np.sort(rng.random(25))[::-1]  # best first, as FAISS returns them
        got = pool_by_action(rows, scores, owner, 9, pool)
        np.testing.assert_allclose(got, _loop_pool(rows, scores, owner, 9, pool))
    assert got[7] == -1.0 and got[8] == -1.0  # actions with no chunk


def test_hub_prior_is_the_mean_of_the_closest_references_never_itself():
    rng = np.random.default_rng(2)
    n_actions, owner = 12, np.repeat(np.arange(12), 3)
    chunks = _unit(rng, len(owner))
    references = _unit(rng, n_actions)
    index = vector_index.build_faiss(chunks)
    prior = hub_prior(references, range(n_actions), index, owner, n_actions, neighbours=4)
    # Brute force: every reference against every action, pooled over its two best chunks.
    sims = references @ chunks.T
    pooled = np.array(
        [[np.sort(sims[r, owner == a])[-2:].mean() for a in range(12)] for r in range(12)]
    )
    np.fill_diagonal(pooled, -np.inf)
    expected = np.sort(pooled, axis=0)[-4:].mean(axis=0)
    np.testing.assert_allclose(prior, expected, atol=1e-5)


def test_a_central_action_gets_the_highest_prior():
    rng = np.random.default_rng(3)
    references = _unit(rng, 10)
    centre = references.mean(axis=0)
    chunks = np.vstack([_unit(rng, 9), centre / np.linalg.norm(centre)]).astype(np.float32)
    owner = np.arange(10)
    prior = hub_prior(references, range(10), vector_index.build_faiss(chunks), owner, 10, 3)
    assert int(np.argmax(prior)) == 9

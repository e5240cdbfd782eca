"""bench.ranking_leads: the evidence and cross-validation behind the « Pistes » table."""

from __future__ import annotations

import numpy as np
import pytest

from bench.ranking_leads import base, cross_validated, gather, leads, rocchio
from recommender.search.evaluate import LabelledQuery

NEEDS = (
    "aide aux devoirs pour les enfants du quartier",
    "isolement des personnes âgées",
    "jardin partagé au pied des immeubles",
    "ateliers parents enfants",
    "accès au numérique pour les seniors",
    "fête de quartier en été",
)


@pytest.fixture(scope="module")
def evidence(fake_engine):
    return gather(fake_engine, list(NEEDS))


def test_base_channels_are_the_search_s_standardised_channels(fake_engine, evidence):
    rec = fake_engine.recommender
    text = NEEDS[0]
    lexical = rec._lexical(text, rec.glossary.expand(text))
    assert np.allclose(evidence.bm25[0], lexical)
    bm25, dense, hub = base(evidence)
    assert bm25.shape == dense.shape == hub.shape == (len(NEEDS), len(rec.actions))
    assert np.allclose(bm25.mean(axis=1), 0) and np.allclose(hub[0], hub[-1])


def test_rocchio_without_feedback_is_the_plain_dense_channel(evidence):
    plain = base(evidence)[1]
    assert np.allclose(rocchio(evidence, 3, 0.0)[1], plain, atol=1e-4)  # float32 norms
    assert not np.allclose(rocchio(evidence, 3, 1.0)[1], plain)


def test_cross_validation_scores_held_out_needs_between_0_and_1(fake_engine, evidence):
    ids = [a.id for a in fake_engine.actions]
    matrices = leads(evidence)["défaut : BM25 + dense + a priori"]()
    # each need is labelled with the action BM25 ranks first for it: learnable
    queries = [
        LabelledQuery(t, {ids[int(np.argmax(evidence.bm25[i]))]: 2}) for i, t in enumerate(NEEDS)
    ]
    per_need = cross_validated(matrices, queries, ids)
    assert per_need.shape == (len(NEEDS),)
    assert ((per_need >= 0) & (per_need <= 1)).all() and per_need.mean() > 0.5

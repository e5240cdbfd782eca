"""French analyzer and BM25 index."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.index.lexical import LexicalIndex, analyze, strip_accents, words

DOCS = [
    "Aide aux devoirs pour les enfants de l'école primaire le soir.",
    "Jardin partagé au pied des immeubles : potager, compost et semis.",
    "Sorties familiales et vacances pour les familles du quartier.",
    "Atelier numérique pour les seniors : tablette, courriels et démarches en ligne.",
]


def test_words_lowercase_and_split_elisions():
    assert words("L'école d'été") == ["école", "été"]
    assert words("qu'il j'aime n'est") == ["il", "aime", "est"]
    assert words("l’enfant") == ["enfant"]  # typographic apostrophe
    assert words("Jusqu'au bout, lorsqu'elle vient") == ["au", "bout", "elle", "vient"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("l'enfant", ["enfant"]),
        ("d'enfants", ["enfant"]),
        ("qu'enfants", ["enfant"]),
        ("j'accompagne", analyze("accompagne")),
        ("n'accompagne", analyze("accompagne")),
        ("L’ENFANT", ["enfant"]),
    ],
)
def test_elisions_are_removed_before_stemming(text, expected):
    assert analyze(text) == expected


def test_accents_are_folded_in_tokens():
    tokens = analyze("Éducation élève bénévoles activités théâtre")
    assert tokens
    assert all(strip_accents(t) == t for t in tokens)
    assert analyze("ÉLÈVE") == analyze("élève")


@pytest.mark.parametrize(("plain", "accented"), [("education", "éducation"), ("eleve", "élève")])
def test_unaccented_words_match_accented_ones(plain, accented):
    assert analyze(plain) == analyze(accented)


@pytest.mark.parametrize(
    ("plain", "accented"),
    [("solidarite", "solidarité"), ("mobilite", "mobilité"), ("acces", "accès")],
)
def test_unaccented_words_match_accented_stems(plain, accented):
    # Regression: accents used to be removed after stemming, so these differed.
    assert analyze(plain) == analyze(accented)


def test_stopwords_are_removed():
    assert analyze("le la les de des du et pour avec dans une un") == []
    assert analyze("les enfants et les parents") == ["enfant", "parent"]
    # Corpus-specific words that say nothing about an action.
    assert analyze("centre social action") == []


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("enfants", "enfant"),
        ("familles", "famille"),
        ("jardins", "jardin"),
        ("ateliers", "atelier"),
    ],
)
def test_plural_and_singular_share_a_stem(a, b):
    assert analyze(a) == analyze(b)
    assert len(analyze(a)) == 1


def test_single_letters_and_punctuation_dropped():
    assert analyze("a b c ! ? … 2") == []
    assert analyze("") == []


@pytest.fixture(scope="module")
def index() -> LexicalIndex:
    return LexicalIndex.build(DOCS)


@pytest.mark.parametrize(
    ("query", "best"),
    [
        ("soutien scolaire et devoirs des enfants", 0),
        ("un potager collectif", 1),
        ("partir en vacances en famille", 2),
        ("senior et tablettes numériques", 3),
    ],
)
def test_bm25_ranks_the_right_document(index, query, best):
    scores = index.scores(query)
    assert scores.shape == (len(DOCS),)
    assert int(np.argmax(scores)) == best
    assert scores[best] > 0
    assert sorted(scores)[-2] < scores[best]


def test_unknown_words_give_zeros(index):
    for query in ("xylophone zébré", "le la les", "", "🎉"):
        scores = index.scores(query)
        assert scores.shape == (len(DOCS),)
        assert not scores.any()


def test_stopword_only_document_is_indexable():
    index = LexicalIndex.build(["le la les", "jardin potager"])
    assert index.n_docs == 2
    assert index.scores("jardin").tolist()[0] == 0.0
    assert index.scores("jardin")[1] > 0


@pytest.mark.parametrize("mmap", [False, True])
def test_save_load_round_trip(tmp_path, index, mmap):
    directory = tmp_path / "lexical"
    index.save(directory)
    assert (directory / "lexical.json").is_file()
    loaded = LexicalIndex.load(directory, mmap=mmap)
    assert loaded.n_docs == index.n_docs
    for query in ("devoirs enfants", "jardin compost", "tablette", "rien du tout"):
        np.testing.assert_allclose(loaded.scores(query), index.scores(query), rtol=1e-6)

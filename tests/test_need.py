"""Need understanding: publics, territories, départements and themes detected in French text."""

from __future__ import annotations

import pytest

from recommender.records.departements import find_departements
from recommender.search.need import detect_publics, detect_territories, detect_themes


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("dans le Pas-de-Calais", ("Pas-de-Calais",)),
        ("en haute garonne", ("Haute-Garonne",)),
        ("seulement dans le 62", ("Pas-de-Calais",)),
        ("un centre du département 78", ("Yvelines",)),
        ("dans le Nord", ("Nord",)),
        ("en Guadeloupe", ("Guadeloupe",)),
    ],
)
def test_departements_by_name_or_number(text, expected):
    assert find_departements(text) == expected


@pytest.mark.parametrize("text", ["c'est trop cher", "le nord de la ville", "un lot de livres"])
def test_common_words_are_not_departements(text):
    assert find_departements(text) == ()


@pytest.mark.parametrize(
    ("text", "public"),
    [
        ("plutôt pour les ados", "Jeunesse"),
        ("les mamans avec des bébés", "Petite enfance"),
        ("les mamans avec des bébés", "familles"),
        ("rompre l'isolement des personnes agées", "Seniors"),
        ("des jeunes adultes de 18-25 ans", "Jeunes adultes"),
    ],
)
def test_publics(text, public):
    assert public in detect_publics(text)


def test_no_public_in_a_text_without_people():
    assert detect_publics("organiser une fête avec un barbecue") == ()


def test_territories():
    assert detect_territories("en milieu rural") == ("rural",)
    assert "quartier" in detect_territories("au pied des immeubles du quartier")


def test_themes_come_from_the_corpus_vocabulary():
    vocabulary = ["Parentalité", "Santé", "développement durable", "Culture"]
    assert detect_themes("soutien à la parentalité et à la santé", vocabulary) == (
        "Parentalité",
        "Santé",
    )
    assert detect_themes("un atelier de cuisine", vocabulary) == ()

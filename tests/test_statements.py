"""Cutting limits and perspectives into statements: whole sentences, on the real records."""

from __future__ import annotations

import json
import re

import pytest

from recommender.answers.statements import content_words, says_nothing, statements

PAIRS = (("«", "»"), ("“", "”"), ("(", ")"))


@pytest.fixture(scope="module")
def fields(data_dir) -> list[tuple[str, str, str]]:
    rows = [json.loads(line) for line in (data_dir / "actions.jsonl").open(encoding="utf-8")]
    return [(r["id"], name, r[name]) for r in rows for name in ("limits", "perspectives")]


def _cut(fields, action_id: str, name: str) -> list[str]:
    return next(statements(text) for a, n, text in fields if a == action_id and n == name)


def test_no_fragment_in_any_real_statement(fields):
    for _, _, text in fields:
        for s in statements(text):
            assert s.count('"') % 2 == 0, s
            for left, right in PAIRS:
                assert s.count(left) == s.count(right), s
            assert not re.search(r"(\.\.\.|…)\s*[»”]", s), s  # a quotation cut by « ... »
            assert len(content_words(s)) >= 2, s
            assert not says_nothing(s), s
            assert not s.endswith((",", ":")), s


def test_headings_and_non_statements_are_dropped(fields):
    kdos = _cut(fields, "act-87969b718a", "perspectives")
    assert not any("Après les Kdos" in s for s in kdos)
    assert len(kdos) == 2 and kdos[0].startswith("la réalisation d’un film")
    assert _cut(fields, "act-d0693eaa53", "limits") == []  # « toujours en cours »
    assert _cut(fields, "act-1117bc0aa1", "limits") == []  # « à déterminer lors du bilan »
    assert _cut(fields, "act-ea6488b831", "perspectives") == []  # suites non décidées
    epicerie = _cut(fields, "act-603c7cb295", "limits")  # « Aucune limite sur … » dropped
    assert epicerie == ["Le modèle économique et structurel pour une épicerie sociale régulière."]


def test_an_ellipsis_before_a_lower_case_word_does_not_cut(fields):
    cut = _cut(fields, "act-d5f2273415", "limits")
    assert not any(s.startswith("chaque chose") for s in cut)
    assert any(s.endswith("du centre... chaque chose en son temps") for s in cut)
    # « etc...). Pour cela » : the bracket closes, then a new sentence starts
    assert any(s.startswith("Pour cela, nous avons même permis") for s in cut)


def test_short_list_items_are_joined_and_trailing_commas_go(fields):
    assert _cut(fields, "act-d783feb804", "perspectives") == [
        "Ateliers culinaires, plantation, entretien."
    ]
    terrasses = _cut(fields, "act-297592c284", "perspectives")
    assert terrasses[0] == "Nous allons continuer les terrasses et les maraudes"


def test_rules_on_made_up_text():
    assert statements('Défi Mode" pour les familles du quartier') == [
        "Défi Mode pour les familles du quartier"
    ]
    assert statements("RAS") == statements("Néant.") == statements("à définir") == []
    assert statements("Pas de coût de poste pour financer l'action") != []
    assert statements("M. Dupont anime les ateliers. Les familles viennent souvent.") == [
        "M. Dupont anime les ateliers.",
        "Les familles viennent souvent.",
    ]
    assert statements("Trois ateliers prévus ; deux ont eu lieu.") == [
        "Trois ateliers prévus ; deux ont eu lieu."
    ]
    assert statements("- \nLe coût des intervenants est élevé.\nok\nPeu de familles.") == [
        "Le coût des intervenants est élevé.",
        "Peu de familles.",
    ]

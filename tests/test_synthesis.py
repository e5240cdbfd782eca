"""Synthesis of limits (« Points de vigilance ») and perspectives (« Pistes »)."""

from __future__ import annotations

from recommender.answers.synthesis import OTHER, pistes, statements, vigilance


def test_statements_skip_dashes_and_fragments():
    text = "- \nLe coût des intervenants est élevé.\nok\nPeu de familles se sont mobilisées."
    assert statements(text) == [
        "Le coût des intervenants est élevé.",
        "Peu de familles se sont mobilisées.",
    ]


def test_limits_are_grouped_by_theme_with_their_cards():
    groups = vigilance(
        [
            "Le coût des intervenants est élevé.",
            "Difficile de mobiliser les familles du quartier.",
            "Le budget a manqué pour la deuxième année.",
        ]
    )
    themes = {g.theme: g for g in groups}
    money = themes["Moyens financiers"]
    assert sorted(s for p in money.points for s in p.sources) == [1, 3]
    assert themes["Mobiliser et garder le public"].points[0].sources == (2,)


def test_duplicate_statements_are_merged_and_cite_every_card():
    same = "Difficile de mobiliser les familles sur la durée."
    groups = vigilance([same, same, "Rien à signaler pour cette action ici."])
    merged = [p for g in groups for p in g.points if p.text == same]
    assert len(merged) == 1
    assert merged[0].sources == (1, 2)


def test_pistes_and_unclassified_statements():
    groups = pistes(["Poursuivre l'action l'année prochaine.", "Un grand merci aux voisins."])
    themes = [g.theme for g in groups]
    assert "Poursuivre et pérenniser" in themes
    assert OTHER in themes


def test_empty_inputs_give_no_group():
    assert vigilance(["", "-", "  "]) == ()

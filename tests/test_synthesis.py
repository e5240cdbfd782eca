"""Synthesis of limits (« Points de vigilance ») and perspectives (« Pistes »)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from embeddings.fake import FakeEncoder
from recommender.answers.answer import compose
from recommender.answers.statements import content_words, statements
from recommender.answers.synthesis import (
    OTHER_LABEL,
    as_lines,
    missing_sentence,
    pistes,
    point_line,
    synthesise,
    vigilance,
)
from recommender.answers.themes import OTHER, StatementThemes, themes_for
from recommender.search.need import understand


@pytest.fixture(scope="module")
def fake_themes() -> StatementThemes:
    return StatementThemes(FakeEncoder()).fit()


def _points(synthesis):
    return [p for g in synthesis.groups for p in g.points]


def test_limits_are_grouped_by_theme_with_their_cards():
    synthesis = vigilance(
        [
            "Le coût des intervenants est élevé.",
            "Difficile de mobiliser les familles du quartier.",
            "Le budget a manqué pour la deuxième année.",
        ]
    )
    themes = {g.key: g for g in synthesis.groups}
    assert themes["financement"].cards == (1, 3)
    assert synthesis.groups[0].key == "financement"  # two cards: first
    assert synthesis.n_cards == 3


def test_duplicate_statements_are_merged_and_cite_every_card():
    same = "Difficile de mobiliser les familles sur la durée."
    synthesis = vigilance([same, same, "Le coût des intervenants est élevé."])
    merged = [p for p in _points(synthesis) if p.text == same]
    assert len(merged) == 1
    assert merged[0].sources == (1, 2)
    assert point_line(merged[0], 3).startswith("2 actions sur 3 : Difficile de mobiliser")
    assert point_line(merged[0], 3).endswith("(fiches 1, 2)")


def test_paraphrases_from_two_records_become_one_point(fake_themes):
    # Two centres, the same idea in other words (data/synthesis/paraphrases.json).
    synthesis = vigilance(
        [
            "Aprés 6 ateliers, à raison d'un atelier par mois, nous avons constaté un "
            "essouflement des participants.",
            "Renouvellement des idées. Essoufflement des participations.",
        ],
        fake_themes,
    )
    engagement = next(g for g in synthesis.groups if g.key == "engagement_participants")
    assert len(engagement.points) == 1
    assert engagement.points[0].sources == (1, 2)
    point = engagement.points[0]
    said = {point.text, *point.merged}
    assert "Essoufflement des participations." in said and len(said) == 2


def test_two_different_points_of_one_theme_stay_apart(fake_themes):
    synthesis = vigilance(
        ["L'entretien régulier du jardin est problématique.", "Renouvellement des idées."],
        fake_themes,
    )
    assert [len(g.points) for g in synthesis.groups] == [2]


def test_known_statements_keep_their_reviewed_theme(fake_themes):
    # « avoir lieu » once put it under « Lieux et matériel ».
    assert fake_themes.themes(["Sur 3 groupes, seul 1 a pu avoir lieu."], "limite") == [
        "portee_limitee"
    ]
    assert fake_themes.themes(["Renforcer le partenariat avec la PMI"], "perspective") == [
        "partenariats"
    ]
    assert fake_themes.themes(["Essoufflement des participations"], "limite") == [
        "engagement_participants"
    ]


def test_new_statements_get_a_theme_of_their_side(fake_themes):
    limits = fake_themes.themes(["Les confinements ont arrêté l'atelier tout l'hiver."], "limite")
    assert limits[0] in fake_themes.taxonomy.keys("limite")
    assert themes_for(None).by_stems("Le coût des intervenants et le budget", "limite") == (
        "financement"
    )


def test_other_is_never_first_nor_alone_and_cards_without_limits_are_counted():
    alone = vigilance(["Projet travaillé sur une année.", ""])
    assert alone.groups == () and alone.hidden == 1
    assert missing_sentence(alone) == "1 fiche sans limites renseignées (fiche 2)"
    mixed = vigilance(
        ["Projet travaillé sur une année.", "Le coût des intervenants est élevé.", "", "-"]
    )
    assert [g.theme for g in mixed.groups][-1] == OTHER_LABEL
    assert mixed.groups[0].key != OTHER
    # « autre » statements are unlike each other: never merged by meaning
    others = vigilance(
        ["Le coût est élevé.", "Projet travaillé sur une année.", "Projet mené sur une année."]
    )
    assert [len(g.cards) for g in others.groups] == [1, 1]
    assert missing_sentence(mixed) == "2 fiches sans limites renseignées (fiches 3, 4)"


def test_at_most_five_points_one_per_theme_first():
    texts = [
        "Le coût des intervenants est élevé.",
        "Les confinements ont empêché les rencontres.",
        "Les locaux sont trop petits pour accueillir les familles.",
        "Manque de bénévoles pour encadrer les sorties.",
        "Les villages sont isolés et sans transport.",
        "La météo a entravé le déroulement des sorties.",
        "Le budget manque pour la deuxième année.",
    ]
    synthesis = vigilance(texts)
    assert sum(len(g.points) for g in synthesis.groups) == 5
    assert all(len(g.points) == 1 for g in synthesis.groups)
    assert synthesis.hidden == 2
    assert "2 autres énoncés dans les fiches" in as_lines(synthesis)[-1]


def test_empty_inputs_give_an_empty_synthesis():
    synthesis = pistes(["", "-", "  "])
    assert synthesis.groups == () and synthesis.without == (1, 2, 3)


def _needs(data_dir) -> list[str]:
    queries = json.loads((data_dir / "eval" / "queries.json").read_text(encoding="utf-8"))
    blind = json.loads((data_dir / "eval" / "blind.json").read_text(encoding="utf-8"))
    return [q["query"] for q in queries] + [q["query"] for q in blind]


def test_no_fragment_in_any_synthesis_over_the_eval_needs(fake_engine, data_dir):
    themes = themes_for(fake_engine, wait=True)
    needs = _needs(data_dir)
    assert len(needs) > 250
    checked = 0
    for need, result in zip(needs, fake_engine.search_many(needs), strict=True):
        answer = compose(result, understand(need, fake_engine.actions), themes=themes)
        for synthesis in (answer.vigilance, answer.pistes):
            assert sum(len(g.points) for g in synthesis.groups) <= 5
            if synthesis.groups:
                assert synthesis.groups[0].key != OTHER
            fields = [
                c.action.limits if synthesis.kind == "limite" else c.action.perspectives
                for c in answer.cards
            ]
            said = {s for text in fields for s in statements(text)}
            for line in as_lines(synthesis):
                assert line.count("«") == line.count("»"), line
                assert line.count('"') % 2 == 0, line
                assert not re.search(r"(\.\.\.|…)\s*[»”\"]", line), line
            for group in synthesis.groups:
                for point in group.points:
                    assert point.text in said  # a whole statement of a card, never a piece
                    assert len(content_words(point.text)) >= 2
                    checked += 1
    assert checked > 500


ADAPTED = Path(__file__).resolve().parents[1] / "models" / "multilingual-e5-small-adapted"


@pytest.mark.slow
@pytest.mark.skipif(not (ADAPTED / "modules.json").is_file(), reason="run `reco model adapt` first")
def test_paraphrases_merge_with_the_default_encoder():
    from embeddings.registry import get_encoder

    encoder = get_encoder("e5-adapted", models_dir=ADAPTED.parent)
    # As the product classifies (themes_for): the engine's encoder and USE side by side.
    themes = StatementThemes(encoder, second=get_encoder("use", models_dir=ADAPTED.parent))
    synthesis = synthesise(
        [
            "Manque de moyens humains pour accompagner les demandes des habitants.",
            "Les bénévoles demandent plus de distribution mais nous ne sommes pas "
            "suffisamment de personnel.",
            "Le coût des intervenants représente une somme importante.",
        ],
        "limite",
        themes,
    )
    team = next(g for g in synthesis.groups if g.key == "equipe_benevoles")
    assert [p.sources for p in team.points] == [(1, 2)]

"""Answer composition: cards, escaping, honest no-match (fake encoder index)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from embeddings.fake import FakeEncoder
from recommender.answers.answer import answer_markdown, compose, result_to_dict
from recommender.core.config import Settings
from recommender.core.text import md
from recommender.index.build import build_index
from recommender.records.records import load_actions, save_actions
from recommender.search.need import understand
from recommender.search.service import Engine

DATA = Path(__file__).resolve().parent.parent / "data"


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("answer")
    actions = load_actions(DATA / "actions.jsonl")
    # One record carries markup, to check nothing from records becomes HTML.
    actions[0] = replace(
        actions[0], limits="<script>alert(1)</script> <img src=x onerror=alert(2)>"
    )
    save_actions(tmp / "actions.jsonl", actions)
    encoder = FakeEncoder()
    build_index(actions, [("fake", encoder)], tmp / "index", tmp / "cache", show_progress=False)
    settings = Settings(
        data_path=tmp / "actions.jsonl",
        index_dir=tmp / "index",
        cache_dir=tmp / "cache",
        glossary_path=DATA / "glossary.tsv",
        encoders=("fake",),
    )
    return Engine.load(settings, encoders=[encoder])


def test_md_escapes_html_and_markdown():
    escaped = md("<script>x</script> **gras** [lien](http://a)")
    assert "<script>" not in escaped and "&lt;script&gt;" in escaped
    assert "\\*\\*gras\\*\\*" in escaped and "\\[lien\\]" in escaped


def test_cards_carry_limits_and_perspectives(engine):
    text = "accompagnement scolaire et aide aux devoirs pour les collégiens"
    answer = compose(engine.search(text), understand(text, engine.actions))
    assert 1 <= len(answer.cards) <= 5
    markdown = answer_markdown(answer)
    assert "**Limites**" in markdown and "**Perspectives**" in markdown
    card_titles = [line for line in markdown.splitlines() if line.startswith("### ")]
    assert len(card_titles) == len(answer.cards)


def test_record_markup_is_shown_as_text(engine):
    first = engine.actions[0]
    answer = compose(engine.search(first.title), understand(first.title, engine.actions))
    markdown = answer_markdown(answer)
    assert "<script>" not in markdown and "<img" not in markdown
    if any(c.action.id == first.id for c in answer.cards):
        assert "&lt;script&gt;" in markdown


def test_no_match_answer_asks_a_question(engine):
    result = replace(engine.search("zzzz qqqq"), no_match=True)
    answer = compose(result, understand("zzzz qqqq", engine.actions))
    assert answer.cards == ()
    markdown = answer_markdown(answer)
    assert "aucune action vraiment proche" in markdown
    assert "Pouvez" in markdown and "public" in markdown


def test_no_match_answer_says_what_no_record_talks_about(engine):
    need = f"{engine.actions[0].title} : des moisissures et des punaises"
    result = replace(engine.search(need), no_match=True)
    assert set(result.unknown_words) == {"moisissures", "punaises"}
    assert 0 < result.unknown_share < 1
    markdown = answer_markdown(compose(result, understand(need, engine.actions)))
    assert "Aucune fiche de la base ne parle de « moisissures », « punaises »." in markdown
    assert "Thèmes les plus voisins" in markdown
    assert result_to_dict(result)["unknown_words"] == ["moisissures", "punaises"]
    known = engine.search(engine.actions[0].title)
    assert known.unknown_words == () and known.unknown_share == 0.0


def test_json_contract_keys(engine):
    payload = result_to_dict(engine.search("fête de quartier"))
    expected = {"id", "title", "structure", "departement", "status", "score", "match_level"}
    expected |= {"field", "passage", "limits", "perspectives"}
    assert expected <= set(payload["results"][0])

"""Chat conversations: follow-ups refine the need, new needs start over, answers are escaped."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from bench.fake_index import build_fake_index
from recommender.answers.conversation import Conversation, reply
from recommender.answers.intents import Kind, interpret
from recommender.core.config import Settings
from recommender.search.filters import Facet
from recommender.search.service import Engine

ROOT = Path(__file__).resolve().parents[1]
NEED = "Les mamans avec des bébés restent seules chez elles"


@pytest.fixture(scope="module")
def engine(tmp_path_factory) -> Engine:
    env = build_fake_index(tmp_path_factory.mktemp("conversation"))
    return Engine.load(Settings.from_env(env))


@pytest.fixture(scope="module")
def started(engine) -> tuple[Conversation, str]:
    return reply(Conversation(), NEED, engine)


def _ask(state: Conversation, message: str, engine: Engine) -> tuple[Conversation, str]:
    return reply(state, message, engine)


def test_first_need_gives_cards_with_limits_and_perspectives(started):
    state, text = started
    assert state.base == NEED and state.refinements == ()
    assert 3 <= len(state.last_ids) <= 5
    assert "**Limites**" in text and "**Perspectives**" in text
    assert "J'ai compris" in text and "public : Petite enfance, familles" in text
    assert len(state.turns) == 1 and state.turns[0].query == NEED


def test_for_teenagers_adds_the_public_filter_and_words(started, engine):
    state, _ = started
    new, text = _ask(state, "plutôt pour les ados", engine)
    assert new.filters.public == ("Jeunesse",)
    assert new.refinements == ("plutôt pour les ados",)
    assert new.base == NEED
    assert new.last_ids != state.last_ids
    jeunesse = {a.id for a in engine.actions if "Jeunesse" in a.public}
    assert set(new.last_ids) <= jeunesse
    assert "Filtres actifs" in text and "Public : Jeunesse" in text


def test_rural_adds_words_but_no_filter(started, engine):
    state, _ = started
    new, text = _ask(state, "en milieu rural", engine)
    assert new.filters == state.filters
    assert "rural" in new.query and new.query.startswith(NEED)
    assert "territoire : rural" in text


def test_only_ongoing_sets_the_status_filter(started, engine):
    state, _ = started
    new, _ = _ask(state, "seulement celles en cours", engine)
    assert new.filters.status == ("En cours",)
    assert new.query == state.query  # a filter only: no words added
    by_id = {a.id: a for a in engine.actions}
    assert new.last_ids and all(by_id[i].status == "En cours" for i in new.last_ids)


@pytest.mark.parametrize("message", ["dans le Pas-de-Calais", "dans le 62"])
def test_departement_by_name_or_number(started, engine, message):
    state, _ = started
    new, text = _ask(state, message, engine)
    assert new.filters.departement == ("Pas-de-Calais",)
    by_id = {a.id: a for a in engine.actions}
    assert new.last_ids and all(by_id[i].departement == "Pas-de-Calais" for i in new.last_ids)
    assert "Département : Pas\\-de\\-Calais" in text


def test_more_like_card_two_uses_similar(started, engine):
    state, _ = started
    second = state.last_ids[1]
    new, text = _ask(state, "plus comme la 2", engine)
    expected = [h.action.id for h in engine.similar(second, top=5).hits]
    assert list(new.last_ids) == expected
    assert second not in new.last_ids
    assert text.startswith("Actions proches de la fiche 2")
    assert new.base == state.base  # still the same conversation


def test_full_record_three(started, engine):
    state, _ = started
    new, text = _ask(state, "montre la fiche 3 en entier", engine)
    assert new == state
    third = engine.index.action(state.last_ids[2])
    assert text.startswith("Fiche 3 en entier")
    for label in ("**Résumé**", "**Limites**", "**Perspectives**", "**Motif de fin**"):
        assert label in text
    assert third.id in text.replace("\\-", "-")
    missing, message = _ask(state, "montre la fiche 9 en entier", engine)
    assert missing == state and "pas de fiche 9" in message


def test_restart_resets_everything(started, engine):
    state, _ = started
    state, _ = _ask(state, "dans le 62", engine)
    new, text = _ask(state, "recommence", engine)
    assert new == Conversation()
    assert "nouveau besoin" in text
    after, message = _ask(new, "plus comme la 2", engine)
    assert after == new and "décrivez d'abord un besoin" in message


def test_clear_filters_by_message(started, engine):
    state, _ = started
    state, _ = _ask(state, "seulement celles en cours", engine)
    state, _ = _ask(state, "dans le 62", engine)
    one, _ = _ask(state, "retire le filtre statut", engine)
    assert one.filters.status == () and one.filters.departement == ("Pas-de-Calais",)
    none, text = _ask(state, "retire les filtres", engine)
    assert none.filters.is_empty() and "Filtres actifs" not in text


def test_new_need_versus_follow_up():
    state = Conversation(base=NEED)
    assert interpret(NEED, Conversation()).kind is Kind.NEW
    assert interpret("plutôt pour les ados", state).kind is Kind.REFINE
    assert interpret("dans le 62", state).kind is Kind.REFINE
    assert interpret("en cours", state).kind is Kind.REFINE
    long_need = "Des ados traînent le soir sans activité dans le quartier"
    assert interpret(long_need, state).kind is Kind.NEW
    assert interpret("Aider les familles à faire leurs démarches en ligne", state).kind is Kind.NEW
    assert interpret("jardin partagé", state).kind is Kind.NEW


def test_a_long_new_description_starts_a_new_need(started, engine):
    state, _ = started
    state, _ = _ask(state, "en milieu rural", engine)
    new, text = _ask(state, "Des ados traînent le soir sans activité dans le quartier", engine)
    assert new.base.startswith("Des ados") and new.refinements == ()
    assert text.startswith("Nouveau besoin")
    assert len(new.turns) == len(state.turns) + 1  # the report keeps the whole conversation


def test_side_filters_apply_to_the_next_answer(started, engine):
    state, _ = started
    state = state.with_filter(Facet.DIMENSION, ("Services",))
    new, text = _ask(state, "Aider les familles à faire leurs démarches en ligne", engine)
    by_id = {a.id: a for a in engine.actions}
    assert new.last_ids and all(by_id[i].dimension == "Services" for i in new.last_ids)
    assert "Dimension : Services" in text


def test_two_conversations_are_independent(engine):
    first, _ = reply(Conversation(), NEED, engine)
    second, _ = reply(Conversation(), "jardin partagé au pied des immeubles", engine)
    first_refined, _ = reply(first, "dans le 62", engine)
    assert second.filters.is_empty() and first.filters.is_empty()
    assert first_refined.filters.departement == ("Pas-de-Calais",)
    assert second.base.startswith("jardin") and first_refined.base == NEED


def test_markup_in_messages_and_records_stays_text(engine):
    _, text = reply(
        Conversation(), "<script>alert(1)</script> <img src=x onerror=alert(2)>", engine
    )
    assert "<script>" not in text and "<img" not in text
    first = engine.actions[0]
    hostile = replace(first, title="<script>alert(3)</script>", summary="<img onerror=x>")
    from recommender.answers.projection import record_markdown

    markdown = record_markdown(hostile)
    assert "<script>" not in markdown and "&lt;script&gt;" in markdown
    assert "<img" not in markdown


def test_user_mistakes_are_french_messages(engine):
    state = Conversation()
    for message, expected in (("   ", "vide"), ("🎉🎉", "aucun mot")):
        new, text = reply(state, message, engine)
        assert new == state and expected in text


def test_long_messages_are_cut_with_a_note(engine):
    _, text = reply(Conversation(), "jardin partagé " * 300, engine)
    assert "Texte très long" in text and "premiers" in text


class _Planted:
    """The engine, with personal data planted in the first hit of every search."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def __getattr__(self, name: str):
        return getattr(self._engine, name)

    def search(self, *args, **kwargs):
        result = self._engine.search(*args, **kwargs)
        first = result.hits[0]
        action = replace(
            first.action,
            summary="Contact : marie.dupont@example.org ou 06 12 34 56 78, demander Marie.",
            limits="Appeler Jean-Pierre au 01 23 45 67 89.",
        )
        passage = replace(first.passage, text="Écrire à marie.dupont@example.org", spans=())
        hits = (replace(first, action=action, passage=passage), *result.hits[1:])
        return replace(result, hits=hits)


def test_personal_data_is_masked_by_default(engine):
    _, text = reply(Conversation(), NEED, _Planted(engine))
    assert "example" not in text and "06 12" not in text and "01 23" not in text
    assert "e\\-mail masqué" in text and "téléphone masqué" in text  # escaped brackets
    _, raw = reply(Conversation(), NEED, _Planted(engine), mask=False)
    assert "marie.dupont@example.org" in raw

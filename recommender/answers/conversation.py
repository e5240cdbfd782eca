"""One chat conversation: a need, its follow-ups (« plutôt pour les ados »…) and the answers.

No UI here: the app keeps one `Conversation` per browser session and calls `reply`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from recommender.answers.answer import Answer, Card, answer_markdown, compose
from recommender.answers.intents import Intent, Kind, interpret
from recommender.answers.masking import mask_result
from recommender.answers.projection import record_markdown
from recommender.answers.synthesis import pistes, vigilance
from recommender.answers.themes import StatementThemes, themes_for
from recommender.core.text import md
from recommender.records.privacy import mask_text
from recommender.records.records import Action
from recommender.search.filters import NO_FILTERS, Facet, Filters, resolve
from recommender.search.glossary import Expansion
from recommender.search.need import Need, detect_publics, understand
from recommender.search.search import MAX_QUERY_CHARS, SearchResult
from recommender.search.service import Engine, QueryError, prepare_query

TOP = 5
MAX_TURNS = 20  # answers kept for the downloadable report
FILTERS_HINT = "bouton « Retirer les filtres » ou message « retire les filtres »"


@dataclass(frozen=True)
class Turn:
    """One answer shown in the chat (kept for the rating and the report)."""

    query: str
    filters: Filters
    answer: Answer


@dataclass(frozen=True)
class Conversation:
    """Per-session state: immutable, replaced after each message."""

    base: str = ""
    refinements: tuple[str, ...] = ()
    filters: Filters = NO_FILTERS
    last_ids: tuple[str, ...] = ()
    turns: tuple[Turn, ...] = ()

    @property
    def query(self) -> str:
        """The need and its follow-ups; a long need is cut so the latest follow-ups still fit."""
        text = " ".join((self.base, *self.refinements)).strip()
        if len(text) <= MAX_QUERY_CHARS:
            return text
        kept: list[str] = []
        room = MAX_QUERY_CHARS
        for words in reversed(self.refinements):
            if len(words) + 1 > room:
                break
            kept.insert(0, words)
            room -= len(words) + 1
        base = self.base[:room].rsplit(" ", 1)[0] if len(self.base) > room else self.base
        return " ".join((base, *kept)).strip()

    @property
    def answers(self) -> tuple[Answer, ...]:
        return tuple(t.answer for t in self.turns)

    def with_filter(self, facet: Facet, values: tuple[str, ...]) -> Conversation:
        return replace(self, filters=self.filters.with_values(facet, values))


Reply = tuple[Conversation, str]


def _merge(current: Filters, found: Filters, engine: Engine) -> tuple[Filters, list[str]]:
    """Follow-up values replace the same facet's values (in the corpus' spelling)."""
    resolved, notes = resolve(found, engine.actions)
    merged = current
    for facet, values in resolved.items():
        merged = merged.with_values(facet, values)
    return merged, notes


def reply(
    state: Conversation, message: str, engine: Engine, *, mask: bool = True
) -> tuple[Conversation, str]:
    """Answer one message; user mistakes come back as French text, never as exceptions."""
    try:
        prepared = prepare_query(message)
    except QueryError as exc:
        return state, md(str(exc))
    try:
        intent = interpret(prepared.text, state)
        handler = _HANDLERS[intent.kind]
        new_state, text = handler(state, intent, prepared.text, engine, mask)
    except QueryError as exc:  # the truncation notice still comes first
        new_state, text = state, md(str(exc))
    notes = "\n".join(f"*{md(n)}*  " for n in prepared.notes)
    return new_state, f"{notes}\n\n{text}" if notes else text


def _new(state: Conversation, intent: Intent, text: str, engine: Engine, mask: bool) -> Reply:
    filters, notes = state.filters, []
    asked = detect_publics(text)
    if filters.public and asked and not set(asked) & set(filters.public):
        filters = filters.without(Facet.PUBLIC)
        notes.append(f"Filtre « Public » retiré : votre besoin parle de {', '.join(asked)}.")
    fresh = replace(Conversation(), base=text, filters=filters, turns=state.turns)
    head = "Nouveau besoin." if state.base else ""  # says the previous one is left behind
    return _search(fresh, engine, mask, head, notes)


def _refine(state: Conversation, intent: Intent, text: str, engine: Engine, mask: bool) -> Reply:
    filters, notes = _merge(state.filters, intent.filters, engine)
    refinements = (*state.refinements, intent.words) if intent.words else state.refinements
    new_state = replace(state, refinements=refinements, filters=filters)
    added = f" (ajouté à la recherche : « {intent.words} »)" if intent.words else ""
    return _search(new_state, engine, mask, f"Je précise la recherche précédente{added}.", notes)


def _clear(state: Conversation, intent: Intent, text: str, engine: Engine, mask: bool) -> Reply:
    filters, what = NO_FILTERS, "Filtres retirés"
    if intent.facet is not None:
        filters = state.filters.without(intent.facet)
        what = f"Filtre « {intent.facet.label} » retiré"
    if not state.base:
        return replace(state, filters=filters), f"{what}."
    return _search(replace(state, filters=filters), engine, mask, f"{what}.", [])


def _reset(state: Conversation, intent: Intent, text: str, engine: Engine, mask: bool) -> Reply:
    return Conversation(), (
        "C'est reparti ! Décrivez un nouveau besoin : le public, le lieu, ce qui manque."
    )


def _need(state: Conversation, engine: Engine) -> Need:
    """The need as understood, with follow-up filters taking precedence over the text."""
    need = understand(state.query, engine.actions)
    if state.filters.public:
        need = replace(need, publics=state.filters.public)
    if state.filters.departement:
        need = replace(need, departements=state.filters.departement)
    return need


def _search(state: Conversation, engine: Engine, mask: bool, head: str, notes: list[str]) -> Reply:
    result = engine.search(state.query, state.filters, TOP)
    result = mask_result(result) if mask else result
    answer = compose(result, _need(state, engine), themes=themes_for(engine))
    return _answered(state, answer, head, notes)


def _answered(state: Conversation, answer: Answer, head: str, notes: list[str]) -> Reply:
    ids = tuple(c.action.id for c in answer.cards)
    turn = Turn(answer.result.query, state.filters, answer)
    new_state = replace(state, last_ids=ids, turns=(*state.turns, turn)[-MAX_TURNS:])
    parts = [md(head), *(f"*{md(n)}*" for n in notes), answer_markdown(answer)]
    parts.append(filters_line(state.filters))
    return new_state, "\n\n".join(p for p in parts if p)


def _card(state: Conversation, number: int, engine: Engine) -> Action:
    if not state.last_ids:
        raise QueryError("La dernière réponse ne montre aucune fiche : décrivez d'abord un besoin.")
    if not 1 <= number <= len(state.last_ids):
        raise QueryError(
            f"Il n'y a pas de fiche {number} dans la dernière réponse "
            f"(fiches 1 à {len(state.last_ids)})."
        )
    action = engine.index.action(state.last_ids[number - 1])
    if action is None:
        raise QueryError(f"La fiche {number} n'existe plus dans la base.")
    return action


def _similar(state: Conversation, intent: Intent, text: str, engine: Engine, mask: bool) -> Reply:
    source = _card(state, intent.number, engine)
    result = engine.similar(source.id, state.filters, TOP)
    result = replace(result, expansion=Expansion(()))  # words of the record, not the user's
    result = mask_result(result) if mask else result
    title = mask_text(source.title) if mask else source.title
    head = f"Actions proches de la fiche {intent.number} (« {title} ») :"
    answer = similar_answer(result, _need(state, engine), themes_for(engine))
    return _answered(state, answer, head, [])


def similar_answer(
    result: SearchResult, need: Need, themes: StatementThemes | None = None
) -> Answer:
    """« Plus comme ceci » shows every neighbour: match levels are calibrated for needs."""
    cards = tuple(Card(n, h) for n, h in enumerate(result.hits, start=1))
    return Answer(
        need=need,
        result=replace(result, no_match=False),
        cards=cards,
        vigilance=vigilance([c.action.limits for c in cards], themes),
        pistes=pistes([c.action.perspectives for c in cards], themes),
        question="",
    )


def _full(state: Conversation, intent: Intent, text: str, engine: Engine, mask: bool) -> Reply:
    action = _card(state, intent.number, engine)
    return state, f"Fiche {intent.number} en entier :\n\n{record_markdown(action, mask=mask)}"


def conversation_markdown(state: Conversation) -> str:
    """Every answer of the conversation, for the download button."""
    parts = ["# Actions des centres sociaux — résultats de la conversation"]
    for n, turn in enumerate(state.turns, start=1):
        parts += [f"## Recherche {n} : {md(turn.query)}", answer_markdown(turn.answer)]
    return "\n\n".join(parts) + "\n"


def filters_line(filters: Filters) -> str:
    """The active filters, in one line, with how to remove them."""
    if filters.is_empty():
        return ""
    active = " · ".join(f"{f.label} : {', '.join(v)}" for f, v in filters.items())
    return f"**Filtres actifs** : {md(active)} — pour les retirer : {md(FILTERS_HINT)}."


_HANDLERS: dict[Kind, Callable[[Conversation, Intent, str, Engine, bool], Reply]] = {
    Kind.NEW: _new,
    Kind.REFINE: _refine,
    Kind.SIMILAR: _similar,
    Kind.FULL: _full,
    Kind.RESET: _reset,
    Kind.CLEAR: _clear,
}

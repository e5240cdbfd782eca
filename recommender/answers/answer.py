"""Answers: the cards worth showing and the synthesis across them, and their JSON, plain
text and Markdown forms. Each card's content is a `CardView`, computed once per hit."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from recommender.answers.synthesis import Synthesis, notes, pistes, point_sentence, vigilance
from recommender.answers.themes import StatementThemes
from recommender.answers.view import NO_MATCH_SAID, NOT_PROVIDED, CardView, missing_sentence
from recommender.core.text import highlight, md, shorten
from recommender.records.records import Action
from recommender.search.calibration import MatchLevel
from recommender.search.need import Need, clarifying_question
from recommender.search.passages import Passage
from recommender.search.search import Hit, SearchResult


def hit_to_dict(hit: Hit) -> dict[str, object]:
    return CardView.of(hit).to_dict()


def result_to_dict(result: SearchResult) -> dict[str, object]:
    return {
        "query": result.query,
        "no_match": result.no_match,
        "notes": list(result.notes),
        "glossary": result.expansion.notes(),
        "results": [hit_to_dict(h) for h in result.hits],
        "nearest_themes": list(result.nearest_themes) if result.no_match else [],
        "suggestion": result.suggestion,
        "unknown_words": list(result.unknown_words),
        "facets": result.facets,
    }


def _indent(text: str, prefix: str = "     ") -> str:
    return "\n".join(prefix + line for line in text.splitlines())


def result_to_text(result: SearchResult) -> str:
    lines = [f"Besoin : {result.query}"]
    lines += [f"Note : {n}" for n in (*result.notes, *result.expansion.notes())]
    if result.no_match:
        lines.append(NO_MATCH_SAID)
        if result.unknown_words:
            lines.append(missing_sentence(result.unknown_words))
        if result.nearest_themes:
            lines.append("Thèmes les plus voisins : " + ", ".join(result.nearest_themes))
        if result.suggestion:
            lines.append(result.suggestion)
    for rank, hit in enumerate(result.hits, start=1):
        v = CardView.of(hit, rank)
        lines += [
            "",
            f"{rank}. {v.title} — {v.level.value}",
            f"   {v.structure} ({v.departement or '?'}) · {v.status or '?'}",
            f"   Pourquoi ({v.field}) : {v.passage.marked()}",
            "   Limites :",
            _indent(v.limits or NOT_PROVIDED),
            "   Perspectives :",
            _indent(v.perspectives or NOT_PROVIDED),
        ]
    return "\n".join(lines)


# ---- chat answer --------------------------------------------------------------------------

SUMMARY_CHARS = 420
POINT_CHARS = 240


@dataclass(frozen=True)
class Card:
    number: int
    hit: Hit

    @property
    def action(self) -> Action:
        return self.hit.action

    @cached_property
    def view(self) -> CardView:
        """What the card says, computed on first use and kept (every renderer reads it)."""
        return CardView.of(self.hit, self.number)

    @property
    def status_line(self) -> str:
        return self.view.status_line


@dataclass(frozen=True)
class Answer:
    need: Need
    result: SearchResult
    cards: tuple[Card, ...]
    vigilance: Synthesis
    pistes: Synthesis
    question: str  # clarifying question when nothing is close (else empty)


def compose(
    result: SearchResult,
    need: Need,
    max_cards: int = 5,
    themes: StatementThemes | None = None,
) -> Answer:
    """Cards for the hits worth showing, the synthesis across them, or an honest no.

    `themes` (answers.themes.themes_for(engine)) brings the encoder that merges statements
    by meaning; without it they are merged by shared stems."""
    shown = [h for h in result.hits if h.level is not MatchLevel.FAR] or []
    if result.no_match:
        shown = []
    cards = tuple(Card(n, h) for n, h in enumerate(shown[:max_cards], start=1))
    return Answer(
        need=need,
        result=result,
        cards=cards,
        vigilance=vigilance([c.action.limits for c in cards], themes),
        pistes=pistes([c.action.perspectives for c in cards], themes),
        question=clarifying_question(need) if not cards else "",
    )


def _marked_md(passage: Passage) -> str:
    return highlight(passage.text, passage.spans, "**", "**", md).replace("\n", " ")


def _block(text: str) -> str:
    text = text.strip()
    return md(text).replace("\n", "  \n") if text else f"*{NOT_PROVIDED}*"


def card_markdown(card: Card) -> str:
    v = card.view
    lines = [
        f"### {v.number}. {md(v.title)}",
        f"**{md(v.structure)}** — {md(v.departement or '?')} · "
        f"{md(v.status_line)} · *{v.level.value}*",
        f"> Pourquoi : ({md(v.field)}) {_marked_md(v.passage)}",
    ]
    if v.summary:
        lines.append(f"**Résumé** : {md(shorten(v.summary, SUMMARY_CHARS))}")
    lines += [
        f"**Limites** :  \n{_block(v.limits)}",
        f"**Perspectives** :  \n{_block(v.perspectives)}",
    ]
    if v.people():
        lines.append(" · ".join(md(p) for p in v.people()))
    return "\n\n".join(lines)


def synthesis_markdown(synthesis: Synthesis) -> str:
    """« Points de vigilance » or « Pistes »: themes, points « 2 actions sur 5 : … (fiches
    1, 3) », then the cards without anything in the field."""
    if not synthesis:
        return ""
    lines = [f"#### {synthesis.title}"]
    for group in synthesis.groups:
        lines += ["", f"**{md(group.theme)}**", ""]  # blank lines: not part of a list item
        for point in group.points:
            count, text, cards = point_sentence(point, synthesis.n_cards, POINT_CHARS)
            lines.append(f"- {count} : {md(text)} *({cards})*")
    if notes(synthesis):
        lines += ["", f"*{md(' · '.join(notes(synthesis)))}*"]
    return "\n".join(lines)


def answer_markdown(answer: Answer) -> str:
    """The chat message: restatement, notes, cards and synthesis (or the honest no)."""
    head = [md(answer.need.summary())]
    head += [f"*{md(n)}*" for n in answer.result.notes]
    glossary = answer.result.expansion.notes()
    if glossary:  # one discreet line, so the first card stays near the top
        head.append(f"<small>Recherche élargie : {md(' ; '.join(glossary))}</small>")
    parts = ["  \n".join(head)]
    if not answer.cards:
        themes = ", ".join(answer.result.nearest_themes) or "aucun"
        missing = missing_sentence(answer.result.unknown_words)
        parts += [
            f"**{NO_MATCH_SAID}**" + (f" {md(missing)}" if missing else ""),
            f"Thèmes les plus voisins dans la base : {md(themes)}.",
            md(answer.question),
        ]
        return "\n\n".join(parts)
    parts += [card_markdown(c) for c in answer.cards]
    parts += [
        synthesis_markdown(answer.vigilance),
        synthesis_markdown(answer.pistes),
    ]
    return "\n\n---\n\n".join(p for p in parts if p)

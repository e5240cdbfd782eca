"""Turn search results into what people and machines read (JSON, plain text)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from recommender.answers.synthesis import Group, pistes, vigilance
from recommender.core.text import highlight, md, shorten
from recommender.records.records import Action
from recommender.search.calibration import MatchLevel
from recommender.search.need import Need, clarifying_question
from recommender.search.passages import Passage
from recommender.search.search import Hit, SearchResult

NOT_PROVIDED = "non renseigné"


def hit_to_dict(hit: Hit) -> dict[str, object]:
    action = hit.action
    return {
        "id": action.id,
        "title": action.title,
        "structure": action.structure_name or action.structure,
        "departement": action.departement,
        "status": action.status,
        "end_reason": action.end_reason,
        "score": hit.score,
        "probability": hit.probability,
        "match_level": hit.level.value,
        "field": hit.passage.chunk.field.label,
        "passage": hit.passage.text,
        "matched_terms": list(hit.passage.terms),
        "summary": action.summary,
        "limits": action.limits or NOT_PROVIDED,
        "perspectives": action.perspectives or NOT_PROVIDED,
        "public": list(action.public),
        "partners": list(action.partners),
        "keywords": list(action.keywords),
    }


def result_to_dict(result: SearchResult) -> dict[str, object]:
    return {
        "query": result.query,
        "no_match": result.no_match,
        "notes": list(result.notes),
        "glossary": result.expansion.notes(),
        "results": [hit_to_dict(h) for h in result.hits],
        "nearest_themes": list(result.nearest_themes) if result.no_match else [],
        "suggestion": result.suggestion,
        "facets": result.facets,
    }


def _indent(text: str, prefix: str = "     ") -> str:
    return "\n".join(prefix + line for line in text.splitlines())


def result_to_text(result: SearchResult) -> str:
    lines = [f"Besoin : {result.query}"]
    lines += [f"Note : {n}" for n in (*result.notes, *result.expansion.notes())]
    if result.no_match:
        lines.append("Aucune action vraiment proche n'a été trouvée.")
        if result.nearest_themes:
            lines.append("Thèmes les plus voisins : " + ", ".join(result.nearest_themes))
        if result.suggestion:
            lines.append(result.suggestion)
    for rank, hit in enumerate(result.hits, start=1):
        a = hit.action
        lines += [
            "",
            f"{rank}. {a.title} — {hit.level.value}",
            f"   {a.structure_name or a.structure} ({a.departement or '?'}) · {a.status or '?'}",
            f"   Pourquoi ({hit.passage.chunk.field.label}) : {hit.passage.marked()}",
            "   Limites :",
            _indent(a.limits or NOT_PROVIDED),
            "   Perspectives :",
            _indent(a.perspectives or NOT_PROVIDED),
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

    @property
    def status_line(self) -> str:
        a = self.action
        status = a.status or "statut non renseigné"
        return f"{status} ({a.end_reason.strip()})" if a.is_terminated and a.end_reason else status


@dataclass(frozen=True)
class Answer:
    need: Need
    result: SearchResult
    cards: tuple[Card, ...]
    vigilance: tuple[Group, ...]
    pistes: tuple[Group, ...]
    question: str  # clarifying question when nothing is close (else empty)


def compose(result: SearchResult, need: Need, max_cards: int = 5) -> Answer:
    """Cards for the hits worth showing, the synthesis across them, or an honest no."""
    shown = [h for h in result.hits if h.level is not MatchLevel.FAR] or []
    if result.no_match:
        shown = []
    cards = tuple(Card(n, h) for n, h in enumerate(shown[:max_cards], start=1))
    return Answer(
        need=need,
        result=result,
        cards=cards,
        vigilance=vigilance([c.action.limits for c in cards]),
        pistes=pistes([c.action.perspectives for c in cards]),
        question=clarifying_question(need) if not cards else "",
    )


def _marked_md(passage: Passage) -> str:
    return highlight(passage.text, passage.spans, "**", "**", md).replace("\n", " ")


def _block(text: str) -> str:
    text = text.strip()
    return md(text).replace("\n", "  \n") if text else f"*{NOT_PROVIDED}*"


def card_markdown(card: Card) -> str:
    a, hit = card.action, card.hit
    lines = [
        f"### {card.number}. {md(a.title)}",
        f"**{md(a.structure_name or a.structure)}** — {md(a.departement or '?')} · "
        f"{md(card.status_line)} · *{hit.level.value}*",
        f"> Pourquoi : ({md(hit.passage.chunk.field.label)}) {_marked_md(hit.passage)}",
    ]
    if a.summary:
        lines.append(f"**Résumé** : {md(shorten(a.summary, SUMMARY_CHARS))}")
    lines += [
        f"**Limites** :  \n{_block(a.limits)}",
        f"**Perspectives** :  \n{_block(a.perspectives)}",
    ]
    people = [f"Public : {md(', '.join(a.public))}" if a.public else ""]
    people.append(f"Partenaires : {md(', '.join(a.partners))}" if a.partners else "")
    if any(people):
        lines.append(" · ".join(p for p in people if p))
    return "\n\n".join(lines)


def groups_markdown(title: str, groups: Sequence[Group]) -> str:
    if not groups:
        return ""
    lines = [f"#### {title}"]
    for group in groups:
        lines += ["", f"**{md(group.theme)}**", ""]  # blank lines: not part of a list item
        for point in group.points:
            refs = ", ".join(str(s) for s in point.sources)
            lines.append(f"- {md(shorten(point.text, POINT_CHARS))} *(fiche {refs})*")
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
        parts += [
            "**Je n'ai trouvé aucune action vraiment proche de ce besoin.**",
            f"Thèmes les plus voisins dans la base : {md(themes)}.",
            md(answer.question),
        ]
        return "\n\n".join(parts)
    parts += [card_markdown(c) for c in answer.cards]
    parts += [
        groups_markdown("Points de vigilance (limites rencontrées ailleurs)", answer.vigilance),
        groups_markdown("Pistes (perspectives des autres centres)", answer.pistes),
    ]
    return "\n\n---\n\n".join(p for p in parts if p)

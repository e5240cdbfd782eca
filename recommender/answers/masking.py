"""Personal data masking of what search returns: hits, passages, results and answers.

The one implementation behind the chat, the trainers' tab and the reports. Text rules
(e-mails, phones, first names) are in `records.privacy`; this module applies them to
search objects, and a `Masker` masks each action once however many times it is cited.
"""

from __future__ import annotations

from dataclasses import replace

from recommender.answers.answer import Answer, Card
from recommender.answers.synthesis import Synthesis
from recommender.core.text import WORD
from recommender.records.privacy import mask_action, mask_text
from recommender.records.records import Action
from recommender.search.passages import Passage
from recommender.search.search import Hit, SearchResult


def mask_passage(passage: Passage) -> Passage:
    """Mask the passage and its whole chunk, then find the highlighted words again.

    Offsets move when a name becomes « [prénom] », so spans are searched anew, with the
    rule of `make_passage` (words of three letters or more); a matched word that was masked
    is no longer reported as matched.
    """
    chunk = replace(passage.chunk, text=mask_text(passage.chunk.text))
    text = mask_text(passage.text)
    if text == passage.text:
        return replace(passage, chunk=chunk)
    terms = set(passage.terms)
    spans = tuple(
        m.span() for m in WORD.finditer(text) if len(m.group()) > 2 and m.group().lower() in terms
    )
    found = tuple(t for t in passage.terms if t in text.lower())
    return Passage(chunk, text, spans, found)


def mask_synthesis(synthesis: Synthesis) -> Synthesis:
    """The synthesis with personal data masked in every point."""
    groups = tuple(
        replace(
            g,
            points=tuple(
                replace(p, text=mask_text(p.text), merged=tuple(mask_text(m) for m in p.merged))
                for p in g.points
            ),
        )
        for g in synthesis.groups
    )
    return replace(synthesis, groups=groups)


class Masker:
    """Masks personal data in results; each action is masked once per masker."""

    def __init__(self) -> None:
        self._actions: dict[str, Action] = {}

    def action(self, action: Action) -> Action:
        if action.id not in self._actions:
            self._actions[action.id] = mask_action(action)
        return self._actions[action.id]

    def hit(self, hit: Hit) -> Hit:
        return replace(hit, action=self.action(hit.action), passage=mask_passage(hit.passage))

    def result(self, result: SearchResult) -> SearchResult:
        return replace(result, hits=tuple(self.hit(h) for h in result.hits))

    def answer(self, answer: Answer) -> Answer:
        return replace(
            answer,
            result=self.result(answer.result),
            cards=tuple(Card(c.number, self.hit(c.hit)) for c in answer.cards),
            vigilance=mask_synthesis(answer.vigilance),
            pistes=mask_synthesis(answer.pistes),
        )


def mask_result(result: SearchResult) -> SearchResult:
    """The result with e-mails, phone numbers and first names masked in every hit."""
    return Masker().result(result)

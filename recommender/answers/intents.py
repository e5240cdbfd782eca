"""What a chat message asks for: a new need, a follow-up, a card, a reset (rules on the
folded text, no model)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from recommender.records.departements import find_departements
from recommender.records.records import fold
from recommender.search.filters import NO_FILTERS, Facet, Filters
from recommender.search.need import detect_publics, detect_territories

if TYPE_CHECKING:
    from recommender.answers.conversation import Conversation

FOLLOW_UP_WORDS = 8  # longer messages start a new need
FILTER_ONLY_WORDS = 4  # « dans le 62 », « en cours » without a connector
CONNECTORS = ("plutot", "et", "aussi", "mais", "seulement", "uniquement", "surtout", "avec",
              "sans", "pour", "en", "dans", "plus", "que", "juste", "celles", "ceux",
              "ou")  # fmt: skip
RESET = re.compile(r"^(?:on )?(?:recommence[rz]?|reprendre|nouvelle recherche|reinitialise[rz]?|"
                   r"efface[rz]?|repartir de zero|on repart de zero)\b")  # fmt: skip
CLEAR = re.compile(
    r"\b(?:retire[rz]?|enleve[rz]?|supprime[rz]?|sans) (?:les |le |tous les )?filtres?\b"
)
SIMILAR = re.compile(
    r"\b(?:comme|proches? de|similaires? a|ressemblant a) (?:la |le |l )?"
    r"(?:fiche |action |carte |numero |n )?(-?\d{1,3})\b"
)
# « fiche 999 » or « la -1 » is a card number too: the answer says which cards exist.
FULL = re.compile(r"\b(?:(?:fiche|action|carte|numero|n) ?(-?\d{1,3})|(?:la|le) ?(-?\d{1,2}))\b")
FULL_CUE = re.compile(r"\b(?:entier|entiere|complete?|detail|details|montre[rz]?|affiche[rz]?|"
                      r"voir|ouvre|ouvrir|lire)\b")  # fmt: skip
DONE = re.compile(r"\b(?:terminee?s?|finie?s?|arretee?s?|abandonnee?s?)\b")


class Kind(StrEnum):
    """What a message asks for."""

    NEW = "nouveau besoin"
    REFINE = "précision"
    SIMILAR = "plus comme"
    FULL = "fiche entière"
    RESET = "recommencer"
    CLEAR = "retirer les filtres"


@dataclass(frozen=True)
class Intent:
    kind: Kind
    number: int = 0
    filters: Filters = NO_FILTERS  # values found in a follow-up
    words: str = ""  # text added to the query
    facet: Facet | None = None  # « retire le filtre statut »


def _cue_filters(message: str) -> Filters:
    folded = fold(message)
    status = ("En cours",) if re.search(r"\ben cours\b", folded) else ()
    status = ("Terminée",) if DONE.search(folded) and not status else status
    return Filters(
        public=detect_publics(message),
        departement=find_departements(message),
        status=status,
    )


def _facet_named(folded: str) -> Facet | None:
    names = {"public": Facet.PUBLIC, "statut": Facet.STATUS, "departement": Facet.DEPARTEMENT}
    names["dimension"] = Facet.DIMENSION
    return next((f for name, f in names.items() if name in folded), None)


def interpret(message: str, state: Conversation) -> Intent:
    """What a message means given the conversation so far."""
    folded = fold(message).replace("'", " ").replace("°", " ")
    n_words = len(folded.split())
    if n_words <= 6 and RESET.search(folded):
        return Intent(Kind.RESET)
    if n_words <= FOLLOW_UP_WORDS and CLEAR.search(folded):
        return Intent(Kind.CLEAR, facet=_facet_named(folded.split("filtre", 1)[1]))
    if n_words <= FOLLOW_UP_WORDS and (similar := SIMILAR.search(folded)):
        return Intent(Kind.SIMILAR, number=int(similar.group(1)))
    full = FULL.search(folded)
    if n_words <= FOLLOW_UP_WORDS and full and FULL_CUE.search(folded):
        return Intent(Kind.FULL, number=int(full.group(1) or full.group(2)))
    if not state.base:
        return Intent(Kind.NEW)
    cues = _cue_filters(message)
    connector = folded.split()[0] in CONNECTORS if folded else False
    filter_only = not cues.public and (cues.status or cues.departement)
    if (n_words <= FOLLOW_UP_WORDS and connector) or (n_words <= FILTER_ONLY_WORDS and filter_only):
        territories = detect_territories(message)
        adds_words = bool(cues.public or territories or not (cues.status or cues.departement))
        return Intent(Kind.REFINE, filters=cues, words=message.strip() if adds_words else "")
    return Intent(Kind.NEW)

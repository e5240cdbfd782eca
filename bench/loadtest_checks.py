"""The load test's conversations and the checks that each answer belongs to its own session.

A session starts with its own need (a distinct evaluation query), then sends follow-ups
(filters, « montre la fiche 2 en entier », « plus comme la 1 », « retire les filtres »,
« recommence » and a new need). `check_session` follows what the session's *own*
conversation implies (its filters, the titles of its last cards, the restatement of its
need) and lists every answer that disagrees: an answer computed from another session's
state fails there. `compare_with_reference` is the stricter check: the answers must equal
those of the same conversation replayed alone.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from recommender.core.text import md

QUERIES = Path(__file__).resolve().parent.parent / "data" / "eval" / "queries.json"
FOLLOW_UPS = (
    "dans le 62",
    "seulement celles en cours",
    "plutôt pour les ados",
    "montre la fiche 2 en entier",
    "plus comme la 1",
    "en milieu rural",
    "dans le Pas-de-Calais",
)
CLEAR, RESET = "retire les filtres", "recommence"
PER_NEED = 4  # follow-ups after each need, before « retire les filtres », « recommence »
FILTERS = {  # follow-up -> (facet label, value in the corpus' spelling)
    "dans le 62": ("Département", "Pas-de-Calais"),
    "dans le Pas-de-Calais": ("Département", "Pas-de-Calais"),
    "seulement celles en cours": ("Statut", "En cours"),
    "plutôt pour les ados": ("Public", "Jeunesse"),
}
WORDS = ("en milieu rural",)
FULL = re.compile(r"^montre la fiche (\d+) en entier$")
SIMILAR = re.compile(r"^plus comme la (\d+)$")
TITLE = re.compile(r"^### (\d+)\. (.*)$")
NO_RESULT = "Je n'ai trouvé aucune action vraiment proche"
RESTATED = ("J'ai compris", "Je n'ai repéré ni public")
REFINED = "Je précise la recherche précédente"
NO_CARD = ("La dernière réponse ne montre aucune fiche", "Il n'y a pas de fiche")
UNEXPECTED = "Une erreur inattendue s'est produite"  # ui.common.UNEXPECTED

Restate = Callable[[str], str]  # a need -> its restatement line (escaped), or ""


def needs_pool(path: Path = QUERIES) -> list[str]:
    """Distinct French needs (the evaluation queries), in file order."""
    queries = [q["query"] for q in json.loads(path.read_text(encoding="utf-8"))]
    return list(dict.fromkeys(queries))


def script(session: int, sessions: int, pool: Sequence[str], length: int) -> tuple[str, ...]:
    """`length` messages: a need, follow-ups (rotated per session), clear, reset, next need…"""
    start = session % len(FOLLOW_UPS)
    follow = FOLLOW_UPS[start:] + FOLLOW_UPS[:start]
    messages: list[str] = []
    need, used = 0, 0
    while len(messages) < length:
        messages.append(pool[(session + need * sessions) % len(pool)])
        need += 1
        for _ in range(PER_NEED):
            messages.append(follow[used % len(follow)])
            used += 1
        messages += [CLEAR, RESET]
    return tuple(messages[:length])


@dataclass(frozen=True)
class Tracked:
    """What the session's own conversation implies so far."""

    has_need: bool = False
    filters: tuple[tuple[str, str], ...] = ()  # (label, value), one per facet
    cards: tuple[str, ...] = ()  # escaped titles of the last answer's cards

    def with_filter(self, label: str, value: str) -> Tracked:
        kept = tuple(f for f in self.filters if f[0] != label)
        return replace(self, filters=(*kept, (label, value)))


def titles(answer: str) -> tuple[str, ...]:
    return tuple(m.group(2) for line in answer.splitlines() if (m := TITLE.match(line)))


def _head(answer: str) -> str:
    """The first line that is not an italic note."""
    lines = [line for line in answer.splitlines() if line.strip()]
    return next((line for line in lines if not line.startswith("*")), "")


def _active_filters(answer: str) -> set[str]:
    for line in answer.splitlines():
        if line.startswith("**Filtres actifs** : "):
            active = line.removeprefix("**Filtres actifs** : ").split(" — pour les retirer", 1)
            return set(active[0].split(" · "))
    return set()


def _card_problems(answer: str, filters: Sequence[tuple[str, str]]) -> list[str]:
    """Cards that do not satisfy the session's filters."""
    problems = []
    for block in answer.split("\n\n---\n\n"):
        lines = block.split("\n\n")
        if not TITLE.match(lines[0]):
            continue
        if len(lines) < 2 or lines[1].count(" · ") < 2:
            problems.append(f"fiche « {lines[0][4:]} » illisible")
            continue
        head, status, _level = lines[1].rsplit(" · ", 2)
        departement = head.rsplit(" — ", 1)[-1]
        publics = " ".join(line for line in lines if line.startswith("Public : "))
        for label, value in filters:
            ok = {
                "Département": departement == md(value),
                "Statut": status.startswith(md(value)),
                "Public": md(value) in publics,
            }.get(label, True)
            if not ok:
                problems.append(f"la fiche « {lines[0][4:]} » ne respecte pas {label} = {value}")
    return problems


def _search_problems(tracked: Tracked, answer: str) -> list[str]:
    """An answer that shows search results: filters line and cards match the session's."""
    expected = {md(f"{label} : {value}") for label, value in tracked.filters}
    problems = []
    if _active_filters(answer) != expected:
        shown = sorted(_active_filters(answer)) or "aucun"
        problems.append(f"filtres affichés {shown} au lieu de {sorted(expected) or 'aucun'}")
    if not titles(answer) and NO_RESULT not in answer:
        problems.append("ni fiches ni message « aucune action »")
    return problems + _card_problems(answer, tracked.filters)


def _numbered(tracked: Tracked, number: int, answer: str, prefix: str) -> list[str]:
    """« fiche N » / « plus comme la N »: the N-th card of *this* session's last answer."""
    if number > len(tracked.cards):
        return [] if answer.startswith(NO_CARD) else [f"fiche {number} absente mais pas signalée"]
    expected = f"{prefix}{tracked.cards[number - 1]}"
    return [] if answer.startswith(expected) else [f"ne commence pas par « {expected} »"]


def check_answer(
    tracked: Tracked, message: str, answer: str, restate: Restate | None = None
) -> tuple[Tracked, list[str]]:
    """The session's state after `message`, and what is wrong with its `answer`."""
    if UNEXPECTED in answer:
        return tracked, ["erreur inattendue côté serveur"]
    if message == RESET:
        ok = answer.startswith("C'est reparti")
        return Tracked(), [] if ok else ["« recommence » non reconnu"]
    if full := FULL.match(message):
        number = int(full.group(1))
        return tracked, _numbered(tracked, number, answer, f"Fiche {number} en entier :\n\n### ")
    if similar := SIMILAR.match(message):
        number = int(similar.group(1))
        prefix = f"Actions proches de la fiche {number} \\(« "
        problems = _numbered(tracked, number, answer, prefix)
        if number <= len(tracked.cards):
            problems += _search_problems(tracked, answer)
            tracked = replace(tracked, cards=titles(answer))
        return tracked, problems
    if message == CLEAR:
        tracked = replace(tracked, filters=())
        if not tracked.has_need:
            return tracked, [] if answer == "Filtres retirés." else ["réponse inattendue"]
        problems = [] if _head(answer) == "Filtres retirés." else ["« Filtres retirés. » absent"]
        return replace(tracked, cards=titles(answer)), problems + _search_problems(tracked, answer)
    return _searched(tracked, message, answer, restate)


def _searched(
    tracked: Tracked, message: str, answer: str, restate: Restate | None
) -> tuple[Tracked, list[str]]:
    """A new need or a refinement (filter or words)."""
    problems = []
    if tracked.has_need and (message in FILTERS or message in WORDS):
        if message in FILTERS:
            tracked = tracked.with_filter(*FILTERS[message])
        if not _head(answer).startswith(md(REFINED)):
            problems.append(f"« {REFINED} » absent")
    else:
        if "Filtre « Public » retiré" in answer:
            tracked = replace(
                tracked, filters=tuple(f for f in tracked.filters if f[0] != "Public")
            )
        expected = restate(message) if restate and not tracked.filters else ""
        if not any(r in answer for r in RESTATED):
            problems.append("pas de reformulation du besoin")
        elif expected and expected not in answer:
            problems.append(f"reformulation d'un autre besoin (attendu : « {expected} »)")
    tracked = replace(tracked, has_need=True, cards=titles(answer))
    return tracked, problems + _search_problems(tracked, answer)


def check_session(
    messages: Sequence[str], answers: Sequence[str], restate: Restate | None = None
) -> list[str]:
    """Every inconsistency of one session's answers (given in order, possibly fewer)."""
    tracked, problems = Tracked(), []
    for n, (message, answer) in enumerate(zip(messages, answers, strict=False), start=1):
        tracked, found = check_answer(tracked, message, answer, restate)
        problems += [f"message {n} « {_short(message)} » : {p}" for p in found]
    return problems


def compare_with_reference(answers: Sequence[str], reference: Sequence[str]) -> list[str]:
    """Answers that differ from those of the same conversation replayed alone."""
    problems = []
    for n, (got, expected) in enumerate(zip(answers, reference, strict=False), start=1):
        if got != expected:
            shown, wanted = list(titles(got)), list(titles(expected))
            detail = f" (fiches {shown} au lieu de {wanted})" if shown != wanted else ""
            problems.append(f"message {n} : différent de la conversation rejouée seule{detail}")
    return problems


def kind(message: str) -> str:
    """The kind of a scripted message (French, for the latency table)."""
    if message in FILTERS:
        return "filtre"
    if message in WORDS:
        return "précision (mots)"
    if FULL.match(message):
        return "fiche en entier"
    if SIMILAR.match(message):
        return "plus comme"
    return {CLEAR: "retirer les filtres", RESET: "recommencer"}.get(message, "besoin")


def _short(text: str, size: int = 40) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"

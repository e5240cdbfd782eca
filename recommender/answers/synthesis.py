"""Synthesis across cards: « Points de vigilance » (limits) and « Pistes » (perspectives).

Each limit or perspective is cut into statements, near-identical statements are merged
(the same action copied, or two centres saying the same thing), and statements are grouped
by theme with simple, reviewable word lists. Every point keeps the cards it comes from.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from recommender.answers.statements import statements
from recommender.index.lexical import analyze

# Theme -> stems (accent-free, as produced by `analyze`). First matching theme wins.
VIGILANCE_THEMES: dict[str, tuple[str, ...]] = {
    "Mobiliser et garder le public": ("mobilis", "particip", "frequent", "inscri", "venu",
                                      "touch", "essouffl", "assidu", "absent", "adher"),
    "Moyens financiers": ("cout", "financ", "budget", "subvent", "argent", "payant", "prix",
                          "fond", "euro"),
    "Équipe et bénévoles": ("benevol", "salari", "equip", "animateur", "professionnel",
                            "personnel", "referent", "encadr"),
    "Temps et organisation": ("temp", "organis", "planning", "calendri", "horair", "dure",
                              "logist", "rythm"),
    "Partenariats": ("partenair", "partenariat", "collabor", "reseau", "institu"),
    "Contexte sanitaire": ("covid", "sanitair", "confin", "crise", "virus"),
    "Communication": ("communiqu", "communic", "inform", "affich", "diffus", "connaitr"),
    "Lieux et matériel": ("local", "lieu", "sall", "materiel", "espac", "equipe", "transport"),
}  # fmt: skip
PISTE_THEMES: dict[str, tuple[str, ...]] = {
    "Poursuivre et pérenniser": ("poursuiv", "continu", "renouvel", "perenn", "reconduir",
                                 "maintien", "maintenir", "prochain", "annee"),
    "Élargir le public ou le territoire": ("elarg", "ouvr", "etendr", "developp", "nouveau",
                                           "autr", "quarti", "commun"),
    "Impliquer davantage les habitants": ("habit", "benevol", "autonom", "particip",
                                          "implique", "implic", "porteur"),
    "Renforcer les partenariats": ("partenair", "partenariat", "collabor", "reseau"),
    "Se former et outiller": ("form", "outil", "guid", "livret", "support"),
}  # fmt: skip
OTHER = "Autres points"
MERGE_SIMILARITY = 0.6


@dataclass(frozen=True)
class Point:
    text: str
    sources: tuple[int, ...]  # card numbers (1-based) that mention it


@dataclass(frozen=True)
class Group:
    theme: str
    points: tuple[Point, ...]


def _theme(stems: set[str], themes: dict[str, tuple[str, ...]]) -> str:
    for theme, cues in themes.items():
        # str.startswith takes the whole tuple: one C call per stem (hot in compose).
        if any(s.startswith(cues) for s in stems):
            return theme
    return OTHER


def _similar(a: set[str], b: set[str]) -> bool:
    return bool(a and b) and len(a & b) / len(a | b) >= MERGE_SIMILARITY


def synthesise(
    texts: Sequence[str], themes: dict[str, tuple[str, ...]], max_points: int = 4
) -> tuple[Group, ...]:
    """Group the statements of `texts` (one per card, in card order) by theme."""
    merged: list[tuple[str, set[str], list[int]]] = []
    for card, text in enumerate(texts, start=1):
        for sentence in statements(text):
            stems = set(analyze(sentence))
            twin = next((m for m in merged if _similar(m[1], stems)), None)
            if twin is None:
                merged.append((sentence, stems, [card]))
            elif card not in twin[2]:
                twin[2].append(card)
    grouped: dict[str, list[Point]] = {}
    for sentence, stems, cards in merged:
        grouped.setdefault(_theme(stems, themes), []).append(Point(sentence, tuple(cards)))
    order = [*themes, OTHER]
    return tuple(
        Group(theme, tuple(sorted(grouped[theme], key=lambda p: -len(p.sources))[:max_points]))
        for theme in sorted(grouped, key=lambda t: (-len(grouped[t]), order.index(t)))
    )


def vigilance(limits: Sequence[str]) -> tuple[Group, ...]:
    return synthesise(limits, VIGILANCE_THEMES)


def pistes(perspectives: Sequence[str]) -> tuple[Group, ...]:
    return synthesise(perspectives, PISTE_THEMES)

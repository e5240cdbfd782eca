"""Filters and facets over actions: département, dimension, keywords, public, status, territory."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields, replace
from enum import StrEnum
from functools import lru_cache

from recommender.records.records import Action, fold


class Facet(StrEnum):
    DEPARTEMENT = "departement"
    DIMENSION = "dimension"
    KEYWORDS = "keywords"
    PUBLIC = "public"
    STATUS = "status"
    TERRITORY = "territory"

    @property
    def label(self) -> str:
        return FACET_LABELS[self]


FACET_LABELS = {
    Facet.DEPARTEMENT: "Département",
    Facet.DIMENSION: "Dimension",
    Facet.KEYWORDS: "Mots-clés",
    Facet.PUBLIC: "Public",
    Facet.STATUS: "Statut",
    Facet.TERRITORY: "Territoire",
}


def facet_values(action: Action, facet: Facet) -> tuple[str, ...]:
    value = getattr(action, facet.value)
    if isinstance(value, tuple):
        return value
    return (value,) if value else ()


@dataclass(frozen=True)
class Filters:
    """Each facet: accepted values (any of them matches); empty means no filter."""

    departement: tuple[str, ...] = ()
    dimension: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    public: tuple[str, ...] = ()
    status: tuple[str, ...] = ()
    territory: tuple[str, ...] = ()

    def is_empty(self) -> bool:
        return not any(getattr(self, f.name) for f in fields(self))

    def items(self) -> list[tuple[Facet, tuple[str, ...]]]:
        return [
            (Facet(f.name), getattr(self, f.name)) for f in fields(self) if getattr(self, f.name)
        ]

    def with_values(self, facet: Facet, values: Iterable[str]) -> Filters:
        return replace(self, **{facet.value: tuple(v for v in values if v)})

    def without(self, facet: Facet) -> Filters:
        return replace(self, **{facet.value: ()})

    def to_dict(self) -> dict[str, list[str]]:
        return {facet.value: list(values) for facet, values in self.items()}

    def matches(self, action: Action) -> bool:
        for facet, wanted in self.items():
            have = {_folded(v) for v in facet_values(action, facet)}
            if not have & {_folded(w) for w in wanted}:
                return False
        return True


def _status_alias(value: str) -> str:
    folded = fold(value)
    if folded.startswith("termin") or folded in {"fini", "finie", "arrete", "arretee"}:
        return "terminee"
    if folded in {"en cours", "encours", "actif", "active", "en-cours"}:
        return "en cours"
    return folded


@lru_cache(maxsize=65_536)
def _folded(value: str) -> str:
    """`fold` of a facet value: the same few hundred values come back for every action."""
    return fold(value)


_KNOWN: dict[tuple[int, Facet], tuple[tuple[Action, ...], dict[str, str]]] = {}


def _known_values(actions: Sequence[Action], facet: Facet) -> dict[str, str]:
    """Folded value -> the corpus' spelling, over all actions (once per engine's actions:
    at 20,000 actions, 0.1 s saved on every filtered query)."""
    if not isinstance(actions, tuple):  # a list may change: never cached
        return {_folded(v): v for a in actions for v in facet_values(a, facet)}
    key = (id(actions), facet)
    hit = _KNOWN.get(key)
    if hit is None or hit[0] is not actions:
        if len(_KNOWN) > 32:
            _KNOWN.clear()
        hit = _KNOWN[key] = (
            actions,
            {_folded(v): v for a in actions for v in facet_values(a, facet)},
        )
    return hit[1]


def resolve(filters: Filters, actions: Sequence[Action]) -> tuple[Filters, list[str]]:
    """Map user values onto the corpus' spelling; unknown values are dropped with a note."""
    notes: list[str] = []
    resolved = filters
    for facet, wanted in filters.items():
        known = dict(_known_values(actions, facet))
        if facet is Facet.STATUS:
            known = {_status_alias(v): v for v in known.values()}
        kept = []
        for value in wanted:
            key = _status_alias(value) if facet is Facet.STATUS else fold(value)
            if key in known:
                kept.append(known[key])
            else:
                sample = ", ".join(sorted(known.values())[:8])
                notes.append(
                    f"Filtre ignoré : « {value} » n'existe pas pour « {facet.label} » "
                    f"(valeurs possibles : {sample}…)"
                )
        resolved = resolved.with_values(facet, kept)
    return resolved, notes


def facet_counts(actions: Iterable[Action]) -> dict[str, dict[str, int]]:
    """Counts per facet value, most frequent first."""
    actions = list(actions)
    counts: dict[str, dict[str, int]] = {}
    for facet in Facet:  # facet by facet: the same counts and order, 3x faster
        counter = Counter[str]()
        for action in actions:
            value = getattr(action, facet.value)
            if isinstance(value, tuple):
                counter.update(set(value))
            elif value:
                counter[value] += 1
        counts[facet.value] = dict(counter.most_common())
    return counts


NO_FILTERS = Filters()

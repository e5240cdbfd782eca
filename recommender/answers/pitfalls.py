"""« Ce qui coince souvent » / « Pistes fréquentes »: recurring limits and perspectives.

For a set of actions (a public, a département, a dimension, a keyword, or the actions
closest to a free-text need), every limit and perspective statement is themed like the
synthesis under an answer (answers/themes.py) and counted by action: « Attirer et toucher
le public : 5 actions sur 17 », with example statements, each linked to its record (id and
title). Used by `reco limites`, `reco corpus-report` and the trainers' tab (ui/pitfalls.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from recommender.answers.statements import cut
from recommender.answers.synthesis import LIMITS, OTHER_LABEL, PERSPECTIVES
from recommender.answers.themes import OTHER, StatementThemes
from recommender.records.privacy import mask_text
from recommender.records.records import Action, fold
from recommender.search.filters import Facet, Filters, resolve
from recommender.search.need import detect_publics

TITLES = {LIMITS: "Ce qui coince souvent", PERSPECTIVES: "Pistes fréquentes"}
EXAMPLES = 3


@dataclass(frozen=True)
class Example:
    action_id: str
    title: str
    structure: str
    departement: str
    text: str

    def to_dict(self) -> dict[str, str]:
        return {
            "action_id": self.action_id,
            "title": self.title,
            "structure": self.structure,
            "departement": self.departement,
            "statement": self.text,
        }


@dataclass(frozen=True)
class Recurring:
    kind: str
    key: str
    label: str
    action_ids: tuple[str, ...]  # distinct actions saying it, first seen first
    examples: tuple[Example, ...]  # every statement of the theme, one action after another

    @property
    def count(self) -> int:
        return len(self.action_ids)


@dataclass(frozen=True)
class Pitfalls:
    scope: str  # « public « jeunes » », « tout le corpus »…
    n_actions: int
    with_field: dict[str, int]  # kind -> actions whose field says something
    recurring: dict[str, tuple[Recurring, ...]]  # kind -> themes, most actions first
    notes: tuple[str, ...] = ()

    def to_dict(self, examples: int | None = None) -> dict[str, object]:
        return {
            "scope": self.scope,
            "actions": self.n_actions,
            "notes": list(self.notes),
            **{
                ("limits" if kind == LIMITS else "perspectives"): {
                    "title": TITLES[kind],
                    "actions_with_statements": self.with_field[kind],
                    "themes": [
                        {
                            "theme": r.key,
                            "label": r.label,
                            "actions": r.count,
                            "action_ids": list(r.action_ids),
                            "statements": [e.to_dict() for e in r.examples[:examples]],
                        }
                        for r in self.recurring[kind]
                    ],
                }
                for kind in (LIMITS, PERSPECTIVES)
            },
        }


@dataclass(frozen=True)
class Scope:
    """Which actions: facets (public, département, dimension) and words to find."""

    public: tuple[str, ...] = ()
    departement: tuple[str, ...] = ()
    dimension: tuple[str, ...] = ()
    keyword: str = ""

    def describe(self) -> str:
        parts = [
            f"{label} : {', '.join(values)}"
            for label, values in (
                ("public", self.public),
                ("département", self.departement),
                ("dimension", self.dimension),
            )
            if values
        ]
        if self.keyword:
            parts.append(f"mot « {self.keyword} »")
        return " ; ".join(parts) or "toute la base"

    def select(self, actions: Sequence[Action]) -> tuple[list[Action], list[str]]:
        """The actions in scope, and notes on filter values the corpus does not know."""
        # « jeunes » is read as the chat reads a need (« Jeunesse », « Jeunes adultes »).
        publics = tuple(p for value in self.public for p in (detect_publics(value) or (value,)))
        filters = Filters(public=publics, departement=self.departement, dimension=self.dimension)
        filters, notes = resolve(filters, actions)
        if filters.is_empty() and (self.public or self.departement or self.dimension):
            return [], notes
        words = fold(self.keyword).split()
        kept = []
        for action in actions:
            if not filters.matches(action):
                continue
            texts = (action.title, action.summary, action.description, action.limits)
            haystack = fold(" ".join((*texts, action.perspectives, *action.keywords)))
            if all(w in haystack for w in words):
                kept.append(action)
        return kept, notes


def _field(action: Action, kind: str) -> str:
    return action.limits if kind == LIMITS else action.perspectives


def recurring(
    actions: Sequence[Action],
    themes: StatementThemes,
    *,
    scope: str = "toute la base",
    notes: Sequence[str] = (),
    mask: bool = True,
    only: str | None = None,
) -> Pitfalls:
    """Themes of the actions' limits and perspectives, counted by action (`only`: one theme
    key, to list its statements)."""
    shown = (lambda t: mask_text(t)) if mask else (lambda t: t)
    with_field: dict[str, int] = {}
    result: dict[str, tuple[Recurring, ...]] = {}
    for kind in (LIMITS, PERSPECTIVES):
        rows = [(a, s) for a in actions for s in cut(_field(a, kind))]
        with_field[kind] = len({a.id for a, _ in rows})
        keys = themes.themes([s for _, s in rows], kind)
        by_key: dict[str, list[tuple[Action, str]]] = {}
        for (action, text), key in zip(rows, keys, strict=True):
            by_key.setdefault(key, []).append((action, text))
        order = [t.key for t in themes.taxonomy.of(kind)]
        found = []
        for key, said in by_key.items():
            if only and key != only:
                continue
            ids = tuple(dict.fromkeys(a.id for a, _ in said))
            # One example per action first, so the examples show different actions.
            first_of: dict[str, int] = {}
            for i, (a, _) in enumerate(said):
                first_of.setdefault(a.id, i)
            firsts = sorted(first_of.values())
            taken = set(firsts)
            order_rows = [*firsts, *(i for i in range(len(said)) if i not in taken)]
            examples = tuple(
                Example(a.id, shown(a.title), a.structure_label, a.departement, shown(t))
                for a, t in (said[i] for i in order_rows)
            )
            label = OTHER_LABEL if key == OTHER else themes.label(kind, key)
            found.append(Recurring(kind, key, label, ids, examples))
        found.sort(key=lambda r: (r.key == OTHER, -r.count, order.index(r.key)))
        result[kind] = tuple(found)
    return Pitfalls(scope, len(actions), with_field, result, tuple(notes))


def pitfalls_text(p: Pitfalls, examples: int = EXAMPLES) -> str:
    """The readable form (CLI): counts, then example statements with their record."""
    lines = [f"Limites et perspectives — {p.scope} : {p.n_actions} action(s)"]
    lines += [f"Note : {n}" for n in p.notes]
    for kind in (LIMITS, PERSPECTIVES):
        noun = "limites" if kind == LIMITS else "perspectives"
        total = p.with_field[kind]
        lines += ["", f"{TITLES[kind]} ({total} action(s) avec des {noun} renseignées)"]
        if not p.recurring[kind]:
            lines.append("  (rien)")
        for r in p.recurring[kind]:
            lines.append(f"  {r.label} : {r.count} action{'s' if r.count > 1 else ''} sur {total}")
            for e in r.examples[:examples]:
                lines.append(f"    - « {e.text} » — {e.title} [{e.action_id}]")
            if len(r.examples) > examples:
                lines.append(f"    (+ {len(r.examples) - examples} autre(s))")
    return "\n".join(lines)


def pitfalls_rows(p: Pitfalls, examples: int = EXAMPLES) -> list[list[object]]:
    """One row per theme (tables: corpus report, trainers' tab)."""
    rows: list[list[object]] = []
    for kind in (LIMITS, PERSPECTIVES):
        total = p.with_field[kind]
        for r in p.recurring[kind]:
            said = " ; ".join(
                f"« {e.text} » ({e.title}, {e.action_id})" for e in r.examples[:examples]
            )
            rows.append([TITLES[kind], r.label, f"{r.count} sur {total}", said])
    return rows


PITFALLS_HEADER = ["Partie", "Thème", "Actions", "Exemples (action, identifiant)"]


def facet_scopes(actions: Sequence[Action], facet: Facet, least: int = 5) -> list[str]:
    """Values of a facet held by at least `least` actions, most frequent first."""
    counts: dict[str, int] = {}
    for action in actions:
        values = getattr(action, facet.value)
        for v in values if isinstance(values, tuple) else (values,):
            if v:
                counts[v] = counts.get(v, 0) + 1
    return [v for v, n in sorted(counts.items(), key=lambda x: -x[1]) if n >= least]


def corpus_sections(
    actions: Sequence[Action], themes: StatementThemes, *, mask: bool = True, per_public: int = 3
) -> list[tuple[str, str, list[str], list[list[object]]]]:
    """Two report sections (title, intro, header, rows): the whole base, then each public
    held by at least 5 actions (its `per_public` most frequent themes of each part)."""
    whole = recurring(actions, themes, mask=mask)
    rows: list[list[object]] = []
    for public in facet_scopes(actions, Facet.PUBLIC):
        chosen, _ = Scope(public=(public,)).select(actions)
        found = recurring(chosen, themes, scope=public, mask=mask)
        for kind in (LIMITS, PERSPECTIVES):
            total = found.with_field[kind]
            for r in [r for r in found.recurring[kind] if r.key != OTHER][:per_public]:
                titles = ", ".join(e.title for e in r.examples[:EXAMPLES])
                rows.append([public, TITLES[kind], r.label, f"{r.count} sur {total}", titles])
    intro = (
        "Thèmes des limites et des perspectives (taxonomie revue de data/synthesis), comptés "
        "par action, avec des exemples : ce qui revient le plus souvent."
    )
    return [
        (
            "Limites et pistes fréquentes",
            intro,
            PITFALLS_HEADER,
            pitfalls_rows(whole),
        ),
        (
            "Limites et pistes par public",
            "Pour chaque public d'au moins 5 actions, ses thèmes les plus fréquents.",
            ["Public", "Partie", "Thème", "Actions", "Actions en exemple"],
            rows,
        ),
    ]

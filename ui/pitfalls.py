"""Trainers' tab: « Ce qui coince souvent » / « Pistes fréquentes » (answers/pitfalls.py).

For a public, a département, a dimension, a word or a free-text need: the recurring limit
and perspective themes across the base, with their counts and example statements, each
with its record's title and identifier (to open it above). Respects the tab's anonymise box.
"""

from __future__ import annotations

from functools import partial

import gradio as gr

from recommender.answers.pitfalls import EXAMPLES, TITLES, Pitfalls, Scope, recurring
from recommender.answers.projection import ALL, chosen_values, facet_choices
from recommender.answers.synthesis import LIMITS, PERSPECTIVES
from recommender.answers.themes import themes_for
from recommender.core.text import md
from recommender.search.calibration import MatchLevel
from recommender.search.filters import Facet
from recommender.search.service import QueryError
from ui.common import PRIVATE, EngineHolder, with_notice

FACETS = (Facet.PUBLIC, Facet.DEPARTEMENT, Facet.DIMENSION)
NEED_TOP = 15


def pitfalls_markdown(p: Pitfalls, examples: int = EXAMPLES) -> str:
    lines = [f"**{md(p.scope)}** — {p.n_actions} action(s)"]
    lines += [f"*{md(n)}*" for n in p.notes]
    for kind in (LIMITS, PERSPECTIVES):
        total = p.with_field[kind]
        noun = "limites" if kind == LIMITS else "perspectives"
        lines += ["", f"#### {TITLES[kind]}", f"*{total} action(s) avec des {noun} renseignées*"]
        if not p.recurring[kind]:
            lines.append("\nRien à signaler.")
        for r in p.recurring[kind]:
            plural = "s" if r.count > 1 else ""
            lines += ["", f"**{md(r.label)}** — {r.count} action{plural} sur {total}", ""]
            for e in r.examples[:examples]:
                lines.append(f"- « {md(e.text)} » — *{md(e.title)}* (`{e.action_id}`)")
            if len(r.examples) > examples:
                lines.append(f"- *… et {len(r.examples) - examples} autre(s)*")
    return "\n".join(lines)


def show_pitfalls(
    holder: EngineHolder, mask: bool, public: str, departement: str, dimension: str,
    word: str, need: str,
) -> str:  # fmt: skip
    served = holder.served()
    engine = served.engine
    scope = Scope(
        public=chosen_values(public),
        departement=chosen_values(departement),
        dimension=chosen_values(dimension),
        keyword=(word or "").strip(),
    )
    actions, notes = scope.select(engine.actions)
    label = scope.describe()
    if (need or "").strip():
        try:
            result = engine.search(need, top=NEED_TOP)
        except QueryError as exc:
            return with_notice(served.notice, f"*{md(str(exc))}*")
        close = {h.action.id for h in result.hits if h.level is not MatchLevel.FAR}
        actions = [a for a in actions if a.id in close]
        label = f"besoin « {need.strip()} »" + ("" if label == "toute la base" else f" ; {label}")
    found = recurring(actions, themes_for(engine), scope=label, notes=notes, mask=mask)
    return with_notice(served.notice, pitfalls_markdown(found))


def refresh_choices(holder: EngineHolder) -> list[dict]:
    actions = holder().actions
    return [gr.update(choices=facet_choices(actions, f)) for f in FACETS]


def pitfalls_panel(holder: EngineHolder, mask: gr.Checkbox) -> None:
    """The panel, placed by the trainers' tab; redrawn when the anonymise box changes."""
    gr.Markdown(
        "### Ce qui coince souvent / Pistes fréquentes\n"
        "Les limites et perspectives qui reviennent, par public, département, dimension, "
        "mot ou besoin (tout vide : toute la base)."
    )
    with gr.Row():
        dropdowns = [gr.Dropdown([(ALL, ALL)], value=ALL, label=f.label) for f in FACETS]
    with gr.Row():
        word = gr.Textbox(label="Mot(s) dans les fiches", scale=1)
        need = gr.Textbox(label="ou un besoin en quelques mots", scale=2)
        go = gr.Button("Voir", scale=0)
    out = gr.Markdown(elem_id="pitfalls")
    inputs = [mask, *dropdowns, word, need]
    show = partial(show_pitfalls, holder)
    for trigger in (go.click, word.submit, need.submit, mask.change):
        trigger(show, inputs, out, **PRIVATE)
    for dropdown in dropdowns:
        dropdown.focus(partial(refresh_choices, holder), None, dropdowns, **PRIVATE)

"""The « Formateurs » tab: browse, full record, plus comme ceci, comparison, map."""

from __future__ import annotations

from functools import partial
from typing import Any

import gradio as gr
import pandas as pd

from recommender.answers.answer import Card, card_markdown
from recommender.answers.masking import mask_result
from recommender.answers.projection import (
    ALL,
    MAP_POINTS,
    SIDE_FACETS,
    TABLE_ROWS,
    action_label,
    browse,
    chosen_values,
    facet_choices,
    legend_html,
    map_colours,
    map_rows,
    record_markdown,
    sample_points,
    table_rows,
)
from recommender.search.filters import Filters
from ui.common import (
    MAP_COLUMNS,
    PRIVATE,
    TABLE_COLUMNS,
    EngineHolder,
    EngineUnavailable,
    safely,
    with_notice,
)
from ui.pitfalls import pitfalls_panel


def _no_text(text: str) -> str:
    return text


@safely(lambda _: pd.DataFrame(columns=TABLE_COLUMNS))  # the banner says why it is empty
def browse_table(holder: EngineHolder, text: str, mask: bool, *values: str) -> pd.DataFrame:
    filters = Filters()
    for facet, value in zip(SIDE_FACETS, values, strict=True):
        filters = filters.with_values(facet, chosen_values(value))
    actions = browse(holder().actions, text or "", filters)[:TABLE_ROWS]
    return pd.DataFrame(table_rows(actions, mask), columns=TABLE_COLUMNS)


def _row_id(evt: gr.SelectData) -> str | None:
    row = evt.row_value or []
    return str(row[-1]) if row else None


@safely(_no_text)
def _open(holder: EngineHolder, action_id: str | None, mask: bool) -> str:
    served = holder.served()
    action = served.engine.index.action(action_id or "")
    if action is None:
        return "*Choisissez une action.*"
    return with_notice(served.notice, record_markdown(action, mask=mask))


@safely(_no_text)
def _more(holder: EngineHolder, action_id: str | None, mask: bool) -> str:
    if not action_id:
        return "*Choisissez d'abord une action.*"
    served = holder.served()
    result = served.engine.similar(action_id, top=5)
    result = mask_result(result) if mask else result
    cards = [card_markdown(Card(n, h)) for n, h in enumerate(result.hits, start=1)]
    text = "\n\n---\n\n".join(["#### Actions les plus proches", *cards])
    return with_notice(served.notice, text)


def _more_again(holder: EngineHolder, shown: str, action_id: str | None, mask: bool) -> str:
    """After the mask box changes, redo « plus comme ceci » only if it was on screen."""
    return _more(holder, action_id, mask) if shown else ""


def _compare(holder: EngineHolder, left: str | None, right: str | None, mask: bool):
    return _open(holder, left, mask), _open(holder, right, mask)


def trainer_refresh(holder: EngineHolder, mask: bool, current: list[str | None]) -> list[Any]:
    """Facet choices, record pickers (labels masked or not) and the map."""
    try:
        engine = holder()
    except EngineUnavailable:
        return [gr.update() for _ in range(len(SIDE_FACETS) + 5)]
    actions = sorted(engine.actions, key=lambda a: a.title.casefold())
    labels = [(action_label(a, mask), a.id) for a in actions[:TABLE_ROWS]]
    facets = [gr.update(choices=facet_choices(actions, f)) for f in SIDE_FACETS]
    pickers = [gr.update(choices=labels, value=v) for v in current]
    points = holder.map_points()
    colours = map_colours(points)
    frame = pd.DataFrame(map_rows(sample_points(points), mask), columns=MAP_COLUMNS)
    plot = gr.update(value=frame, color_map=colours)
    return [*facets, *pickers, plot, legend_html(colours)]


def trainer_tab(holder: EngineHolder) -> tuple[gr.Checkbox, list[Any], list[Any]]:
    mask = gr.Checkbox(
        True, label="Masquer les données personnelles (e-mails, téléphones, prénoms)"
    )
    with gr.Row():
        text = gr.Textbox(label="Rechercher (titre, structure, résumé, mots-clés)", scale=2)
        facets = [gr.Dropdown([(ALL, ALL)], value=ALL, label=f.label) for f in SIDE_FACETS]
    table = gr.Dataframe(
        headers=TABLE_COLUMNS, interactive=False, wrap=True, max_height=360,
        column_widths=["30%", "26%", "12%", "12%", "8%", "12%"],
        latex_delimiters=[], label=f"Actions (cliquez sur une ligne pour ouvrir la fiche ; les "
        f"{TABLE_ROWS} premières par titre : précisez la recherche pour les autres)",
        elem_id="actions",
    )  # fmt: skip
    with gr.Row():
        pick = gr.Dropdown([], label="Fiche ouverte", scale=3, allow_custom_value=True)
        more = gr.Button("Plus comme ceci", scale=1)
    with gr.Row():
        record, similar = gr.Markdown(), gr.Markdown()
    gr.Markdown("### Comparer deux actions")
    with gr.Row():
        left = gr.Dropdown([], label="Action A", allow_custom_value=True)
        right = gr.Dropdown([], label="Action B", allow_custom_value=True)
    with gr.Row():
        left_md, right_md = gr.Markdown(), gr.Markdown()
    gr.Markdown(
        "### Carte des actions\nChaque point est une action ; proches = semblables "
        f"(au-delà de {MAP_POINTS} actions, un échantillon fixe de {MAP_POINTS})."
    )
    with gr.Column(elem_id="carte"):
        plot = gr.ScatterPlot(
            x="x", y="y", color="Dimension", tooltip=["Titre", "Structure", "Département"],
            x_title="Axe 1", y_title="Axe 2", height=560, label="Carte des actions",
            colors_in_legend=[],  # Gradio cuts its bottom legend off: ours is just below
        )  # fmt: skip
        legend = gr.HTML()
    pitfalls_panel(holder, mask)  # ui/pitfalls.py: « Ce qui coince souvent »
    browse_in = [text, mask, *facets]
    for trigger in (text.submit, text.change, mask.change, *(f.input for f in facets)):
        trigger(partial(browse_table, holder), browse_in, table, **PRIVATE)
    table.select(_row_id, None, pick, **PRIVATE)
    pick.change(partial(_open, holder), [pick, mask], record, **PRIVATE)
    more.click(partial(_more, holder), [pick, mask], similar, **PRIVATE)
    for trigger in (left.change, right.change, mask.change):
        trigger(partial(_compare, holder), [left, right, mask], [left_md, right_md],
                **PRIVATE)  # fmt: skip
    refresh_out = [*facets, pick, left, right, plot, legend]
    mask.change(
        lambda m, *cur: trainer_refresh(holder, m, list(cur)),
        [mask, pick, left, right], refresh_out, **PRIVATE,
    ).then(partial(_open, holder), [pick, mask], record, **PRIVATE).then(
        partial(_more_again, holder), [similar, pick, mask], similar, **PRIVATE,
    )  # fmt: skip
    return mask, [*browse_in], [table, *refresh_out]


# ---- batch report --------------------------------------------------------------------------

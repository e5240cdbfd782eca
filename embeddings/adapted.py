"""`e5-adapted`: the domain-adapted model, answering queries without torch.

`reco model adapt` writes models/multilingual-e5-small-adapted and exports its transformer
to ONNX (embeddings/onnx_export.py). Query-sized encodes (at most SMALL_QUERY_WINDOWS
windows: a need, or the one record of « plus comme ceci ») go to ONNX Runtime on one
thread: importing onnxruntime takes ≈ 0.3 s where torch and the model take 5–10 s, and
the vectors agree to a cosine ≥ 0.999 (checked at export). Batches (index builds,
reports) and long texts go to sentence-transformers, loaded on first need. The encoder id
is the sentence-transformers one, so an index built either way is the same index. Without
a matching export (missing, or the folder changed since), everything goes to torch and a
log line says why.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from embeddings.base import EncoderUnavailable, TextKind
from embeddings.onnx import OnnxEncoder, export_problem
from embeddings.st import SentenceTransformerEncoder
from embeddings.windows import SMALL_QUERY_WINDOWS

log = logging.getLogger("reco.embeddings")


class RoutedEncoder:
    """Query-sized encodes through `fast` (ONNX) when given, everything else through `main`."""

    def __init__(self, main: SentenceTransformerEncoder, fast: OnnxEncoder | None) -> None:
        self.main = main
        self.fast = fast
        self.id = main.id
        self.onnx_texts = 0  # how many texts ONNX Runtime encoded (tests, benchmarks)

    @property
    def dim(self) -> int:
        return self.fast.dim if self.fast is not None else self.main.dim

    def prepare_queries(self) -> None:
        """Load the query path ahead of the first query (ONNX only: torch stays lazy)."""
        if self.fast is not None:
            self.fast.prepare_queries()

    def encode(self, texts: Sequence[str], kind: TextKind) -> np.ndarray:
        kind = TextKind(kind)  # a plain "query" (StrEnum value) routes like TextKind.QUERY
        # Query-sized work of either kind (a need, or the one record of « plus comme ceci »)
        # goes to ONNX: loading torch in the app would freeze it for seconds. More texts
        # than SMALL_QUERY_WINDOWS can never be that small: no tokenising twice.
        if self.fast is not None and 0 < len(texts) <= SMALL_QUERY_WINDOWS:
            plan = self.fast.plan(texts, kind)
            if len(plan.windows) <= SMALL_QUERY_WINDOWS:
                self.onnx_texts += len(texts)
                return self.fast.encode_plan(plan, kind)
        return self.main.encode(texts, kind)


def adapted_encoder(folder: Path) -> RoutedEncoder:
    """The `e5-adapted` encoder for `folder`; a French EncoderUnavailable when it is absent."""
    if not (folder / "modules.json").is_file():
        raise EncoderUnavailable(
            f"le modèle adapté {folder} n'existe pas encore : lancez `reco model adapt`"
        )
    main = SentenceTransformerEncoder(str(folder))
    problem = export_problem(folder)
    if problem is not None:
        log.warning("e5-adapted: no usable ONNX export, torch encodes everything (%s)", problem)
        return RoutedEncoder(main, None)
    log.info("e5-adapted: queries through ONNX Runtime, batches through sentence-transformers")
    return RoutedEncoder(main, OnnxEncoder(folder))

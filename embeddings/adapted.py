"""`e5-adapted`: the domain-adapted model, answering queries without torch.

`reco model adapt` writes models/multilingual-e5-small-adapted and exports its transformer
to ONNX (embeddings/onnx_export.py). Query-sized encodes (at most SMALL_QUERY_WINDOWS
windows: a need, or the one record of « plus comme ceci ») go to ONNX Runtime on one
thread: importing onnxruntime takes ≈ 0.3 s where torch and the model take 5–10 s, and
the vectors agree to a cosine ≥ 0.999 (checked at export). Batches (index builds,
reports) and long texts go to the passage path chosen from the CPU (embeddings/precision.py:
torch bfloat16 where the CPU has BF16, else torch float32; `e5-adapted@<chemin>` asks for
another, e.g. ONNX Runtime float32 or int8). The encoder id is the sentence-transformers
one, so an index built either way answers the same queries; its manifest records the
passages' precision, which also keys the embedding cache. Without a matching export
(missing, or the folder changed since), everything goes to torch and a log line says why.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from embeddings.base import Encoder, EncoderUnavailable, TextKind
from embeddings.onnx import INT8_FILE, OnnxEncoder, export_problem
from embeddings.precision import AUTO, PassagePath, choose_passage_path
from embeddings.st import SentenceTransformerEncoder
from embeddings.windows import SMALL_QUERY_WINDOWS

log = logging.getLogger("reco.embeddings")


class RoutedEncoder:
    """Query-sized encodes through `fast` (ONNX) when given, everything else through `main`."""

    def __init__(
        self,
        main: Encoder,
        fast: OnnxEncoder | None,
        *,
        encoder_id: str | None = None,
        passages: PassagePath = PassagePath.TORCH_FLOAT32,
    ) -> None:
        self.main = main
        self.fast = fast
        self.id = encoder_id or main.id
        self.passages = passages  # how `main` encodes batches
        self.passage_precision = passages.precision  # index manifest, embedding cache key
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


def adapted_encoder(folder: Path, passages: str = AUTO) -> RoutedEncoder:
    """The `e5-adapted` encoder for `folder`; a French EncoderUnavailable when it is absent.

    `passages`: `auto` or a PassagePath value (embeddings/precision.py)."""
    if not (folder / "modules.json").is_file():
        raise EncoderUnavailable(
            f"le modèle adapté {folder} n'existe pas encore : lancez `reco model adapt`"
        )
    from embeddings.onnx_int8 import int8_problem

    torch_encoder = SentenceTransformerEncoder(str(folder))
    problem = export_problem(folder)
    fast = None if problem is not None else OnnxEncoder(folder)
    int8_ready = fast is not None and int8_problem(folder) is None
    path, why = choose_passage_path(passages, onnx_ready=fast is not None, int8_ready=int8_ready)
    if why:
        log.warning("e5-adapted: passages through %s (%s)", path.value, why)
    main: Encoder = {
        PassagePath.TORCH_FLOAT32: lambda: torch_encoder,
        PassagePath.TORCH_BFLOAT16: lambda: SentenceTransformerEncoder(
            str(folder), precision="bfloat16"
        ),
        PassagePath.ONNX_FLOAT32: lambda: fast or torch_encoder,  # fast: chosen when ready
        PassagePath.ONNX_INT8: lambda: OnnxEncoder(folder, model_file=INT8_FILE),
    }[path]()
    if fast is None:
        log.warning("e5-adapted: no usable ONNX export, torch encodes everything (%s)", problem)
    else:
        log.info("e5-adapted: queries through ONNX Runtime, passages through %s", path.value)
    return RoutedEncoder(main, fast, encoder_id=torch_encoder.id, passages=path)

"""A local sentence-transformers folder served by ONNX Runtime, without torch.

`reco model export` (embeddings/onnx_export.py) writes `<folder>/onnx/model.onnx` (the
transformer) and `<folder>/onnx/export.json` (its stamp). This encoder reads the tokenizer
from `<folder>/tokenizer.json` with the `tokenizers` library, adds the folder's prompts
(« query: » / « passage: »), windows long texts exactly as the torch path does
(embeddings/windows.py), then mean-pools with the attention mask and L2-normalises.
Importing onnxruntime takes ≈ 0.3 s against 5–10 s for torch and the model.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from embeddings.base import EncoderUnavailable, TextKind, empty, normalise
from embeddings.st import folder_dim, folder_fingerprint
from embeddings.windows import WindowPlan, plan_windows, pool_windows, split_windows

ONNX_DIR = "onnx"
MODEL_FILE = "model.onnx"
INT8_FILE = "model.int8.onnx"  # dynamic int8 quantisation of MODEL_FILE (`--int8`)
STAMP_FILE = "export.json"
STAMP_VERSION = 1
BATCH_SIZE = 32


def read_stamp(onnx_dir: Path) -> dict[str, Any] | None:
    """The export stamp in `onnx_dir` (`<folder>/onnx`), or None when absent or unreadable."""
    try:
        stamp = json.loads((onnx_dir / STAMP_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return stamp if isinstance(stamp, dict) else None


def export_problem(folder: Path) -> str | None:
    """Why the ONNX export of `folder` cannot be used (French), or None when it matches."""
    stamp = read_stamp(folder / ONNX_DIR)
    if stamp is None or not (folder / ONNX_DIR / MODEL_FILE).is_file():
        return f"pas d'export ONNX dans {folder} (lancez `reco model export`)"
    if stamp.get("format_version") != STAMP_VERSION:
        return f"export ONNX de {folder} d'un ancien format (lancez `reco model export`)"
    if stamp.get("folder_fingerprint") != folder_fingerprint(folder):
        return f"export ONNX périmé : {folder} a changé depuis (lancez `reco model export`)"
    return None


def folder_prompts(folder: Path) -> tuple[str, str]:
    """Query and passage prompts, chosen as sentence-transformers (st.py) chooses them."""
    try:
        config = json.loads(
            (folder / "config_sentence_transformers.json").read_text(encoding="utf-8")
        )
    except (OSError, ValueError):
        return "", ""
    prompts = config.get("prompts") or {} if isinstance(config, dict) else {}
    return prompts.get("query", ""), prompts.get("passage", prompts.get("document", ""))


class _FastWindowTokenizer:
    """A `tokenizers.Tokenizer` seen through `WindowTokenizer` (no special tokens)."""

    def __init__(self, tokenizer: Any) -> None:
        self._tokenizer = tokenizer

    def count(self, text: str) -> int:
        return len(self.ids(text))

    def ids(self, text: str) -> list[int]:
        return list(self._tokenizer.encode(text, add_special_tokens=False).ids)

    def decode(self, ids: list[int]) -> str:
        return str(self._tokenizer.decode(ids, skip_special_tokens=False))


class OnnxEncoder:
    """The Encoder protocol over `<folder>/onnx/model.onnx`; sessions load lazily."""

    def __init__(
        self,
        folder: Path | str,
        *,
        query_threads: int = 1,
        batch_threads: int = 0,
        onnx_dir: Path | None = None,
        model_file: str = MODEL_FILE,
    ) -> None:
        self.folder = Path(folder)
        self.onnx_dir = onnx_dir or self.folder / ONNX_DIR  # another one while exporting
        self.model_file = model_file
        if not (self.onnx_dir / model_file).is_file():
            raise EncoderUnavailable(
                f"pas d'export ONNX dans {self.folder} : lancez `reco model export`"
            )
        stamp = read_stamp(self.onnx_dir) or {}
        self.max_length = int(stamp.get("max_seq_length") or 512)
        self.query_prompt, self.passage_prompt = folder_prompts(self.folder)
        self.query_threads = query_threads
        self.batch_threads = batch_threads  # 0: ONNX Runtime's default (the physical cores)
        self.passage_precision = "int8" if model_file == INT8_FILE else "float32"
        self.id = f"onnx-{self.folder.name}-{stamp.get('folder_fingerprint', '')}"
        self._dim = folder_dim(self.folder)
        self._tokenizer: Any = None
        self._sessions: dict[int, Any] = {}  # intra-op threads (0: ORT's default) -> session
        self._lock = threading.Lock()

    @property
    def dim(self) -> int:
        if not self._dim:
            self._dim = int(self._session(1).get_outputs()[0].shape[-1])
        return self._dim

    def tokenizer(self) -> Any:
        """The folder's `tokenizers.Tokenizer`, without truncation or padding of its own."""
        with self._lock:
            if self._tokenizer is None:
                from tokenizers import Tokenizer

                tokenizer = Tokenizer.from_file(str(self.folder / "tokenizer.json"))
                tokenizer.no_truncation()
                tokenizer.no_padding()
                self._tokenizer = tokenizer
            return self._tokenizer

    def _session(self, threads: int) -> Any:
        with self._lock:
            if threads not in self._sessions:
                self._sessions[threads] = self._new_session(threads)
            return self._sessions[threads]

    def _new_session(self, threads: int) -> Any:
        try:
            import onnxruntime as ort
        except ImportError as exc:  # pragma: no cover - a dependency of the project
            raise EncoderUnavailable("onnxruntime n'est pas installé") from exc
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        path = str(self.onnx_dir / self.model_file)
        return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])

    def prepare_queries(self) -> None:
        """Load the tokenizer and the one-thread session now rather than at the first query.

        Building the session (≈ 1.5 s for the 470 MB model) releases the interpreter lock, so
        the app runs this in a thread while it imports Gradio.
        """
        self.tokenizer()
        self._session(self.query_threads)

    def prompt(self, kind: TextKind) -> str:
        return self.query_prompt if kind is TextKind.QUERY else self.passage_prompt

    def plan(self, texts: Sequence[str], kind: TextKind) -> WindowPlan:
        """The windows of `texts`, as the torch path would cut them."""
        windows = _FastWindowTokenizer(self.tokenizer())
        prompt = self.prompt(kind)
        return plan_windows(
            texts, lambda text: split_windows(windows, text, prompt, self.max_length)
        )

    def encode(self, texts: Sequence[str], kind: TextKind) -> np.ndarray:
        if not texts:
            return empty(self.dim)
        kind = TextKind(kind)
        return self.encode_plan(self.plan(texts, kind), kind)

    def encode_plan(self, plan: WindowPlan, kind: TextKind) -> np.ndarray:
        """Vectors of planned texts: one thread for a query-sized plan, all threads else."""
        small = plan.is_small_query(kind)
        session = self._session(self.query_threads if small else self.batch_threads)
        prompt = self.prompt(kind)
        batches = [
            self._run(session, [prompt + w for w in plan.windows[i : i + BATCH_SIZE]])
            for i in range(0, len(plan.windows), BATCH_SIZE)
        ]
        return pool_windows(plan, np.concatenate(batches))

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """Ids fed to the model for `texts` (already prompted), special tokens included.

        Windows fit the model by construction; a window that re-tokenises longer is cut as
        Hugging Face cuts it: its content shortened, the closing special token kept.
        """
        encodings = self.tokenizer().encode_batch(list(texts), add_special_tokens=True)
        rows = [list(e.ids) for e in encodings]
        return [ids if len(ids) <= self.max_length else _cut(ids, self.max_length) for ids in rows]

    def _run(self, session: Any, texts: list[str]) -> np.ndarray:
        rows = self.token_ids(texts)
        width = max(len(row) for row in rows)
        ids = np.zeros((len(texts), width), dtype=np.int64)
        mask = np.zeros((len(texts), width), dtype=np.int64)
        for index, row in enumerate(rows):
            ids[index, : len(row)] = row
            mask[index, : len(row)] = 1
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        names = [item.name for item in session.get_inputs()]
        (hidden,) = session.run(None, {name: feeds[name] for name in names})
        summed = (hidden * mask[:, :, None]).sum(axis=1)
        return normalise(summed / np.maximum(mask.sum(axis=1, keepdims=True), 1))


def _cut(ids: list[int], length: int) -> list[int]:
    """Truncate a single-sequence encoding to `length`, keeping its closing special token."""
    return [*ids[: length - 1], ids[-1]]

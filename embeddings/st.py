"""Any sentence-transformers model: a hub name (with network) or a local folder (offline).

Texts longer than the model's window are split into token windows whose embeddings are
averaged (embeddings/windows.py), so nothing past 512 tokens is silently dropped.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from embeddings.base import EncoderUnavailable, TextKind, empty
from embeddings.windows import (
    SMALL_QUERY_WINDOWS,
    plan_windows,
    pool_windows,
    split_windows,
)

__all__ = ["SMALL_QUERY_WINDOWS", "SentenceTransformerEncoder", "folder_dim", "folder_fingerprint"]


# Derived files kept inside a model folder that do not change what the model computes (the
# ONNX export, embeddings/onnx_export.py): they leave the folder's fingerprint, and so the
# encoder id and the indexes built with it, unchanged; so do their staging folders
# (`.onnx.building-…`, embeddings/staging.py), even when a killed export left one behind.
DERIVED_DIRS = frozenset({"onnx"})


def _derived(top: str) -> bool:
    return top in DERIVED_DIRS or any(top.startswith(f".{name}.") for name in DERIVED_DIRS)


def folder_fingerprint(path: Path) -> str:
    """Hash of a local model's config and weight sizes: a rebuilt folder gets a new id."""
    digest = hashlib.sha256()
    for item in sorted(path.rglob("*")):
        if item.is_file() and not _derived(item.relative_to(path).parts[0]):
            digest.update(f"{item.relative_to(path)}:{item.stat().st_size}".encode())
            if item.suffix == ".json":
                digest.update(item.read_bytes())
    return digest.hexdigest()[:12]


@contextlib.contextmanager
def _torch_threads(count: int | None) -> Iterator[None]:
    """Run with `count` torch threads, then restore (setting them costs well under 1 µs)."""
    if not count:
        yield
        return
    import torch

    before = torch.get_num_threads()
    if before == count:
        yield
        return
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def folder_dim(path: Path) -> int:
    """The embedding size from the pooling config (0 if unknown), without loading the model."""
    config = path / "1_Pooling" / "config.json"
    if not config.is_file():
        return 0
    try:
        data = json.loads(config.read_text(encoding="utf-8"))
        # sentence-transformers >= 6 writes `embedding_dimension` (e.g. `reco model adapt`).
        return int(data.get("word_embedding_dimension") or data["embedding_dimension"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return 0


class SentenceTransformerEncoder:
    def __init__(
        self,
        model: str,
        *,
        query_prompt: str | None = None,
        passage_prompt: str | None = None,
        batch_size: int = 32,
        device: str = "cpu",
        threads: int | None = None,
        query_threads: int | None = 1,
        precision: str = "float32",
    ) -> None:
        self.model_name = model
        self.passage_precision = precision  # float32 or bfloat16 (embeddings/precision.py)
        self._query_prompt = query_prompt
        self._passage_prompt = passage_prompt
        self._batch_size = batch_size
        self._device = device
        self._threads = threads
        self.query_threads = query_threads
        self._model: Any = None  # a SentenceTransformer once loaded (torch imported late)
        self._load_lock = threading.Lock()  # the app loads in the background while serving
        self._dim = 0
        local = Path(model)
        source = folder_fingerprint(local) if local.is_dir() else model
        settings = json.dumps([source, query_prompt, passage_prompt], ensure_ascii=False)
        tag = hashlib.sha256(settings.encode()).hexdigest()[:10]
        self.id = f"st-{local.name if local.is_dir() else model.replace('/', '_')}-{tag}"

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def load(self) -> SentenceTransformerEncoder:
        """Load the model now (it is otherwise loaded on first use); thread-safe."""
        with self._load_lock:
            if self._model is None:
                self._load()
        return self

    def model(self) -> Any:
        """The loaded SentenceTransformer (the ONNX export traces its transformer)."""
        return self.load()._model

    def _load(self) -> None:
        try:
            import torch
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:  # pragma: no cover - the project depends on both
            raise EncoderUnavailable("sentence-transformers n'est pas installé") from exc
        if self._threads:
            torch.set_num_threads(self._threads)
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # no « Loading weights » bar in CLI/JSON output
        try:
            dtype = {"dtype": torch.bfloat16} if self.passage_precision == "bfloat16" else {}
            self._model = SentenceTransformer(
                self.model_name, device=self._device, model_kwargs=dtype or None
            )
        except (OSError, ValueError) as exc:
            raise EncoderUnavailable(
                f"modèle sentence-transformers « {self.model_name} » introuvable hors ligne : "
                "donnez un dossier local (par ex. models/multilingual-e5-small, créé par "
                "`reco model build`) ou activez le réseau"
            ) from exc
        dimension = getattr(self._model, "get_embedding_dimension", None) or (
            self._model.get_sentence_embedding_dimension  # sentence-transformers < 6
        )
        self._dim = int(dimension() or 0)

    @property
    def dim(self) -> int:
        """Read from a local folder's pooling config when possible: a warm rebuild (all
        vectors cached) then never imports torch."""
        if not self._dim and self._model is None:
            self._dim = folder_dim(Path(self.model_name))
        return self._dim or self.load()._dim

    def _prompt(self, kind: TextKind) -> str:
        explicit = self._query_prompt if kind is TextKind.QUERY else self._passage_prompt
        if explicit is not None:
            return explicit
        prompts = getattr(self._model, "prompts", {}) or {}
        return prompts.get(
            kind.value, prompts.get("document", "") if kind is TextKind.PASSAGE else ""
        )

    def _windows(self, text: str, prompt: str) -> list[tuple[str, int]]:
        """Split a text into windows that fit the model, each with its token count."""
        tokenizer = _HFWindowTokenizer(self._model.tokenizer)
        return split_windows(tokenizer, text, prompt, int(self._model.max_seq_length))

    def encode(self, texts: Sequence[str], kind: TextKind) -> np.ndarray:
        self.load()
        if not texts:
            return empty(self.dim)
        kind = TextKind(kind)  # "query" as well as TextKind.QUERY
        prompt = self._prompt(kind)
        plan = plan_windows(texts, lambda text: self._windows(text, prompt))
        small = plan.is_small_query(kind)
        with _torch_threads(self.query_threads if small else None):
            vectors = self._model.encode(
                plan.windows,
                prompt=prompt,
                batch_size=self._batch_size,
                convert_to_numpy=True,
                normalize_embeddings=True,
                show_progress_bar=False,
            )
        return pool_windows(plan, vectors)


class _HFWindowTokenizer:
    """A Hugging Face tokenizer seen through `WindowTokenizer`."""

    def __init__(self, tokenizer: Any) -> None:
        self._tokenizer = tokenizer

    def count(self, text: str) -> int:
        return len(self._tokenizer.tokenize(text))

    def ids(self, text: str) -> list[int]:
        return list(self._tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"])

    def decode(self, ids: list[int]) -> str:
        return str(self._tokenizer.decode(ids))

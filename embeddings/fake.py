"""A deterministic, dependency-free encoder for fast tests.

Bag of hashed character trigrams of accent-folded words: similar texts get similar vectors,
so search tests can assert rankings without loading a model.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Sequence

import numpy as np

from embeddings.base import TextKind, empty, normalise


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


class FakeEncoder:
    def __init__(self, dim: int = 64) -> None:
        self.dim = dim
        self.id = f"fake-trigram-{dim}"
        self.calls = 0  # texts encoded so far (tests check incremental builds with it)

    def _vector(self, text: str) -> np.ndarray:
        vector = np.zeros(self.dim, dtype=np.float32)
        for word in _fold(text).split():
            padded = f" {word} "
            for i in range(max(1, len(padded) - 2)):
                digest = hashlib.blake2b(padded[i : i + 3].encode(), digest_size=4).digest()
                vector[int.from_bytes(digest, "little") % self.dim] += 1.0
        return vector

    def encode(self, texts: Sequence[str], kind: TextKind) -> np.ndarray:
        self.calls += len(texts)
        if not texts:
            return empty(self.dim)
        return normalise(np.stack([self._vector(t) for t in texts]))

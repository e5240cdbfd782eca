"""The encoder seam: texts in, L2-normalised float32 vectors out.

`embeddings/` knows nothing of actions. Asymmetric models (e5) embed queries and passages
with different prompts, hence the `kind` argument.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Protocol, runtime_checkable

import numpy as np


class TextKind(StrEnum):
    QUERY = "query"
    PASSAGE = "passage"


@runtime_checkable
class Encoder(Protocol):
    """One method: `encode`. `id` changes whenever the model or its settings change."""

    id: str

    @property
    def dim(self) -> int: ...

    def encode(self, texts: Sequence[str], kind: TextKind) -> np.ndarray:
        """Return an array of shape (len(texts), dim), float32, rows of unit length."""
        ...


def prepare_queries(encoder: Encoder) -> None:
    """Have `encoder` load its query path now, when it offers to (`prepare_queries()`)."""
    prepare = getattr(encoder, "prepare_queries", None)
    if prepare is not None:
        prepare()


class EncoderUnavailable(RuntimeError):
    """The encoder cannot be loaded here (package missing, model folder absent...)."""


def normalise(vectors: np.ndarray) -> np.ndarray:
    """L2-normalise rows; zero rows stay zero instead of becoming NaN."""
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim == 1:
        vectors = vectors[None, :]
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.ascontiguousarray(vectors / np.maximum(norms, 1e-12), dtype=np.float32)


def empty(dim: int) -> np.ndarray:
    return np.zeros((0, dim), dtype=np.float32)


def passage_precision(encoder: Encoder) -> str:
    """float32, bfloat16 or int8: how `encoder` computes passages (index manifest, cache key)."""
    return str(getattr(encoder, "passage_precision", "float32"))

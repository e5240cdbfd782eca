"""Long texts as token windows whose embeddings are averaged (one rule for every engine).

A text longer than the model's window is cut into windows of the model's length (minus the
prompt and the two special tokens); each window is embedded, then the text's vector is the
token-weighted mean of its windows. The torch path (st.py) and the ONNX path (onnx.py) both
plan and pool through these functions, so they window texts identically.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from embeddings.base import TextKind, normalise

# Up to this many windows, a query is encoded on one thread. On the 2-core machine one
# thread is slower for an isolated query on an idle machine (p50 47.5 vs 39.2 ms) but 6x
# faster when other work holds the other core (36 vs 221 ms); under the 20-session load
# test the two were equal within noise (p95 3.1 / 2.4 s vs 2.8 / 3.5 s in two pairs of runs).
# The worst case decides. Batches (reports, builds) keep all threads. See BENCHMARKS.md.
SMALL_QUERY_WINDOWS = 4


class WindowTokenizer(Protocol):
    """What windowing needs from a tokenizer (Hugging Face's or the `tokenizers` library)."""

    def count(self, text: str) -> int:
        """Number of tokens of `text`, without special tokens."""
        ...

    def ids(self, text: str) -> list[int]:
        """Token ids of `text`, without special tokens."""
        ...

    def decode(self, ids: list[int]) -> str: ...


def split_windows(
    tokenizer: WindowTokenizer, text: str, prompt: str, max_length: int
) -> list[tuple[str, int]]:
    """Split a text into windows that fit the model, each with its token count."""
    budget = max_length - 2 - tokenizer.count(prompt)
    ids = tokenizer.ids(text)
    if len(ids) <= budget:
        return [(text, max(1, len(ids)))]
    step = max(1, budget)
    return [
        (tokenizer.decode(ids[i : i + step]), len(ids[i : i + step]))
        for i in range(0, len(ids), step)
    ]


@dataclass
class WindowPlan:
    """The windows of a list of texts: which text owns each window, and its weight."""

    n_texts: int
    windows: list[str] = field(default_factory=list)
    owners: list[int] = field(default_factory=list)
    weights: list[int] = field(default_factory=list)

    def is_small_query(self, kind: TextKind) -> bool:
        """Query-sized: encoded on one thread (and by the ONNX session, see registry.py)."""
        return kind is TextKind.QUERY and len(self.windows) <= SMALL_QUERY_WINDOWS


def plan_windows(texts: Sequence[str], split: Callable[[str], list[tuple[str, int]]]) -> WindowPlan:
    """Windows of every text, in order (`split` is `split_windows` bound to a tokenizer)."""
    plan = WindowPlan(len(texts))
    for index, text in enumerate(texts):
        for window, count in split(text):
            plan.windows.append(window)
            plan.owners.append(index)
            plan.weights.append(count)
    return plan


def pool_windows(plan: WindowPlan, vectors: np.ndarray) -> np.ndarray:
    """One unit vector per text from the (unit) vectors of its windows."""
    if len(plan.windows) == plan.n_texts:
        return normalise(vectors)
    # Weight windows by their token count, as the C engine does: a 7-token tail must
    # not count as much as a full 510-token window.
    pooled = np.zeros((plan.n_texts, vectors.shape[1]), dtype=np.float32)
    weighted = vectors * np.asarray(plan.weights, dtype=np.float32)[:, None]
    np.add.at(pooled, np.asarray(plan.owners), weighted)
    return normalise(pooled)

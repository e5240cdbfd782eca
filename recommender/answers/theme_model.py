"""The statement classifier of answers/themes.py: vectors of short texts and a linear model.

Features of a statement: its unit vector by each encoder (the engine's e5, « query: » form,
the symmetric form for comparing sentences, and multilingual USE beside it when installed:
`JointVectors`, each block scaled by 1/√n so rows stay of unit length), and how many stems
it shares with each theme's definition (what comes before « PAS »). Model: softmax
regression, classes balanced, trained on the labelled statements plus each theme's label,
definition and the short phrases of its definition, and the statements written from the
definitions alone (taxonomy.Written). bench/theme_classifier.py measures it
with stratified cross-validation (docs/EVALUATION.md), `fit_classifier` on each fold.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from embeddings.base import Encoder, TextKind
from recommender.answers.taxonomy import OTHER, Taxonomy, Written
from recommender.index.embed_cache import EmbeddingCache
from recommender.index.lexical import analyze

ENCODE_BATCH = 4  # query-sized batches: the adapted encoder answers them without torch
DEFINITION_WEIGHT = 0.3  # scale of the stems-shared-with-a-definition features
PHRASE_WEIGHT = 1.0  # sample weight of a definition's phrases among the training points
WRITTEN_WEIGHT = 1.0  # sample weight of a statement written from a definition (fixed a priori)
L2 = 1e-4  # chosen by an inner cross-validation (1e-4 vs 1e-3, bench.theme_classifier --nested)
STEPS = 400

Vectors = Callable[[Sequence[str]], np.ndarray]  # texts -> one row per text


class StatementVectors:
    """Unit vectors of short texts (« query: » form), cached in memory and maybe on disk."""

    def __init__(
        self,
        encoder: Encoder,
        cache_dir: Path | None = None,
        encoder_lock: threading.Lock | None = None,
    ) -> None:
        self.encoder = encoder
        self._memory: dict[str, np.ndarray] = {}
        self._disk = EmbeddingCache(cache_dir, encoder.id, encoder.dim) if cache_dir else None
        self._lock = threading.Lock()
        # The engine's lock: encoders are shared by the searches and are not re-entrant.
        self._encoder_lock = encoder_lock or threading.Lock()

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._memory))
            if missing:
                if self._disk is not None:
                    vectors, computed = self._disk.embed(missing, self._encode, ENCODE_BATCH)
                    if computed:
                        self._disk.save()
                else:
                    vectors = self._encode(missing)
                self._memory.update(zip(missing, vectors, strict=True))
            if not texts:
                return np.zeros((0, self.encoder.dim), dtype=np.float32)
            return np.stack([self._memory[t] for t in texts])

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        chunks = []
        for i in range(0, len(texts), ENCODE_BATCH):
            with self._encoder_lock:
                chunks.append(
                    self.encoder.encode(list(texts[i : i + ENCODE_BATCH]), TextKind.QUERY)
                )
        return np.vstack(chunks) if chunks else np.zeros((0, self.encoder.dim), np.float32)


class JointVectors:
    """Several encoders' vectors of the same texts side by side, each block scaled by 1/√n
    (rows stay of unit length: a dot product is the mean of the encoders' cosines)."""

    def __init__(self, parts: Sequence[Vectors]) -> None:
        self.parts = tuple(parts)

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        blocks = [np.asarray(p(texts), dtype=np.float32) for p in self.parts]
        return np.hstack(blocks) / np.float32(np.sqrt(len(blocks)))


# ---- the linear model ----------------------------------------------------------------------


class SoftmaxRegression:
    """Multinomial logistic regression, classes balanced, L2-penalised, fitted with Adam."""

    def __init__(self, l2: float = L2, steps: int = STEPS, rate: float = 0.05) -> None:
        self.l2, self.steps, self.rate = l2, steps, rate
        self.classes: list[str] = []
        self.weights = np.zeros((0, 0))

    def fit(
        self, x: np.ndarray, y: Sequence[str], sample_weight: np.ndarray | None = None
    ) -> SoftmaxRegression:
        self.classes = sorted(set(y))
        index = {c: i for i, c in enumerate(self.classes)}
        targets = np.zeros((len(y), len(self.classes)))
        targets[np.arange(len(y)), [index[c] for c in y]] = 1.0
        counts = targets.sum(axis=0)
        weight = (len(y) / (len(self.classes) * counts))[[index[c] for c in y]]
        if sample_weight is not None:
            weight = weight * sample_weight
        weight = weight / weight.sum()
        xb = np.hstack([x, np.ones((len(x), 1))])
        w = np.zeros((xb.shape[1], len(self.classes)))
        m, v = np.zeros_like(w), np.zeros_like(w)
        for step in range(1, self.steps + 1):
            logits = xb @ w
            logits -= logits.max(axis=1, keepdims=True)
            p = np.exp(logits)
            p /= p.sum(axis=1, keepdims=True)
            grad = xb.T @ ((p - targets) * weight[:, None]) + self.l2 * w
            m = 0.9 * m + 0.1 * grad
            v = 0.999 * v + 0.001 * grad**2
            w -= self.rate * (m / (1 - 0.9**step)) / (np.sqrt(v / (1 - 0.999**step)) + 1e-8)
        self.weights = w
        return self

    def predict(self, x: np.ndarray) -> list[str]:
        if not len(x):
            return []
        scores = np.hstack([x, np.ones((len(x), 1))]) @ self.weights
        return [self.classes[i] for i in scores.argmax(axis=1)]


@dataclass(frozen=True)
class KindModel:
    kind: str
    stems: tuple[frozenset[str], ...]  # one set per theme (`keys` order)
    keys: tuple[str, ...]
    model: SoftmaxRegression

    def features(self, texts: Sequence[str], vectors: np.ndarray) -> np.ndarray:
        return _features(texts, vectors, self.stems)

    def predict(self, texts: Sequence[str], vectors: np.ndarray) -> list[str]:
        return self.model.predict(self.features(texts, vectors))


def _features(
    texts: Sequence[str], vectors: np.ndarray, stems: Sequence[frozenset[str]]
) -> np.ndarray:
    shared = np.array(
        [[len(set(analyze(t)) & s) for s in stems] for t in texts], dtype=np.float64
    ).reshape(len(texts), len(stems))
    return np.hstack([np.asarray(vectors, dtype=np.float64), DEFINITION_WEIGHT * shared])


def fit_classifier(
    taxonomy: Taxonomy,
    kind: str,
    texts: Sequence[str],
    labels: Sequence[str],
    vectors: Vectors,
    *,
    other: bool = True,
    written: Sequence[Written] = (),
    l2: float = L2,
) -> KindModel:
    """The model of one kind, from labelled statements, the taxonomy's own words and the
    statements written from its definitions (`other=False`: « autre » is left out, so it
    never answers it)."""
    if not other:
        kept = [i for i, y in enumerate(labels) if y != OTHER]
        texts, labels = [texts[i] for i in kept], [labels[i] for i in kept]
    themes = [t for t in taxonomy.of(kind) if t.key != OTHER]
    stems = tuple(frozenset(analyze(f"{t.label} {t.positive}")) for t in themes)
    extra_texts = [f"{t.label} : {t.positive}" for t in themes]
    extra_labels = [t.key for t in themes]
    weights = [1.0] * (len(texts) + len(themes))
    for w in written:
        if w.kind == kind and (other or w.theme != OTHER):
            extra_texts.append(w.text)
            extra_labels.append(w.theme)
            weights.append(WRITTEN_WEIGHT)
    for theme in themes:
        for phrase in theme.phrases():
            extra_texts.append(phrase)
            extra_labels.append(theme.key)
            weights.append(PHRASE_WEIGHT)
    all_texts = [*texts, *extra_texts]
    x = _features(all_texts, vectors(all_texts), stems)
    model = SoftmaxRegression(l2=l2).fit(x, [*labels, *extra_labels], np.array(weights))
    return KindModel(kind, stems, tuple(t.key for t in themes), model)

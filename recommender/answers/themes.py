"""The theme of a limit or perspective statement, by meaning.

The taxonomy and the reviewed labels live in `data/synthesis/` (taxonomy.json, labels.json,
statements.json; README there). A statement of the labelled set, found by its normalised
text (case, accents, apostrophes, spaces and end punctuation ignored), keeps its reviewed
label. Any other statement is classified by a small linear model (softmax regression) over:

- the statement's embedding by the engine's encoder (e5 « query: » form, the symmetric
  form for comparing sentences);
- how many stems it shares with each theme's definition (what comes before « PAS »);

trained on the labelled statements, plus each theme's label and definition and the short
phrases of its definition as extra training points. bench/theme_classifier.py measures it
with stratified cross-validation (docs/EVALUATION.md), with `fit_classifier` on each fold.

Vectors are cached in memory and, when a directory is given, on disk per encoder; the
classifier is fitted on first need (about 460 short texts to embed once per encoder).
"""

from __future__ import annotations

import json
import re
import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from embeddings.base import Encoder, TextKind
from recommender.answers.statements import content_words, fold
from recommender.index.embed_cache import EmbeddingCache
from recommender.index.lexical import analyze
from recommender.search.service import Engine

SYNTHESIS_DIR = Path(__file__).resolve().parents[2] / "data" / "synthesis"
KINDS = ("limite", "perspective")
OTHER = "autre"
ENCODE_BATCH = 4  # query-sized batches: the adapted encoder answers them without torch
DEFINITION_WEIGHT = 0.3  # scale of the stems-shared-with-a-definition features
PHRASE_WEIGHT = 1.0  # sample weight of a definition's phrases among the training points
L2 = 1e-3
MEMO_SIZE = 500_000  # themed statements remembered per instance
STEPS = 400


@dataclass(frozen=True)
class Theme:
    kind: str
    key: str
    label: str
    definition: str

    @property
    def positive(self) -> str:
        """What the definition includes (before « ; PAS … »)."""
        return re.split(r";\s*PAS\b", self.definition)[0]

    def phrases(self) -> list[str]:
        """The label and the short phrases of the definition, as extra training texts."""
        parts = re.split(r"[,;()]|\bou\b|\bet\b", self.positive)
        found = [p.strip(" .:-'’") for p in parts]
        return [self.label, *(p for p in found if content_words(p))]


@dataclass(frozen=True)
class Taxonomy:
    themes: tuple[Theme, ...]

    @classmethod
    def load(cls, directory: Path = SYNTHESIS_DIR) -> Taxonomy:
        raw = json.loads((directory / "taxonomy.json").read_text(encoding="utf-8"))
        themes = (Theme(k, t["key"], t["label"], t["definition"]) for k in KINDS for t in raw[k])
        return cls(tuple(themes))

    def of(self, kind: str) -> tuple[Theme, ...]:
        return tuple(t for t in self.themes if t.kind == kind)

    def label(self, kind: str, key: str) -> str:
        return next((t.label for t in self.themes if t.kind == kind and t.key == key), key)

    def keys(self, kind: str) -> list[str]:
        return [t.key for t in self.of(kind)]


@dataclass(frozen=True)
class Labelled:
    id: str
    kind: str
    text: str
    theme: str
    action: str


def load_labelled(directory: Path = SYNTHESIS_DIR) -> tuple[Labelled, ...]:
    statements = json.loads((directory / "statements.json").read_text(encoding="utf-8"))
    labels = json.loads((directory / "labels.json").read_text(encoding="utf-8"))
    return tuple(
        Labelled(s["id"], s["kind"], s["text"], labels[s["id"]], s["action"])
        for s in statements
        if s["id"] in labels
    )


def normalise(text: str) -> str:
    """The text a reviewed label is looked up by: folded, without end punctuation."""
    return " ".join(WORDS.findall(fold(text)))


WORDS = re.compile(r"[^\W_]+(?:'[^\W_]+)*")


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
    vectors: StatementVectors,
    *,
    other: bool = True,
) -> KindModel:
    """The model of one kind, from labelled statements and the taxonomy's own words
    (`other=False`: statements labelled « autre » are left out, so it never answers it)."""
    if not other:
        kept = [i for i, y in enumerate(labels) if y != OTHER]
        texts, labels = [texts[i] for i in kept], [labels[i] for i in kept]
    themes = [t for t in taxonomy.of(kind) if t.key != OTHER]
    stems = tuple(frozenset(analyze(f"{t.label} {t.positive}")) for t in themes)
    extra_texts = [f"{t.label} : {t.positive}" for t in themes]
    extra_labels = [t.key for t in themes]
    weights = [1.0] * (len(texts) + len(themes))
    for theme in themes:
        for phrase in theme.phrases():
            extra_texts.append(phrase)
            extra_labels.append(theme.key)
            weights.append(PHRASE_WEIGHT)
    all_texts = [*texts, *extra_texts]
    x = _features(all_texts, vectors(all_texts), stems)
    model = SoftmaxRegression().fit(x, [*labels, *extra_labels], np.array(weights))
    return KindModel(kind, stems, tuple(t.key for t in themes), model)


# ---- what the product uses -----------------------------------------------------------------


class StatementThemes:
    """Themes and vectors of statements: reviewed labels first, the classifier otherwise.

    Without an encoder (`encoder=None`) there are no vectors, and a new statement gets the
    theme whose definition shares most stems with it. With an encoder the classifier is
    fitted on the first new statement (~460 short texts to embed, 5–25 s on 2 cores), or
    ahead by `warm()` in a thread (a start-up can call it): a statement never waits for
    less, so the same cards always give the same synthesis.
    """

    def __init__(
        self,
        encoder: Encoder | None,
        directory: Path = SYNTHESIS_DIR,
        cache_dir: Path | None = None,
        *,
        lock: threading.Lock | None = None,
    ) -> None:
        self.taxonomy = Taxonomy.load(directory)
        self.labelled = load_labelled(directory)
        self.vectors = StatementVectors(encoder, cache_dir, lock) if encoder else None
        self.known = {(s.kind, normalise(s.text)): s.theme for s in self.labelled}
        self._models: dict[str, KindModel] = {}
        self._memo: dict[tuple[str, str], str] = {}
        self._fit_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stems = {
            kind: [
                (t.key, frozenset(analyze(f"{t.label} {t.positive}")))
                for t in self.taxonomy.of(kind)
                if t.key != OTHER
            ]
            for kind in KINDS
        }

    def by_stems(self, text: str, kind: str) -> str:
        """The theme whose definition shares most stems with `text` (« autre » if none)."""
        stems = set(analyze(text))
        best = max(self._stems[kind], key=lambda ks: len(stems & ks[1]))
        return best[0] if stems & best[1] else OTHER

    def fit(self) -> StatementThemes:
        """Fit both classifiers now (the CLI and the reports wait for them)."""
        if self.vectors is None:
            return self
        for kind in KINDS:
            self.model(kind)
        return self

    def warm(self) -> None:
        """Start fitting the classifiers in a thread (no-op without encoder or if started)."""
        if self.vectors is None:
            return
        with self._fit_lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self.fit, name="themes-fit", daemon=True)
                self._thread.start()

    def _ready(self, kind: str) -> KindModel | None:
        if kind in self._models or self.vectors is None:
            return self._models.get(kind)
        return self.model(kind)  # waits for a warm-up under way (same lock)

    def model(self, kind: str) -> KindModel:
        if self.vectors is None:
            raise ValueError("no encoder: the classifier needs vectors")
        with self._fit_lock:
            if kind not in self._models:
                rows = [s for s in self.labelled if s.kind == kind]
                self._models[kind] = fit_classifier(
                    self.taxonomy,
                    kind,
                    [s.text for s in rows],
                    [s.theme for s in rows],
                    self.vectors,
                )
            return self._models[kind]

    def reviewed(self, text: str, kind: str) -> str | None:
        """The reviewed label of `text`, or of the one labelled statement it contains (the
        labels were made on an older cutting, which split « … ? la durée de … » in two; the
        longest one it contains, if any)."""
        key = normalise(text)
        found = self.known.get((kind, key))
        if found is not None:
            return found
        inside = [
            (len(known), theme)
            for (k, known), theme in self.known.items()
            if k == kind and len(known) >= 20 and f" {known} " in f" {key} "
        ]
        return max(inside)[1] if inside else None  # the longest one it contains

    def themes(self, texts: Sequence[str], kind: str) -> list[str]:
        """One theme key per text (`kind` is « limite » or « perspective »); each text is
        themed once per instance (the corpus views ask again for every scope)."""
        todo = list(dict.fromkeys(t for t in texts if (kind, t) not in self._memo))
        found = [self.reviewed(t, kind) for t in todo]
        unknown = [t for t, f in zip(todo, found, strict=True) if f is None]
        if unknown:
            model = self._ready(kind)
            if model is not None and self.vectors is not None:
                guesses = model.predict(unknown, self.vectors(unknown))
            else:
                guesses = [self.by_stems(t, kind) for t in unknown]
            guessed = iter(guesses)
            found = [f if f is not None else next(guessed) for f in found]
        if len(self._memo) > MEMO_SIZE:
            self._memo.clear()
        self._memo.update(((kind, t), f or OTHER) for t, f in zip(todo, found, strict=True))
        return [self._memo.get((kind, t)) or self._one(t, kind) for t in texts]

    def _one(self, text: str, kind: str) -> str:
        return self.themes([text], kind)[0]  # only if the memo was cleared meanwhile

    def label(self, kind: str, key: str) -> str:
        return self.taxonomy.label(kind, key)


_BY_ENGINE: weakref.WeakKeyDictionary[object, StatementThemes] = weakref.WeakKeyDictionary()
_BY_ENGINE_LOCK = threading.Lock()
_WITHOUT_ENCODER: list[StatementThemes] = []


def themes_for(
    engine: Engine | None, *, wait: bool = False, cache_dir: Path | None = None
) -> StatementThemes:
    """The statement themes of an engine (its first encoder, its lock), made once per engine
    (vectors kept on disk in `cache_dir`, by default the engine's `statement_cache`, if
    given on that first call); `wait=True` fits
    the classifier before returning (CLI, reports), else on the first new statement.
    Without an engine: no vectors, themes from the labels and the definitions' stems."""
    with _BY_ENGINE_LOCK:
        if engine is None:
            if not _WITHOUT_ENCODER:
                _WITHOUT_ENCODER.append(StatementThemes(None))
            return _WITHOUT_ENCODER[0]
        if engine not in _BY_ENGINE:
            encoder = engine.recommender.encoders[0]
            # Engine._lock is the lock every search holds while it encodes.
            cache_dir = cache_dir or engine.statement_cache
            _BY_ENGINE[engine] = StatementThemes(encoder, cache_dir=cache_dir, lock=engine._lock)
        themes = _BY_ENGINE[engine]
    if wait:
        themes.fit()
    return themes

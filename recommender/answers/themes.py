"""The theme of a limit or perspective statement, by meaning.

The taxonomy and the reviewed labels live in `data/synthesis/` (answers/taxonomy.py). A
statement of the labelled set, found by its normalised text (case, accents, apostrophes,
spaces and end punctuation ignored), keeps its reviewed label. Any other statement is
classified by the softmax regression of answers/theme_model.py over its vectors by the
engine's encoder and by multilingual USE (when installed), plus the stems it shares with
each theme's definition, trained on the labelled statements, the definitions and the
statements written from the definitions alone (written.json; bench/theme_classifier.py,
docs/EVALUATION.md).

Vectors are cached in memory and, when a directory is given, on disk per encoder; the
classifier is fitted on first need (about 700 short texts to embed once per encoder).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Sequence
from pathlib import Path

from embeddings.base import Encoder, EncoderUnavailable
from recommender.answers.taxonomy import (
    KINDS,
    OTHER,
    SYNTHESIS_DIR,
    Labelled,
    Taxonomy,
    Theme,
    load_labelled,
    load_written,
    normalise,
)
from recommender.answers.theme_model import (
    JointVectors,
    KindModel,
    SoftmaxRegression,
    StatementVectors,
    fit_classifier,
)
from recommender.index.lexical import analyze
from recommender.search.service import Engine

__all__ = [
    "KINDS",
    "OTHER",
    "SYNTHESIS_DIR",
    "JointVectors",
    "KindModel",
    "Labelled",
    "SoftmaxRegression",
    "StatementThemes",
    "StatementVectors",
    "Taxonomy",
    "Theme",
    "fit_classifier",
    "load_labelled",
    "normalise",
    "second_encoder",
    "themes_for",
]

MEMO_SIZE = 500_000  # themed statements remembered per instance
SECOND_ENCODER = "use"  # beside the engine's: lifts cross-validated macro-F1 (EVALUATION.md)


class StatementThemes:
    """Themes and vectors of statements: reviewed labels first, the classifier otherwise.

    Without an encoder (`encoder=None`) there are no vectors, and a new statement gets the
    theme whose definition shares most stems with it. With an encoder the classifier is
    fitted on the first new statement (~900 short texts to embed once, then cached on disk), or
    ahead by `warm()` in a thread (a start-up or an index reload calls it): a statement never
    waits for less, so the same cards always give the same synthesis. `second`: another
    encoder whose vectors the classifier reads beside the engine's (themes_for: USE).
    """

    def __init__(
        self,
        encoder: Encoder | None,
        directory: Path = SYNTHESIS_DIR,
        cache_dir: Path | None = None,
        *,
        lock: threading.Lock | None = None,
        second: Encoder | None = None,
        second_lock: threading.Lock | None = None,
    ) -> None:
        self.taxonomy = Taxonomy.load(directory)
        self.labelled = load_labelled(directory)
        self.written = load_written(self.taxonomy, directory)
        # `vectors` (the engine's encoder) also merge statements by meaning (synthesis.py);
        # the classifier reads them beside the `second` encoder's, when there is one.
        self.vectors = StatementVectors(encoder, cache_dir, lock) if encoder else None
        self.classifier_vectors: StatementVectors | JointVectors | None = self.vectors
        if self.vectors is not None and second is not None:
            other = StatementVectors(second, cache_dir, second_lock)
            self.classifier_vectors = JointVectors([self.vectors, other])
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
                    self.classifier_vectors or self.vectors,
                    written=self.written,
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
            if model is not None and self.classifier_vectors is not None:
                guesses = model.predict(unknown, self.classifier_vectors(unknown))
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
    given on that first call), with USE beside it (`second_encoder`); `wait=True` fits
    the classifier before returning (CLI, reports), else on the first new statement.
    Without an engine: no vectors, themes from the labels and the definitions' stems."""
    with _BY_ENGINE_LOCK:
        if engine is None:
            if not _WITHOUT_ENCODER:
                _WITHOUT_ENCODER.append(StatementThemes(None))
            return _WITHOUT_ENCODER[0]
        if engine not in _BY_ENGINE:
            encoder = engine.recommender.encoders[0]
            second, second_lock = second_encoder(engine)
            # Engine._lock is the lock every search holds while it encodes.
            cache_dir = cache_dir or engine.statement_cache
            _BY_ENGINE[engine] = StatementThemes(
                encoder,
                cache_dir=cache_dir,
                lock=engine._lock,
                second=second,
                second_lock=second_lock,
            )
        themes = _BY_ENGINE[engine]
    if wait:
        themes.fit()
    return themes


def second_encoder(engine: Engine) -> tuple[Encoder | None, threading.Lock | None]:
    """The encoder the classifier reads beside the engine's (USE) and the lock to encode
    with: the engine's lock if the engine searches with it too. None when it is not
    installed, or when the engine's encoder is the tests' fake one (kept self-contained)."""
    from embeddings.registry import get_encoder

    first = engine.recommender.encoders[0]
    if first.id.startswith("fake"):
        return None, None
    try:
        second = get_encoder(SECOND_ENCODER)
    except EncoderUnavailable:
        return None, None
    if second.id == first.id:
        return None, None
    shared = next((e for e in engine.recommender.encoders if e.id == second.id), None)
    return (shared, engine._lock) if shared is not None else (second, None)

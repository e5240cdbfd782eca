"""The library's front door: load data, index and encoders once; answer raw user input.

Faces (CLI, app, reports) call `Engine.search` / `Engine.similar`; user mistakes become
`QueryError` with a French message, never a stack trace.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from embeddings import get_encoder
from embeddings.base import Encoder, TextKind
from recommender.core.config import Settings
from recommender.index.chunks import ChunkField, field_texts
from recommender.index.directory import IndexInvalid, LoadedIndex, load_index_for
from recommender.records.records import Action
from recommender.search.calibration import Calibration
from recommender.search.filters import NO_FILTERS, Filters
from recommender.search.glossary import EMPTY, Glossary
from recommender.search.need import clarifying_question, understand
from recommender.search.search import MAX_QUERY_CHARS, Recommender, SearchConfig, SearchResult

CALIBRATION_FILE = "calibration.json"
# Encoders are cached per process (embeddings.get_encoder) and their C/NumPy engines are not
# re-entrant: engines sharing them (the app's old and reloaded engine) share this lock.
_SEARCH_LOCK = threading.Lock()

log = logging.getLogger("reco")


class QueryError(ValueError):
    """The user's input cannot be searched; the message says what to do."""


@dataclass(frozen=True)
class PreparedQuery:
    text: str
    notes: tuple[str, ...]


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
# Invisible format characters (zero-width, bidi marks, soft hyphen, BOM) split words:
# « jar\u200bdin » must match « jardin ». Removed, not replaced by a space.
_INVISIBLE = re.compile(r"[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")


def prepare_query(raw: str, max_chars: int = MAX_QUERY_CHARS) -> PreparedQuery:
    """Clean a user's text: control characters out, spaces folded, very long text cut."""
    text = _INVISIBLE.sub("", unicodedata.normalize("NFC", raw or ""))
    text = " ".join(_CONTROL.sub(" ", text).split())
    if not text:
        raise QueryError("Le besoin est vide : décrivez en quelques mots la situation locale.")
    if not any(c.isalnum() for c in text):
        raise QueryError(
            "Le besoin ne contient aucun mot (seulement des symboles ou des émojis) : "
            "décrivez la situation avec des mots."
        )
    notes: list[str] = []
    if len(text) > max_chars:
        notes.append(
            f"Texte très long ({len(text):,} caractères) : seuls les {max_chars:,} premiers "
            "ont été utilisés.".replace(",", " ")
        )
        text = text[:max_chars].rsplit(" ", 1)[0]
    return PreparedQuery(text, tuple(notes))


def check_top(top: int, available: int) -> tuple[int, list[str]]:
    if top < 1:
        raise QueryError("Le nombre de résultats demandé doit être au moins 1.")
    if top > available:
        return available, [f"Seulement {available} actions dans la base : toutes sont listées."]
    return top, []


class Engine:
    """Everything a face needs to answer; thread-safe for concurrent searches."""

    def __init__(self, recommender: Recommender, statement_cache: Path | None = None) -> None:
        self.recommender = recommender
        self.statement_cache = statement_cache  # where answers/themes.py keeps its vectors
        self._lock = _SEARCH_LOCK

    @classmethod
    def load(
        cls,
        settings: Settings,
        config: SearchConfig | None = None,
        encoders: Sequence[Encoder] | None = None,
    ) -> Engine:
        chosen = (
            list(encoders)
            if encoders is not None
            else [get_encoder(spec, models_dir=settings.models_dir) for spec in settings.encoders]
        )
        try:
            index = load_index_for(settings.index_dir, settings.data_path, [e.id for e in chosen])
        except IndexInvalid:
            raise
        except ValueError as exc:  # FileNotFoundError (no data yet) is left to the caller
            raise IndexInvalid(
                f"{exc} : corrigez ce fichier ou relancez `reco ingest`, puis `reco build`."
            ) from exc
        glossary = (
            Glossary.load(settings.glossary_path) if settings.glossary_path.is_file() else EMPTY
        )
        calibration = _load_calibration(settings.data_path.parent / CALIBRATION_FILE)
        recommender = Recommender(index, chosen, glossary, config, calibration)
        return cls(recommender, statement_cache=settings.statements_cache)

    @staticmethod
    def sources(settings: Settings) -> tuple[Path, ...]:
        """The files and directories `load` reads (besides models): reload when they change."""
        calibration = settings.data_path.parent / CALIBRATION_FILE
        return (settings.index_dir, settings.data_path, settings.glossary_path, calibration)

    @property
    def index(self) -> LoadedIndex:
        return self.recommender.index

    @property
    def actions(self) -> tuple[Action, ...]:
        return self.recommender.actions

    def search(self, raw: str, filters: Filters = NO_FILTERS, top: int = 5) -> SearchResult:
        return self.search_many([raw], filters, top)[0]

    def search_many(
        self, raws: Sequence[str], filters: Filters = NO_FILTERS, top: int = 5
    ) -> list[SearchResult]:
        """Several needs at once (one encoder call per model): bad lines raise QueryError."""
        prepared = [prepare_query(raw) for raw in raws]
        top, top_notes = check_top(top, len(self.actions))
        with self._lock:
            vectors = self.recommender.encode_queries([p.text for p in prepared])
            results = [
                self.recommender.rank(p.text, v, filters, top)
                for p, v in zip(prepared, vectors, strict=True)
            ]
        return [
            replace(
                r,
                notes=(*p.notes, *top_notes, *r.notes),
                suggestion=self._suggestion(r) if r.no_match else "",
            )
            for p, r in zip(prepared, results, strict=True)
        ]

    def _suggestion(self, result: SearchResult) -> str:
        return clarifying_question(understand(result.query, self.actions))

    def similar(self, action_id: str, filters: Filters = NO_FILTERS, top: int = 5) -> SearchResult:
        """« Plus comme ceci » : actions closest to a given one (itself and copies excluded)."""
        action = self.recommender.index.action(action_id)
        if action is None:
            raise QueryError(f"Aucune action n'a l'identifiant « {action_id} ».")
        top, notes = check_top(top, len(self.actions) - 1)
        text = field_texts(action)[ChunkField.SUMMARY]
        exclude = frozenset({action.id, *(d.id for d in action.duplicates)})
        with self._lock:
            vectors = [e.encode([text], TextKind.PASSAGE) for e in self.recommender.encoders]
            result = self.recommender.rank(text, vectors, filters, top, exclude)
        return replace(result, notes=(*notes, *result.notes))


def _load_calibration(path: Path) -> Calibration | None:
    """The saved match-level calibration; a missing or outdated file means defaults."""
    if not path.is_file():
        return None
    try:
        return Calibration.load(path)
    except (OSError, ValueError, TypeError, KeyError) as exc:  # unreadable, or another format
        # Levels fall back to defaults until `reco calibrate` runs again: say so in the log.
        log.warning("calibration ignorée (%s illisible : %r) : niveaux par défaut", path, exc)
        return None

"""Shared pieces of the web app: the engine holder, error wrapping, texts."""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from embeddings import EncoderUnavailable
from recommender.answers.projection import (
    MapPoint,
    action_map,
)
from recommender.answers.themes import themes_for
from recommender.core.fingerprint import Fingerprint, fingerprint
from recommender.core.text import md
from recommender.index.directory import FIX, IndexInvalid
from recommender.search.service import Engine, QueryError

log = logging.getLogger("reco.app")


EXAMPLES = (
    "Les mamans avec des bébés restent seules chez elles",
    "Des ados traînent le soir sans activité dans le quartier",
    "Aider les familles à faire leurs démarches en ligne",
    "Rompre l'isolement des personnes âgées à la campagne",
)
WELCOME = (
    "**Bonjour !** Décrivez en une ou deux phrases un besoin de votre territoire : "
    "**qui** est concerné, **où**, et **ce qui manque**. Je vous montre des actions "
    "menées par d'autres centres sociaux, avec leurs *limites* et leurs *perspectives*.\n\n"
    "Ensuite, précisez : « plutôt pour les ados », « en milieu rural », « seulement celles "
    "en cours », « dans le 62 », « plus comme la 2 », « montre la fiche 3 en entier » "
    "ou « recommence ». Exemples (cliquez) :"
)
# Bring the last user message to the top of the chat, so an answer is read from its start.
SCROLL = """() => { setTimeout(() => {
  const rows = document.querySelectorAll('#chat .user-row');
  const row = rows[rows.length - 1], wrap = row && row.closest('.bubble-wrap');
  if (wrap) wrap.scrollTop += row.getBoundingClientRect().top - wrap.getBoundingClientRect().top;
}, 150); }"""
SEARCHING = "*Je cherche des actions proches…*"
UNEXPECTED = "Une erreur inattendue s'est produite. Réessayez ou reformulez votre besoin."
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
FORMATS = {"HTML": ".html", "Excel": ".xlsx", "CSV": ".csv", "Markdown": ".md"}
MAP_COLUMNS = ["x", "y", "Dimension", "Titre", "Structure", "Département"]
PRIVATE: dict[str, Any] = {"api_visibility": "private"}  # UI-only events: not in the API
TABLE_COLUMNS = ["Titre", "Structure", "Département", "Dimension", "Statut", "Identifiant"]


class EngineUnavailable(RuntimeError):
    """The engine cannot be loaded; the message (French) says what to do."""


@dataclass(frozen=True)
class Served:
    """The engine to answer with; `notice` (French Markdown) is set when it is out of date."""

    engine: Engine
    notice: str = ""


class EngineHolder:
    """The process's engine: loaded on first use, reloaded when its files change on disk.

    `watched` are the files and directories the factory reads (`Engine.sources`); with none,
    the engine is loaded once. When they change (`reco build`, `reco ingest`, a deleted or
    damaged file), the next request reloads: on success the new engine replaces the old one;
    on failure the engine in memory keeps answering with a notice saying why, and the load
    is tried again only once the files change again. Thread-safe: one load at a time, other
    requests meanwhile use the engine in place, and each gets a whole engine, old or new.
    """

    def __init__(self, factory: Callable[[], Engine], watched: Sequence[Path] = ()) -> None:
        self._factory = factory
        self._watched = tuple(watched)
        self._lock = threading.Lock()  # guards the fields below
        self._reloading = threading.Lock()  # one change check (and reload) at a time
        self._points_lock = threading.Lock()
        self._engine: Engine | None = None
        self._seen: Fingerprint = ()  # the watched files as they were before the last load
        self._loaded_at = datetime.now()
        self._problem = ""  # why the files on disk cannot be loaded; "" when they were
        self._points: tuple[Engine, list[MapPoint]] | None = None

    def __call__(self) -> Engine:
        return self.served().engine

    def served(self) -> Served:
        """The current engine and its notice; loads it first, reloads it if files changed."""
        self._load_first()
        self._reload_if_changed()
        with self._lock:
            assert self._engine is not None  # set by _load_first, never unset
            return Served(self._engine, self._notice())

    @property
    def notice(self) -> str:
        """The notice of the last request (no check, no load): for the page-load banner."""
        with self._lock:
            return self._notice()

    def _notice(self) -> str:
        if not self._problem:
            return ""
        return (
            f"**Attention : l'index sur disque ne peut plus être chargé** ({md(self._problem)}). "
            "Les réponses viennent de la version gardée en mémoire, chargée le "
            f"{self._loaded_at:%d/%m à %H:%M}. Lancez `reco build` pour réparer l'index : "
            "l'application le reprendra sans redémarrer."
        )

    def _load_first(self) -> None:
        with self._lock:
            if self._engine is not None:
                return
            seen = fingerprint(self._watched)
            try:
                self._engine = self._factory()
            except Exception as exc:  # shown to the user, never as a stack trace
                log.exception("engine loading failed")
                raise EngineUnavailable(_not_ready(exc)) from exc
            self._seen, self._loaded_at, self._problem = seen, datetime.now(), ""

    def _reload_if_changed(self) -> None:
        if not self._watched or not self._reloading.acquire(blocking=False):
            return  # nothing to watch, or another request is checking: use the engine in place
        try:
            now = fingerprint(self._watched)  # taken before loading: a change during it counts
            with self._lock:
                if now == self._seen:
                    return
            log.info("index or data files changed on disk: reloading the engine")
            try:
                engine = self._factory()
            except Exception as exc:  # the engine in memory keeps serving; the notice says why
                _log_reload_failure(exc)
                with self._lock:
                    self._seen, self._problem = now, _reload_problem(exc)
                return
            with self._lock:
                self._engine, self._seen = engine, now
                self._loaded_at, self._problem = datetime.now(), ""
            # The new engine's statement themes are fitted ahead, in a thread: otherwise the
            # first answer after a reload waits for the fit (~3.5 s, vectors cached on disk).
            themes_for(engine).warm()
            with self._points_lock:
                self._points = None  # drop the old engine's map (and the old engine with it)
        finally:
            self._reloading.release()

    def map_points(self) -> list[MapPoint]:
        """The 2-D map of the current engine's actions, computed once per engine."""
        engine = self()
        with self._points_lock:
            if self._points is None or self._points[0] is not engine:
                self._points = (engine, action_map(engine.index))
            return self._points[1]

    def warm(self) -> threading.Thread:
        """Load the engine, encode one need and fit the statement themes in the background
        (fast first answer; otherwise the first card with a statement outside the reviewed
        labels waits for the fit: 3–5 s, 20 s when no vector is cached yet)."""

        def run() -> None:
            with contextlib.suppress(EngineUnavailable, QueryError):
                engine = self()
                engine.search(EXAMPLES[0])
                themes_for(engine).fit()

        thread = threading.Thread(target=run, name="engine-warm-up", daemon=True)
        thread.start()
        return thread


def with_notice(notice: str, text: str) -> str:
    """`text` (Markdown) preceded by the holder's notice, if any."""
    return f"{notice}\n\n---\n\n{text}" if notice else text


def _log_reload_failure(exc: Exception) -> None:
    if isinstance(exc, IndexInvalid | EncoderUnavailable | FileNotFoundError):
        log.warning("engine reload failed, still serving the engine in memory: %s", exc)
    else:
        log.exception("engine reload failed, still serving the engine in memory")


def _reload_problem(exc: Exception) -> str:
    """What is wrong with the files on disk, in French, without the fix (the notice gives it)."""
    if isinstance(exc, IndexInvalid):
        return str(exc).removesuffix(f" : {FIX}.")
    if isinstance(exc, EncoderUnavailable):
        return str(exc)
    if isinstance(exc, FileNotFoundError):
        return f"fichier introuvable : {exc.filename}"
    return "erreur inattendue, détails dans le journal du serveur"


def _not_ready(exc: Exception) -> str:
    """A French reason; library errors (index, encoder) already speak French."""
    if isinstance(exc, IndexInvalid | EncoderUnavailable):
        reason = str(exc)
    elif isinstance(exc, FileNotFoundError):
        reason = f"fichier introuvable : {exc.filename} (lancez `make run` ou `reco ingest`)"
    else:
        reason = "erreur au chargement (détails dans le journal du serveur)"
    return f"Le moteur de recherche n'est pas prêt : {reason}"


def safely(default: Callable[[str], Any]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Turn engine or unexpected errors of a handler into a French message."""

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return fn(*args, **kwargs)
            except (EngineUnavailable, QueryError) as exc:
                return default(md(str(exc)))
            except Exception:
                log.exception("handler %s failed", fn.__name__)
                return default(UNEXPECTED)

        return wrapper

    return decorate


# ---- chat ----------------------------------------------------------------------------------

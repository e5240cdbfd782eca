"""Shared pieces of the web app: the engine holder, error wrapping, texts."""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
from collections.abc import Callable
from typing import Any

from embeddings import EncoderUnavailable
from recommender.answer import md
from recommender.index import IndexInvalid
from recommender.projection import (
    MapPoint,
    action_map,
)
from recommender.service import Engine, QueryError

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


class EngineHolder:
    """Loads the engine once per process, on first use; thread-safe; retried after a failure."""

    def __init__(self, factory: Callable[[], Engine]) -> None:
        self._factory = factory
        self._lock = threading.Lock()
        self._engine: Engine | None = None
        self._points: list[MapPoint] | None = None

    def __call__(self) -> Engine:
        with self._lock:
            if self._engine is None:
                try:
                    self._engine = self._factory()
                except Exception as exc:  # shown to the user, never as a stack trace
                    log.exception("engine loading failed")
                    raise EngineUnavailable(_not_ready(exc)) from exc
            return self._engine

    def map_points(self) -> list[MapPoint]:
        """The 2-D map of the actions, computed once per process."""
        engine = self()
        with self._lock:
            if self._points is None:
                self._points = action_map(engine.index)
            return self._points

    def warm(self) -> threading.Thread:
        """Load the engine and encode one need in the background (fast first answer)."""

        def run() -> None:
            with contextlib.suppress(EngineUnavailable, QueryError):
                self().search(EXAMPLES[0])

        thread = threading.Thread(target=run, name="engine-warm-up", daemon=True)
        thread.start()
        return thread


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

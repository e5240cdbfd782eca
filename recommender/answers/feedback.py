"""Ratings of chat answers (useful / not useful, optional comment), stored in SQLite.

The database is created on first use. A busy or read-only database never raises: the caller
gets a `Saved` with `ok=False` and a French message to show, and the chat keeps working.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ENV_VARIABLE = "RECO_FEEDBACK_DB"
DEFAULT_PATH = Path("var/feedback.sqlite3")
USEFUL, NOT_USEFUL = "utile", "pas utile"
MAX_TEXT = 4000
SCHEMA = """
CREATE TABLE IF NOT EXISTS ratings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created TEXT NOT NULL,
    query TEXT NOT NULL,
    filters TEXT NOT NULL,
    result_ids TEXT NOT NULL,
    rating TEXT NOT NULL CHECK (rating IN ('utile', 'pas utile')),
    comment TEXT NOT NULL DEFAULT ''
)
"""
BUSY = (
    "Votre avis n'a pas pu être enregistré : la base des avis est occupée. "
    "Réessayez dans un instant (la recherche, elle, continue de fonctionner)."
)


def feedback_path(env: Mapping[str, str] | None = None) -> Path:
    """RECO_FEEDBACK_DB, or var/feedback.sqlite3."""
    env = os.environ if env is None else env
    return Path(env[ENV_VARIABLE]) if env.get(ENV_VARIABLE) else DEFAULT_PATH


@dataclass(frozen=True)
class Rating:
    query: str
    filters: Mapping[str, Sequence[str]]
    result_ids: tuple[str, ...]
    useful: bool
    comment: str = ""
    created: str = ""  # ISO 8601 (UTC), set when stored


@dataclass(frozen=True)
class Saved:
    ok: bool
    message: str  # French, for the user


class FeedbackStore:
    """Append-only ratings table; each call opens its own short-lived connection."""

    def __init__(
        self, path: Path, *, timeout: float = 1.0, retries: int = 3, pause: float = 0.2
    ) -> None:
        self.path = Path(path)
        self.timeout, self.retries, self.pause = timeout, retries, pause

    def add(self, rating: Rating) -> Saved:
        """Store a rating; retried briefly when the database is locked, never raises."""
        row = (
            datetime.now(UTC).isoformat(timespec="seconds"),
            rating.query[:MAX_TEXT],
            json.dumps({k: list(v) for k, v in rating.filters.items()}, ensure_ascii=False),
            json.dumps(list(rating.result_ids)),
            USEFUL if rating.useful else NOT_USEFUL,
            rating.comment.strip()[:MAX_TEXT],
        )
        for attempt in range(self.retries):
            try:
                self._insert(row)
                return Saved(True, "Merci, votre avis est enregistré.")
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc):
                    return Saved(False, self._failure(exc))
                if attempt + 1 < self.retries:
                    time.sleep(self.pause * (attempt + 1))
            except (sqlite3.Error, OSError) as exc:
                return Saved(False, self._failure(exc))
        return Saved(False, BUSY)

    def _insert(self, row: tuple[str, ...]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path, timeout=self.timeout)
        try:
            with connection:
                connection.execute(SCHEMA)
                connection.execute(
                    "INSERT INTO ratings (created, query, filters, result_ids, rating, comment)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    row,
                )
        finally:
            connection.close()

    def _failure(self, exc: BaseException) -> str:
        text = str(exc).lower()
        if "readonly" in text or "read-only" in text or isinstance(exc, PermissionError):
            return (
                f"Votre avis n'a pas pu être enregistré : le fichier des avis ({self.path}) "
                "est en lecture seule. Prévenez la personne qui gère l'outil."
            )
        return (
            f"Votre avis n'a pas pu être enregistré : le fichier des avis ({self.path}) "
            "n'est pas accessible. Prévenez la personne qui gère l'outil."
        )

    def all(self) -> list[Rating]:
        """Every stored rating, oldest first (empty when the database does not exist)."""
        if not self.path.is_file():
            return []
        connection = sqlite3.connect(self.path, timeout=self.timeout)
        try:
            rows = connection.execute(
                "SELECT query, filters, result_ids, rating, comment, created FROM ratings "
                "ORDER BY id"
            ).fetchall()
        finally:
            connection.close()
        return [
            Rating(q, json.loads(f), tuple(json.loads(ids)), r == USEFUL, c, created)
            for q, f, ids, r, c, created in rows
        ]


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text

"""Ratings in SQLite: created on first use, read back; busy or read-only never raises."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from recommender.answers.feedback import DEFAULT_PATH, FeedbackStore, Rating, feedback_path

RATING = Rating(
    query="les mamans avec des bébés",
    filters={"departement": ["Yvelines"]},
    result_ids=("act-1", "act-2"),
    useful=True,
    comment="  Très utile, merci !  ",
)


def test_path_from_environment():
    assert feedback_path({}) == DEFAULT_PATH == Path("var/feedback.sqlite3")
    assert feedback_path({"RECO_FEEDBACK_DB": "/tmp/x.db"}) == Path("/tmp/x.db")


def test_created_on_first_use_and_read_back(tmp_path):
    path = tmp_path / "var" / "sub" / "feedback.sqlite3"
    store = FeedbackStore(path)
    assert store.all() == []
    assert not path.exists()
    saved = store.add(RATING)
    assert saved.ok and "Merci" in saved.message
    store.add(Rating("jardin", {}, (), useful=False))
    first, second = store.all()
    assert first.query == RATING.query and first.useful is True
    assert first.filters == {"departement": ["Yvelines"]}
    assert first.result_ids == ("act-1", "act-2")
    assert first.comment == "Très utile, merci !"
    assert first.created.endswith("+00:00")
    assert second.useful is False and second.comment == ""
    with sqlite3.connect(path) as connection:
        ratings = [r for (r,) in connection.execute("SELECT rating FROM ratings ORDER BY id")]
    assert ratings == ["utile", "pas utile"]


def test_locked_database_is_retried_then_reported(tmp_path):
    path = tmp_path / "feedback.sqlite3"
    store = FeedbackStore(path, timeout=0.1, retries=3, pause=0.05)
    assert store.add(RATING).ok
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        started = time.monotonic()
        saved = store.add(RATING)  # must not raise
        elapsed = time.monotonic() - started
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert not saved.ok
    assert "occupée" in saved.message and "Réessayez" in saved.message
    assert 0.3 <= elapsed < 5  # three attempts with a short timeout, then gives up
    assert store.add(RATING).ok  # works again once the lock is gone
    assert len(store.all()) == 2


def test_lock_released_during_retries_succeeds(tmp_path):
    path = tmp_path / "feedback.sqlite3"
    store = FeedbackStore(path, timeout=0.05, retries=5, pause=0.1)
    assert store.add(RATING).ok
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN EXCLUSIVE")
    threading.Timer(0.15, lambda: (holder.execute("ROLLBACK"), holder.close())).start()
    assert store.add(RATING).ok
    assert len(store.all()) == 2


def test_parent_is_a_file_gives_a_french_message(tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x", encoding="utf-8")
    saved = FeedbackStore(blocker / "feedback.sqlite3").add(RATING)
    assert not saved.ok
    assert saved.message.startswith("Votre avis n'a pas pu être enregistré")
    assert "accessible" in saved.message


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions")
def test_read_only_file_gives_a_french_message(tmp_path):
    path = tmp_path / "feedback.sqlite3"
    FeedbackStore(path).add(RATING)
    path.chmod(0o444)
    tmp_path.chmod(0o555)
    try:
        saved = FeedbackStore(path).add(RATING)
    finally:
        tmp_path.chmod(0o755)
        path.chmod(0o644)
    assert not saved.ok and "lecture seule" in saved.message


def test_read_only_database_gives_a_french_message(tmp_path, monkeypatch):
    """What SQLite says for a read-only file (simulated: tests may run as root)."""
    path = tmp_path / "feedback.sqlite3"
    store = FeedbackStore(path)
    assert store.add(RATING).ok

    def readonly(*args, **kwargs):
        raise sqlite3.OperationalError("attempt to write a readonly database")

    monkeypatch.setattr(store, "_insert", readonly)
    saved = store.add(RATING)
    assert not saved.ok
    assert "lecture seule" in saved.message and str(path) in saved.message


def test_really_read_only_connection(tmp_path, monkeypatch):
    """A database opened read-only by SQLite itself (works as root too)."""
    path = tmp_path / "feedback.sqlite3"
    assert FeedbackStore(path).add(RATING).ok
    real_connect = sqlite3.connect

    def read_only(database, *args, **kwargs):
        return real_connect(f"file:{database}?mode=ro", *args, uri=True, **kwargs)

    monkeypatch.setattr(sqlite3, "connect", read_only)
    saved = FeedbackStore(path).add(RATING)
    assert not saved.ok and "lecture seule" in saved.message

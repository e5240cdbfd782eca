"""Index faults while the app runs: deleted or damaged files, data re-ingested, index rebuilt.

The engine in memory keeps answering with a French notice; `reco build` repairs it and the
app takes the new index without restarting (ui.common.EngineHolder).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from bench.fake_index import build_fake_index, fake_env
from recommender.cli.commands import run_build
from recommender.core.config import Settings
from recommender.core.fingerprint import fingerprint
from recommender.index.directory import IndexInvalid, load_index
from recommender.index.vector_index import IndexKind
from recommender.records.records import load_actions, save_actions
from recommender.search.service import Engine
from tests.test_app_e2e import ROOT, _chat, _client, serve
from tests.test_conversation import NEED
from ui import chat, common, interface, report_tab, trainers

NOTICE = "l'index sur disque ne peut plus être chargé"
NEW_TITLE = "Potager magique des Lucioles"
NO_PROGRESS: Callable[..., None] = lambda *a, **k: None  # noqa: E731


class CountingFactory:
    """Engine.load over `settings`, counting its calls; optionally slow (thread tests)."""

    def __init__(self, settings: Settings, delay: float = 0.0) -> None:
        self.settings = settings
        self.delay = delay
        self.calls = 0
        self._lock = threading.Lock()

    def __call__(self) -> Engine:
        with self._lock:
            self.calls += 1
        time.sleep(self.delay)
        return Engine.load(self.settings)


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("pristine")
    build_fake_index(root)
    return root


@pytest.fixture
def settings(pristine, tmp_path) -> Settings:
    """A private copy of a small fake-encoder index (copying is faster than building)."""
    root = tmp_path / "app"
    shutil.copytree(pristine, root)
    return Settings.from_env(fake_env(root))


def _holder(settings: Settings, delay: float = 0.0) -> tuple[common.EngineHolder, CountingFactory]:
    factory = CountingFactory(settings, delay)
    return common.EngineHolder(factory, Engine.sources(settings)), factory


def _ask(holder: common.EngineHolder, text: str = NEED) -> str:
    return chat._chat(holder, text, None)[0]


def _rename_first(settings: Settings, title: str = NEW_TITLE) -> str:
    """Change the first record's title in the data file (a re-ingest); return its id."""
    actions = load_actions(settings.data_path)
    save_actions(settings.data_path, [replace(actions[0], title=title), *actions[1:]])
    return actions[0].id


def _rebuild(settings: Settings) -> None:
    """What `reco build` does."""
    run_build(settings, IndexKind.AUTO, show_progress=False)


# ---- faults -------------------------------------------------------------------------------


def _delete_index(s: Settings) -> str:
    shutil.rmtree(s.index_dir)
    return "aucun index"


def _truncate_faiss(s: Settings) -> str:
    with (s.index_dir / "dense" / "0.faiss").open("r+b") as handle:
        handle.truncate(100)
    return "endommagé"


def _garbage_manifest(s: Settings) -> str:
    (s.index_dir / "manifest.json").write_text("{ pas du json", encoding="utf-8")
    return "manifeste"


def _garbage_lexical_array(s: Settings) -> str:
    (s.index_dir / "lexical" / "data.csc.index.npy").write_bytes(b"\x00garbage" * 50)
    return "endommagé"


def _garbage_lexical_vocab(s: Settings) -> str:
    (s.index_dir / "lexical" / "vocab.index.json").write_text("[1, 2", encoding="utf-8")
    return "endommagé"


def _data_reingested(s: Settings) -> str:
    _rename_first(s)
    return "ont changé"


def _garbage_data(s: Settings) -> str:
    with s.data_path.open("a", encoding="utf-8") as handle:
        handle.write("{ ligne abîmée\n")
    return "enregistrement illisible"


FAULTS = {
    "index-deleted": _delete_index,
    "faiss-truncated": _truncate_faiss,
    "manifest-garbage": _garbage_manifest,
    "lexical-array-garbage": _garbage_lexical_array,
    "lexical-vocab-garbage": _garbage_lexical_vocab,
    "data-reingested": _data_reingested,
    "data-garbage": _garbage_data,
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_fault_keeps_answering_with_a_notice_then_build_repairs(settings, fault):
    holder, factory = _holder(settings)
    first = _ask(holder)
    assert "**Limites**" in first and NOTICE not in first
    with pytest.raises(IndexInvalid):  # the fault is real: a fresh load fails
        reason = FAULTS[fault](settings)
        Engine.load(settings)
    answer = _ask(holder)
    assert NOTICE in answer and reason in answer and "reco build" in answer
    assert "**Limites**" in answer and "Traceback" not in answer  # still answers
    assert factory.calls == 2
    for _ in range(3):  # the failed load is not retried while the files stay as they are
        assert NOTICE in _ask(holder)
    assert factory.calls == 2 and NOTICE in holder.notice
    if fault == "data-garbage":
        shutil.copyfile(ROOT / "data" / "actions.jsonl", settings.data_path)
    _rebuild(settings)
    repaired = _ask(holder)
    assert NOTICE not in repaired and "**Limites**" in repaired
    assert factory.calls == 3 and holder.notice == ""


def test_unchanged_files_do_not_reload(settings, tmp_path):
    holder, factory = _holder(settings)
    engine = holder()
    (tmp_path / "unrelated.txt").write_text("x", encoding="utf-8")
    (settings.index_dir.parent / "cache" / "other.bin").write_bytes(b"x")  # not watched
    for _ in range(5):
        assert holder() is engine and _ask(holder)
    assert factory.calls == 1


def test_unwatched_holder_loads_once(settings):
    factory = CountingFactory(settings)
    holder = common.EngineHolder(factory)
    engine = holder()
    shutil.rmtree(settings.index_dir)
    assert holder() is engine and holder.notice == "" and factory.calls == 1


def test_rebuilt_index_is_used_without_restart(settings):
    holder, factory = _holder(settings)
    old = holder()
    points = holder.map_points()
    action_id = _rename_first(settings)
    assert NOTICE in _ask(holder) and "ont changé" in holder.notice  # data newer than index
    _rebuild(settings)
    answer = _ask(holder, "potager magique lucioles")
    assert NEW_TITLE in answer and NOTICE not in answer
    new = holder()
    assert new is not old and new.index.action(action_id).title == NEW_TITLE
    assert old.index.action(action_id).title != NEW_TITLE  # the old engine was not touched
    new_points = holder.map_points()
    assert new_points is not points and any(p.action.title == NEW_TITLE for p in new_points)
    assert factory.calls == 3


def test_a_reloaded_engine_fits_its_statement_themes_ahead(settings):
    from recommender.answers.themes import themes_for

    holder, _ = _holder(settings)
    old = holder()
    _rename_first(settings)
    _rebuild(settings)
    new = holder()
    assert new is not old
    themes = themes_for(new)
    assert themes._thread is not None  # warm() started by the reload, not by an answer
    themes._thread.join(timeout=60)
    assert set(themes._models) == {"limite", "perspective"}


def test_trainer_report_and_banner_carry_the_notice(settings, tmp_path):
    holder, _ = _holder(settings)
    first_id = holder().actions[0].id
    shutil.rmtree(settings.index_dir)
    record = trainers._open(holder, first_id, True)
    assert record.startswith("**Attention") and "**Limites**" in record
    similar = trainers._more(holder, first_id, True)
    assert NOTICE in similar and "Actions les plus proches" in similar
    needs = tmp_path / "besoins.txt"
    needs.write_text("jardin partagé\naide aux devoirs\n", encoding="utf-8")
    out, status = report_tab._report(holder, str(needs), "", "HTML", 3, progress=NO_PROGRESS)
    if out is not None:  # the report module is there
        assert "Rapport prêt" in status and NOTICE in status
    banner = interface.on_load(holder, True, "", True, "(tous)", "(tous)", "(tous)", "(tous)")[0]
    assert NOTICE in banner and "reco build" in banner
    _rebuild(settings)
    assert NOTICE not in trainers._open(holder, first_id, True)
    banner = interface.on_load(holder, True, "", True, "(tous)", "(tous)", "(tous)", "(tous)")[0]
    assert banner == ""


def test_no_engine_ever_loaded_is_still_unavailable(settings):
    shutil.rmtree(settings.index_dir)
    holder, factory = _holder(settings)
    with pytest.raises(common.EngineUnavailable, match=r"n'est pas prêt.*reco build"):
        holder()
    assert "n'est pas prêt" in _ask(holder)
    assert factory.calls == 2  # before any engine exists, each request tries again
    _rebuild(settings)
    assert "**Limites**" in _ask(holder) and holder.notice == ""


def test_engine_arrays_are_in_memory_not_mapped(settings):
    """A file rewritten in place must not reach the engine (mmap would crash with SIGBUS)."""
    engine = Engine.load(settings)
    model = engine.index.lexical._model
    arrays = [model.scores[key] for key in ("data", "indices", "indptr")]
    assert not any(isinstance(a, np.memmap) for a in arrays)
    before = engine.search(NEED).hits
    for path in sorted((settings.index_dir / "lexical").glob("*.npy")):
        with path.open("r+b") as handle:
            handle.truncate(10)
    with (settings.index_dir / "dense" / "0.faiss").open("r+b") as handle:
        handle.truncate(10)
    assert [h.action.id for h in engine.search(NEED).hits] == [h.action.id for h in before]


def test_fingerprint_sees_replaced_and_rewritten_files(settings):
    sources = Engine.sources(settings)
    before = fingerprint(sources)
    assert before == fingerprint(sources)
    assert len(before) >= 10  # every file under the index, plus data, glossary, calibration
    manifest = settings.index_dir / "manifest.json"
    manifest.write_text(manifest.read_text(encoding="utf-8") + " ", encoding="utf-8")
    changed = fingerprint(sources)
    assert changed != before
    (settings.data_path.parent / "calibration.json").write_text("{}", encoding="utf-8")
    assert fingerprint(sources) != changed


# ---- interrupted builds --------------------------------------------------------------------


def test_aside_of_a_running_build_is_not_taken_back(settings):
    """Between the two renames of a build's swap, a reload must not restore the old index."""
    aside = settings.index_dir.parent / f".index.old-{os.getpid()}"  # this process: alive
    settings.index_dir.rename(aside)
    with pytest.raises(IndexInvalid, match="aucun index"):
        load_index(settings.index_dir)
    assert aside.is_dir() and not settings.index_dir.exists()
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], check=True,
                          capture_output=True, text=True)  # fmt: skip
    dead = aside.with_name(f".index.old-{done.stdout.strip()}")
    aside.rename(dead)  # a build killed during its swap: restored
    manifest = json.loads((dead / "manifest.json").read_text(encoding="utf-8"))
    assert len(load_index(settings.index_dir).actions) == manifest["n_actions"]
    assert not dead.exists()


# ---- threads -------------------------------------------------------------------------------


def test_concurrent_requests_during_a_change_reload_once(settings):
    holder, factory = _holder(settings, delay=0.3)
    old = holder()
    _rename_first(settings)
    _rebuild(settings)
    start = threading.Barrier(8)
    got: list[Engine] = []

    def request() -> None:
        start.wait(timeout=10)
        got.append(holder())

    threads = [threading.Thread(target=request) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    new = holder()
    assert factory.calls == 2 and new is not old
    assert len(got) == 8 and all(e is old or e is new for e in got) and new in got
    assert new.index.action(old.actions[0].id).title == NEW_TITLE
    assert holder() is new and factory.calls == 2


def test_requests_while_builds_swap_the_index(settings):
    holder, factory = _holder(settings)
    holder()
    errors: list[BaseException] = []
    stop = threading.Event()

    def hammer() -> None:
        while not stop.is_set():
            try:
                engine = holder()
                assert len(engine.actions) == engine.index.manifest["n_actions"]
                assert engine.search(NEED).hits
            except BaseException as exc:  # collected: the test fails with it below
                errors.append(exc)
                return

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for thread in threads:
        thread.start()
    try:
        for n in range(3):
            _rename_first(settings, f"{NEW_TITLE} {n}")
            _rebuild(settings)  # fails if a reload took the aside back during the swap
            time.sleep(0.05)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=20)
    assert errors == []
    assert holder().actions[0].title == f"{NEW_TITLE} 2" and holder.notice == ""
    assert 2 <= factory.calls <= 1 + 3 * 3  # per build: data change, swap instant, new index


# ---- end to end ----------------------------------------------------------------------------


@pytest.mark.slow
def test_server_survives_a_deleted_index_and_takes_the_rebuild(tmp_path):
    env = build_fake_index(tmp_path / "app")
    with serve(env, tmp_path / "app.log") as url:
        client = _client(url)
        first = _chat(client, NEED)
        assert "**Limites**" in first and NOTICE not in first
        shutil.rmtree(env["RECO_INDEX"])
        damaged = _chat(client, NEED)
        assert NOTICE in damaged and "reco build" in damaged and "**Limites**" in damaged
        build = subprocess.run(
            [str(Path(sys.executable).with_name("reco")), "build", "--quiet"],
            cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert build.returncode == 0, build.stderr
        repaired = _chat(client, NEED)
        assert NOTICE not in repaired and "**Limites**" in repaired
    assert "Traceback" not in (tmp_path / "app.log").read_text(encoding="utf-8")

"""Faults and hostile input: a killed build, malformed exports, random text everywhere."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from embeddings.fake import FakeEncoder
from recommender.cli.main import app as cli_app
from recommender.index.build import build_index
from recommender.index.directory import load_index
from recommender.records.export import parse_export
from recommender.records.export_format import ExportError
from recommender.records.ingest import IngestFailed, ingest_paths
from recommender.records.records import load_actions
from recommender.search.service import prepare_query

ROOT = Path(__file__).resolve().parent.parent
ACTIONS = load_actions(ROOT / "data" / "actions.jsonl")

SLOW_BUILD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from embeddings.fake import FakeEncoder
    from recommender.index.build import build_index
    from recommender.records.records import load_actions

    class SlowEncoder(FakeEncoder):
        def encode(self, texts, kind):
            print("batch", flush=True)
            time.sleep(0.2)
            return super().encode(texts, kind)

    actions = load_actions(Path(sys.argv[1]))
    actions = [a.__class__(**{**a.__dict__, "summary": a.summary + " v2"}) for a in actions]
    build_index([a.with_id() for a in actions], [("fake", SlowEncoder())],
                Path(sys.argv[2]), Path(sys.argv[3]), show_progress=False)
    """
)


def test_sigkill_during_build_keeps_previous_index(tmp_path):
    index_dir, cache = tmp_path / "index", tmp_path / "cache"
    build_index(ACTIONS[:30], [("fake", FakeEncoder())], index_dir, cache, show_progress=False)
    before = (index_dir / "manifest.json").read_bytes()
    script = tmp_path / "slow_build.py"
    script.write_text(SLOW_BUILD, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    args = [sys.executable, str(script), str(ROOT / "data" / "actions.jsonl"), str(index_dir)]
    proc = subprocess.Popen([*args, str(cache)], stdout=subprocess.PIPE, env=env, cwd=ROOT)
    try:
        assert proc.stdout is not None
        for _ in range(3):  # wait until the rebuild is really embedding
            assert proc.stdout.readline().strip() == b"batch"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    assert (index_dir / "manifest.json").read_bytes() == before
    loaded = load_index(index_dir, ACTIONS[:30], [FakeEncoder().id])
    assert len(loaded.actions) == 30
    # The killed build left a half-built directory; the next build removes it.
    assert list(tmp_path.glob(".index.building-*"))
    build_index(ACTIONS[:30], [("fake", FakeEncoder())], index_dir, cache, show_progress=False)
    assert not list(tmp_path.glob(".index.building-*"))


def test_malformed_export_never_touches_actions_file(tmp_path):
    good = tmp_path / "actions.jsonl"
    good.write_bytes((ROOT / "data" / "actions.jsonl").read_bytes())
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "bad.txt").write_text("Les actions des centres sociaux\nActions\nTitre\n", "utf-8")
    before = good.read_bytes()
    with pytest.raises(IngestFailed):
        ingest_paths([raw])
    # `reco ingest` is what writes the actions file: run it on the same input, aimed at it.
    result = CliRunner().invoke(cli_app, ["ingest", str(raw), "-o", str(good)])
    assert result.exit_code != 0
    assert "rien n'a été écrit" in result.output
    time.sleep(0.01)
    assert good.read_bytes() == before


TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=0, max_size=400)
LINES = st.lists(
    st.one_of(
        TEXT,
        st.sampled_from(
            [
                "Actions",
                'Actions "Titre"',
                "- Résumé",
                "- Statut de l'action",
                "- En cours",
                "-",
                "DESCRIPTION DE L'ACTION",
                "- Suite de l'action : Perspectives",
                "<script>alert(1)</script>",
            ]
        ),
    ),
    max_size=40,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(LINES)
def test_parser_fuzz_raises_only_export_errors(lines):
    text = "Les actions des centres sociaux\n" + "\n".join(lines)
    try:
        actions = parse_export(text, "fuzz.txt")
    except ExportError as exc:
        assert "fuzz.txt, ligne" in str(exc)
        return
    for action in actions:
        assert action.id.startswith("act-")


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=0, max_size=3000))
def test_query_preparation_never_crashes(raw):
    try:
        prepared = prepare_query(raw)
    except ValueError as exc:  # QueryError: a French message for the user
        assert "besoin" in str(exc).lower()
        return
    assert 0 < len(prepared.text) <= 2000
    assert not any(ord(c) < 32 for c in prepared.text)

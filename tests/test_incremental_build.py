"""A rebuild after a few changed records reuses the previous index's rows for the others
(index/derived.py) and gives the same index as a build from scratch, bit for bit."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from embeddings.fake import FakeEncoder
from recommender.index import analysis, derived
from recommender.index.build import build_index
from recommender.index.directory import load_index
from recommender.index.lexical import LexicalIndex
from recommender.index.term_rows import TermRows
from recommender.records.records import Action, load_actions
from recommender.search.novelty import RecordWords
from tests.test_index import QUERIES, _ranking

DATA = Path(__file__).resolve().parents[1] / "data" / "actions.jsonl"


@pytest.fixture(scope="module")
def versions() -> tuple[list[Action], list[Action], set[str]]:
    """The records, then the same with 3 edited, 1 removed and 1 added; the changed ids."""
    before = load_actions(DATA)[:40]
    after = list(before)
    after[2] = replace(after[2], summary=after[2].summary + " Une phrase ajoutée.")
    after[17] = replace(after[17], limits="Des limites toutes neuves : transport, météo.")
    after[30] = replace(after[30], title=after[30].title + " (bis)", keywords=("Jeunesse",))
    del after[9]
    added = replace(before[5], title="Une action de plus", duplicates=()).with_id()
    after.append(added)
    return before, after, {after[2].id, after[16].id, after[29].id, added.id}


def _build(actions, root: Path):
    return build_index(
        actions, [("fake", FakeEncoder())], root / "index", root / "cache", show_progress=False
    )


def _arrays(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as data:
        return {name: data[name] for name in data.files}


@pytest.fixture(scope="module")
def built(tmp_path_factory, versions):
    before, after, _ = versions
    root = tmp_path_factory.mktemp("incremental")
    _build(before, root / "a")
    stats = _build(after, root / "a")
    _build(after, root / "b")  # from scratch, its own cache
    return root / "a" / "index", root / "b" / "index", stats


def test_rebuild_equals_a_build_from_scratch(built, versions):
    incremental_dir, cold_dir, stats = built
    _, after, changed = versions
    assert stats.reused == len(after) - len(changed)
    incremental, cold = load_index(incremental_dir, after), load_index(cold_dir, after)
    for name in ("passages.npz", "coverage.npz", "words.npz", "lexical/terms.npz"):
        ours, theirs = _arrays(incremental_dir / name), _arrays(cold_dir / name)
        assert ours.keys() == theirs.keys()
        for key in ours:
            assert np.array_equal(ours[key], theirs[key]), (name, key)
            assert ours[key].dtype == theirs[key].dtype, (name, key)
    for query in QUERIES:  # BM25 scores equal bit for bit
        assert np.array_equal(incremental.lexical.scores(query), cold.lexical.scores(query))
    assert list(incremental.chunks) == list(cold.chunks)
    assert incremental.record_words == cold.record_words
    ranking = _ranking(incremental, FakeEncoder())
    assert all(ranking) and ranking == _ranking(cold, FakeEncoder())


def test_rebuild_analyses_only_the_changed_records(tmp_path, versions, monkeypatch):
    before, after, changed = versions
    _build(before, tmp_path)
    (tmp_path / "cache" / analysis.CACHE_NAME).unlink(missing_ok=True)  # no help from it
    analysed: list[str] = []
    cut: list[str] = []

    def counting_analyze(text: str) -> list[str]:
        analysed.append(text)
        return analyze(text)

    def counting_chunks(actions):
        cut.extend(a.id for a in actions)
        return chunk_actions(actions)

    analyze, chunk_actions = analysis.analyze, derived.chunk_actions
    monkeypatch.setattr(analysis, "analyze", counting_analyze)
    monkeypatch.setattr(derived, "chunk_actions", counting_chunks)
    stats = _build(after, tmp_path)
    assert stats.reused == len(after) - len(changed)
    assert sorted(cut) == sorted(changed)
    fields = {
        part
        for a in after
        if a.id in changed
        for part in analysis.coverage_parts(a) + analysis.lexical_parts(a)
    }
    assert analysed and set(analysed) <= fields


def test_a_build_over_an_older_format_starts_from_scratch(tmp_path, versions):
    before, after, _ = versions
    _build(before, tmp_path)
    manifest_path = tmp_path / "index" / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["format_version"] = 1
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    stats = _build(after, tmp_path)
    assert stats.reused == 0
    assert len(load_index(tmp_path / "index", after).actions) == len(after)


def test_stored_record_words_are_those_computed_from_the_records(built, versions):
    _, after, _ = versions
    index = load_index(built[0], after)
    assert index.record_words == RecordWords(after)._vocabulary()
    assert "devoirs" in index.record_words or "jardin" in index.record_words


def test_bm25_from_term_rows_equals_bm25s_own_indexing(versions):
    _, after, _ = versions
    tokens = analysis.TokenCache()
    documents = [tokens.document(analysis.lexical_parts(a)) for a in after] + [[]]
    ours = LexicalIndex.from_rows(TermRows.from_tokens(documents))
    theirs = LexicalIndex.from_tokens(documents)
    for query in QUERIES:
        scores = theirs.scores(query)
        assert scores.any()
        assert np.array_equal(ours.scores(query), scores)

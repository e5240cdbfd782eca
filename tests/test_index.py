"""The persisted index: build, manifest, verification on load, atomic and incremental builds."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from embeddings.base import TextKind
from embeddings.fake import FakeEncoder
from recommender.index import build as build_module
from recommender.index import directory as index_module
from recommender.index.build import build_index
from recommender.index.chunks import chunk_actions, embedding_text, reference_need
from recommender.index.directory import (
    FORMAT_VERSION,
    IndexInvalid,
    LoadedIndex,
    data_hash,
    lexical_document,
    load_index,
    vector_index,
)
from recommender.index.hubness import chunk_owners, hub_prior
from recommender.index.lexical import LexicalIndex
from recommender.index.passage_table import Passages
from recommender.records.records import Action, load_actions
from recommender.search.search import Recommender

DATA = Path(__file__).resolve().parents[1] / "data" / "actions.jsonl"
QUERIES = [
    "aide aux devoirs pour les enfants",
    "les familles isolées du quartier",
    "jardin partagé et alimentation",
    "sorties culturelles pour les seniors",
]


@pytest.fixture(scope="module")
def actions() -> list[Action]:
    return load_actions(DATA)[:20]


def _build(actions, root: Path, encoder=None, cache: str = "cache", **kwargs):
    encoder = encoder or FakeEncoder()
    stats = build_index(
        actions,
        [("fake", encoder)],
        root / "index",
        root / cache,
        show_progress=False,
        **kwargs,
    )
    return stats, encoder


@pytest.fixture(scope="module")
def base(tmp_path_factory, actions) -> Path:
    """A pristine index over the 20 actions; tests copy it before damaging it."""
    root = tmp_path_factory.mktemp("base")
    _build(actions, root)
    return root / "index"


def _copy(base: Path, tmp_path: Path) -> Path:
    target = tmp_path / "index"
    shutil.copytree(base, target)
    return target


def _snapshot(directory: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(directory)): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def _ranking(index: LoadedIndex, encoder) -> list[list[tuple[str, float]]]:
    recommender = Recommender(index, [encoder])
    results = []
    for query in QUERIES:
        vectors = recommender.encode_queries([query])[0]
        result = recommender.rank(query, vectors, top=10)
        results.append([(h.action.id, h.score) for h in result.hits])
    return results


def _in_memory(actions, encoder) -> LoadedIndex:
    """The same index, never written to disk."""
    chunks = chunk_actions(actions)
    titles = {a.id: a.title for a in actions}
    vectors = encoder.encode(
        [embedding_text(c, titles[c.action_id]) for c in chunks], TextKind.PASSAGE
    )
    faiss_index = vector_index.build_faiss(vectors)
    references = encoder.encode([reference_need(a) for a in actions], TextKind.QUERY)
    owner = chunk_owners(chunks, actions)
    hub = hub_prior(references, range(len(actions)), faiss_index, owner, len(actions))
    dense = index_module.DenseChannel(encoder.id, encoder.dim, faiss_index, hub)
    lexical = LexicalIndex.build([lexical_document(a) for a in actions])
    passages = Passages.from_chunks(chunks, [a.id for a in actions])
    return LoadedIndex({}, tuple(actions), passages, lexical, (dense,))


def _leftovers(root: Path) -> list[str]:
    return sorted(
        str(p.relative_to(root))
        for p in root.rglob("*")
        if p.name.startswith(".") or ".building-" in p.name or ".old-" in p.name
    )


def _assert_invalid_message(exc: IndexInvalid) -> None:
    message = str(exc)
    assert "reco build" in message
    assert "index" in message and "lancez" in message  # French, says what to do


# ---- build and load -----------------------------------------------------------------


def test_build_then_load_gives_the_same_results_as_before_saving(base, actions):
    encoder = FakeEncoder()
    loaded = load_index(base, actions, [encoder.id])
    assert len(loaded.actions) == 20
    assert [a.id for a in loaded.actions] == [a.id for a in actions]
    assert list(loaded.chunks) == chunk_actions(actions)
    expected = _ranking(_in_memory(actions, encoder), encoder)
    assert all(expected)
    assert _ranking(loaded, encoder) == expected
    mapped = load_index(base, actions, [encoder.id], mmap=True)
    assert _ranking(mapped, encoder) == expected


def test_manifest_contents(base, actions):
    manifest = json.loads((base / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["format_version"] == FORMAT_VERSION
    assert manifest["content_version"] == index_module.CONTENT_VERSION
    assert manifest["data_sha256"] == data_hash(actions)
    assert manifest["n_actions"] == 20
    assert manifest["n_chunks"] == len(chunk_actions(actions))
    created = datetime.fromisoformat(manifest["created"])
    assert created.tzinfo is not None
    assert isinstance(manifest["package_version"], str) and manifest["package_version"]
    [encoder] = manifest["encoders"]
    assert encoder["id"] == "fake-trigram-64"
    assert encoder["spec"] == "fake"
    assert encoder["dim"] == 64
    assert encoder["faiss_type"] == "flat"
    assert encoder["ntotal"] == manifest["n_chunks"]
    assert (base / encoder["file"]).is_file()


def test_data_hash_ignores_order_but_not_content(actions):
    assert data_hash(actions) == data_hash(list(reversed(actions)))
    edited = [replace(actions[0], limits=actions[0].limits + " Modifié."), *actions[1:]]
    assert data_hash(edited) != data_hash(actions)


def test_forced_hnsw_is_recorded(tmp_path, actions):
    _build(actions, tmp_path, kind=vector_index.IndexKind.HNSW)
    loaded = load_index(tmp_path / "index", actions, ["fake-trigram-64"])
    assert loaded.manifest["encoders"][0]["faiss_type"] == "hnsw"
    assert vector_index.kind_of(loaded.dense[0].index) is vector_index.IndexKind.HNSW


# ---- damaged or stale indexes -------------------------------------------------------


def _truncate_faiss(d: Path) -> None:
    path = d / "dense" / "0.faiss"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _edit_npz(name: str, **changes):
    """Rewrite some arrays of an index's .npz file (a well-formed file that lies)."""

    def mutate(d: Path) -> None:
        with np.load(d / name) as data:
            arrays = {key: data[key] for key in data.files}
        for key, change in changes.items():
            arrays[key] = change(arrays[key])
        with (d / name).open("wb") as handle:
            np.savez(handle, **arrays)

    return mutate


def _edit_manifest(**changes):
    def mutate(d: Path) -> None:
        manifest = json.loads((d / "manifest.json").read_text(encoding="utf-8"))
        manifest.update(changes)
        (d / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")

    return mutate


CORRUPTIONS = {
    "faiss-truncated": _truncate_faiss,
    "faiss-empty": lambda d: (d / "dense" / "0.faiss").write_bytes(b""),
    "faiss-deleted": lambda d: (d / "dense" / "0.faiss").unlink(),
    "passages-garbage": lambda d: (d / "passages.npz").write_text("pas un npz\n"),
    "passages-truncated": lambda d: (d / "passages.npz").write_bytes(
        (d / "passages.npz").read_bytes()[:1000]
    ),
    "passages-deleted": lambda d: (d / "passages.npz").unlink(),
    "passages-bad-field": _edit_npz("passages.npz", field=lambda a: a + 20),
    "passages-bad-owner": _edit_npz("passages.npz", owner=lambda a: a + 1000),
    "passages-row-missing": _edit_npz(
        "passages.npz",
        **{key: (lambda a: a[:-1]) for key in ("owner", "field", "window", "start", "ends")},
    ),
    "passages-text-short": _edit_npz("passages.npz", text=lambda a: a[:-5]),
    "manifest-invalid-json": lambda d: (d / "manifest.json").write_text("{pas du json"),
    "manifest-empty": lambda d: (d / "manifest.json").write_text(""),
    "manifest-not-object": lambda d: (d / "manifest.json").write_text("[]"),
    "manifest-deleted": lambda d: (d / "manifest.json").unlink(),
    "manifest-old-format": _edit_manifest(format_version=FORMAT_VERSION + 1),
    "manifest-other-content-version": _edit_manifest(content_version="chunks-v0"),
    "manifest-encoders-null": _edit_manifest(encoders=None),
    "manifest-encoders-strings": _edit_manifest(encoders=["fake-trigram-64"]),
    "manifest-wrong-count": _edit_manifest(n_chunks=3),
    "lexical-deleted": lambda d: shutil.rmtree(d / "lexical"),
    "lexical-garbage": lambda d: (d / "lexical" / "data.csc.index.npy").write_bytes(b"garbage"),
    "records-garbage": lambda d: (d / "records.npz").write_text("{\n"),
    "records-deleted": lambda d: (d / "records.npz").unlink(),
    "records-row-missing": _edit_npz("records.npz", keys=lambda a: a[1:]),
    "records-text-edited": _edit_npz("records.npz", **{"title.text": lambda a: a[::-1].copy()}),
    "coverage-garbage": lambda d: (d / "coverage.npz").write_bytes(b"garbage"),
    "coverage-bad-terms": _edit_npz("coverage.npz", terms=lambda a: a + 10**6),
    "index-dir-deleted": lambda d: shutil.rmtree(d),
}


@pytest.mark.parametrize("name", sorted(CORRUPTIONS))
def test_damaged_index_raises_index_invalid_in_french(tmp_path, base, actions, name):
    target = _copy(base, tmp_path)
    CORRUPTIONS[name](target)
    with pytest.raises(IndexInvalid) as caught:
        load_index(target, actions, ["fake-trigram-64"])
    _assert_invalid_message(caught.value)
    # Without the data/encoders checks, only the files themselves are verified.
    with pytest.raises(IndexInvalid):
        load_index(target)


def test_other_encoder_is_refused(tmp_path, base, actions):
    target = _copy(base, tmp_path)
    with pytest.raises(IndexInvalid) as caught:
        load_index(target, actions, [FakeEncoder(dim=32).id])
    _assert_invalid_message(caught.value)
    assert "fake-trigram-32" in str(caught.value)
    with pytest.raises(IndexInvalid):
        load_index(target, actions, ["fake-trigram-64", "fake-trigram-32"])
    assert load_index(target, actions, ["fake-trigram-64"]).dense[0].dim == 64


@pytest.mark.parametrize("change", ["edited", "added", "removed"])
def test_changed_data_is_refused(base, actions, change):
    if change == "edited":
        data = list(actions)
        data[3] = replace(data[3], summary=data[3].summary + " Une phrase ajoutée.")
    elif change == "added":
        data = [*actions, replace(actions[0], title="Nouvelle action").with_id()]
    else:
        data = list(actions[1:])
    with pytest.raises(IndexInvalid) as caught:
        load_index(base, data, ["fake-trigram-64"])
    _assert_invalid_message(caught.value)
    assert "données" in str(caught.value)


def test_index_left_aside_by_a_killed_swap_is_restored(tmp_path, base, actions):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # a pid that belonged to a build process that has ended
    aside = tmp_path / f".index.old-{dead.pid}"
    shutil.copytree(base, aside)
    loaded = load_index(tmp_path / "index", actions, ["fake-trigram-64"])
    assert len(loaded.actions) == 20
    assert (tmp_path / "index" / "manifest.json").is_file()
    assert not aside.exists()


# ---- atomic builds ------------------------------------------------------------------


class ExplodingEncoder(FakeEncoder):
    """Same id as the fake encoder; fails after `after` texts."""

    def __init__(self, after: int, error: type[BaseException] = RuntimeError) -> None:
        super().__init__()
        self.after = after
        self.error = error

    def encode(self, texts, kind):
        if self.calls + len(texts) > self.after:
            raise self.error("panne simulée de l'encodeur")
        return super().encode(texts, kind)


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_encoder_failure_mid_build_keeps_previous_index(tmp_path, actions, error):
    _build(actions, tmp_path)
    index_dir = tmp_path / "index"
    before = _snapshot(index_dir)
    encoder = ExplodingEncoder(after=40, error=error)
    more = [*actions, replace(actions[0], title="Une action de plus").with_id()]
    with pytest.raises(error, match="panne simulée"):
        _build(more, tmp_path, encoder=encoder, cache="other-cache")
    assert encoder.calls > 0  # it did fail mid-way, not before starting
    assert _snapshot(index_dir) == before
    loaded = load_index(index_dir, actions, ["fake-trigram-64"])
    assert len(loaded.actions) == 20
    assert _leftovers(tmp_path) == []


def test_failure_while_writing_keeps_previous_index(tmp_path, actions, monkeypatch):
    _build(actions, tmp_path)
    index_dir = tmp_path / "index"
    before = _snapshot(index_dir)
    written: list[Path] = []

    def write_then_fail(work, *args, **kwargs):
        index_module.write_index(work, *args, **kwargs)
        written.extend(work.iterdir())
        raise OSError("disque plein (simulé)")

    monkeypatch.setattr(build_module, "write_index", write_then_fail)
    with pytest.raises(OSError, match="disque plein"):
        _build(actions[:10], tmp_path)
    assert written, "the failure happened after files were written"
    assert all(not p.exists() for p in written)
    assert _snapshot(index_dir) == before
    assert len(load_index(index_dir, actions, ["fake-trigram-64"]).actions) == 20
    assert _leftovers(tmp_path) == []


def test_failed_first_build_leaves_nothing(tmp_path, actions):
    with pytest.raises(RuntimeError):
        _build(actions, tmp_path, encoder=ExplodingEncoder(after=0))
    assert not (tmp_path / "index").exists()
    assert _leftovers(tmp_path) == []
    with pytest.raises(IndexInvalid) as caught:
        load_index(tmp_path / "index")
    _assert_invalid_message(caught.value)


def test_successful_rebuild_replaces_index_without_leftovers(tmp_path, actions):
    _build(actions, tmp_path)
    stats, _ = _build(actions[:12], tmp_path)
    assert stats.n_actions == 12
    assert len(load_index(tmp_path / "index", actions[:12]).actions) == 12
    assert _leftovers(tmp_path) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "index"]


# ---- incremental builds -------------------------------------------------------------


def _new_actions(actions: list[Action]) -> list[Action]:
    return [
        replace(
            a,
            title=f"Nouvelle action numéro {n} : {a.title}",
            summary=f"Résumé réécrit {n}. {a.summary}",
            duplicates=(),
        ).with_id()
        for n, a in enumerate(actions[:5])
    ]


def test_incremental_rebuild_embeds_only_new_chunks(tmp_path, actions):
    first, encoder = _build(actions, tmp_path)
    n_chunks = len(chunk_actions(actions))
    # Every passage, and each action's summary read as a need (hub prior, index/hubness.py).
    assert encoder.calls == n_chunks + len(actions)
    assert first.embedded == n_chunks

    new = _new_actions(actions)
    assert not {a.id for a in new} & {a.id for a in actions}
    expected = len(chunk_actions(new))
    second, encoder = _build([*actions, *new], tmp_path)
    assert encoder.calls == expected + len(new)
    assert second.embedded == expected
    assert second.encoders[0].cached == n_chunks
    loaded = load_index(tmp_path / "index", [*actions, *new], ["fake-trigram-64"])
    assert len(loaded.actions) == 25
    assert loaded.dense[0].index.ntotal == n_chunks + expected

    third, encoder = _build([*actions, *new], tmp_path)
    assert encoder.calls == 0
    assert third.embedded == 0


def test_incremental_vectors_equal_fresh_vectors(tmp_path, actions):
    """Cached vectors give exactly the same search results as a build from scratch."""
    new = _new_actions(actions)
    _build(actions, tmp_path / "a")
    _build([*actions, *new], tmp_path / "a")
    _build([*actions, *new], tmp_path / "b")
    encoder = FakeEncoder()
    incremental = load_index(tmp_path / "a" / "index", [*actions, *new])
    fresh = load_index(tmp_path / "b" / "index", [*actions, *new])
    assert _ranking(incremental, encoder) == _ranking(fresh, encoder)


def test_damaged_cache_only_costs_time(tmp_path, actions):
    _build(actions, tmp_path)
    cache_dir = tmp_path / "cache" / "fake-trigram-64"
    (cache_dir / "vectors.npy").write_bytes(b"garbage")
    stats, encoder = _build(actions, tmp_path)
    assert encoder.calls == len(chunk_actions(actions))
    assert stats.n_actions == 20
    stats, encoder = _build(actions, tmp_path)
    assert encoder.calls == 0

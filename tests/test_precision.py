"""The passage path chosen from the CPU, its fallbacks, and the precision in the index.

Fast: fake cpuinfo files, fake model folders and the fake encoder (no torch).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest

from embeddings import make_encoder
from embeddings.adapted import RoutedEncoder
from embeddings.base import TextKind, passage_precision
from embeddings.fake import FakeEncoder
from embeddings.onnx import INT8_FILE, ONNX_DIR, OnnxEncoder
from embeddings.onnx_int8 import INT8_STAMP, QuantiseError, int8_problem, quantise_export
from embeddings.precision import (
    AUTO,
    PassagePath,
    bf16_native,
    choose_passage_path,
    cpu_flags,
)
from embeddings.st import SentenceTransformerEncoder, folder_fingerprint
from recommender.index import embed_cache
from recommender.index.build import build_index
from recommender.index.directory import load_index
from recommender.records.records import load_actions

INTEL = frozenset({"avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_tile"})
AMD_ZEN3 = frozenset({"avx2", "fma", "f16c"})


def test_cpu_flags_are_read_from_cpuinfo(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu avx2 amx_bf16\n\nflags\t: other\n")
    assert cpu_flags(cpuinfo) == frozenset({"fpu", "avx2", "amx_bf16"})
    assert cpu_flags(tmp_path / "absent") == frozenset(), "no cpuinfo: no flag, no error"


def test_bf16_is_native_only_with_avx512_bf16_or_amx():
    assert bf16_native(INTEL)
    assert bf16_native(frozenset({"avx512_bf16"})) and bf16_native(frozenset({"amx_bf16"}))
    assert not bf16_native(AMD_ZEN3) and not bf16_native(frozenset({"avx512f", "avx512_vnni"}))


def test_auto_takes_bf16_where_native_else_torch_float32():
    assert choose_passage_path(AUTO, flags=INTEL) == (PassagePath.TORCH_BFLOAT16, None)
    assert choose_passage_path(AUTO, flags=AMD_ZEN3) == (PassagePath.TORCH_FLOAT32, None)
    assert choose_passage_path(AUTO, flags=INTEL, onnx_ready=False)[0].precision == "bfloat16"
    auto_int8 = choose_passage_path(AUTO, flags=AMD_ZEN3, int8_ready=True)
    assert auto_int8[0] is PassagePath.TORCH_FLOAT32, "int8 is never chosen by itself"


def test_requests_the_machine_cannot_serve_fall_back_to_float32_with_a_reason():
    path, why = choose_passage_path("torch-bfloat16", flags=AMD_ZEN3)
    assert path is PassagePath.TORCH_FLOAT32 and "bfloat16" in (why or "")
    path, why = choose_passage_path("onnx-int8", flags=INTEL, int8_ready=False)
    assert path is PassagePath.TORCH_FLOAT32 and "--int8" in (why or "")
    path, why = choose_passage_path("onnx-float32", flags=INTEL, onnx_ready=False)
    assert path is PassagePath.TORCH_FLOAT32 and "reco model export" in (why or "")
    assert choose_passage_path("onnx-float32", flags=AMD_ZEN3) == (PassagePath.ONNX_FLOAT32, None)
    path, why = choose_passage_path("fp8", flags=INTEL)
    assert path is PassagePath.TORCH_FLOAT32 and "inconnu" in (why or "")
    assert choose_passage_path("onnx-int8", flags=AMD_ZEN3, int8_ready=True) == (
        PassagePath.ONNX_INT8,
        None,
    )
    assert choose_passage_path("torch-bfloat16", flags=INTEL)[0] is PassagePath.TORCH_BFLOAT16


def test_each_path_names_its_engine_and_precision():
    assert [(p.engine, p.precision) for p in PassagePath] == [
        ("torch", "float32"),
        ("torch", "bfloat16"),
        ("onnx", "float32"),
        ("onnx", "int8"),
    ]
    assert passage_precision(FakeEncoder(dim=8)) == "float32", "encoders without the attribute"


# ---- e5-adapted on fake folders ---------------------------------------------------------------


def _folder(root: Path, *, int8: bool = False) -> Path:
    folder = root / "multilingual-e5-small-adapted"
    (folder / "1_Pooling").mkdir(parents=True)
    (folder / "modules.json").write_text("[]", encoding="utf-8")
    (folder / "1_Pooling" / "config.json").write_text('{"embedding_dimension": 8}')
    (folder / "model.safetensors").write_bytes(b"weights")
    (folder / ONNX_DIR).mkdir()
    (folder / ONNX_DIR / "model.onnx").write_bytes(b"graph")
    stamp = {
        "format_version": 1,
        "folder_fingerprint": folder_fingerprint(folder),
        "exported_at": "2026-11-30T07:00:00Z",
    }
    (folder / ONNX_DIR / "export.json").write_text(json.dumps(stamp), encoding="utf-8")
    if int8:
        (folder / ONNX_DIR / INT8_FILE).write_bytes(b"int8 graph")
        source = f"{stamp['folder_fingerprint']}@{stamp['exported_at']}"
        (folder / ONNX_DIR / INT8_STAMP).write_text(json.dumps({"source": source}))
    return folder


def test_e5_adapted_passages_follow_the_cpu(tmp_path, monkeypatch):
    folder = _folder(tmp_path)
    monkeypatch.setattr("embeddings.precision.cpu_flags", lambda *_: AMD_ZEN3)
    amd = make_encoder("e5-adapted", models_dir=tmp_path)
    assert isinstance(amd, RoutedEncoder) and amd.passages is PassagePath.TORCH_FLOAT32
    assert isinstance(amd.main, SentenceTransformerEncoder) and amd.passage_precision == "float32"
    assert amd.main.passage_precision == "float32" and isinstance(amd.fast, OnnxEncoder)
    onnx = make_encoder("e5-adapted@onnx-float32", models_dir=tmp_path)
    assert isinstance(onnx, RoutedEncoder) and onnx.main is onnx.fast, "one ONNX encoder"
    monkeypatch.setattr("embeddings.precision.cpu_flags", lambda *_: INTEL)
    intel = make_encoder("e5-adapted", models_dir=tmp_path)
    assert isinstance(intel, RoutedEncoder) and isinstance(intel.main, SentenceTransformerEncoder)
    assert intel.passage_precision == "bfloat16" and not intel.main.loaded, "torch loads late"
    assert intel.id == amd.id == SentenceTransformerEncoder(str(folder)).id, "same queries"


def test_e5_adapted_int8_on_request_only_and_logged_when_missing(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr("embeddings.precision.cpu_flags", lambda *_: AMD_ZEN3)
    folder = _folder(tmp_path)
    with caplog.at_level(logging.WARNING, logger="reco.embeddings"):
        missing = make_encoder("e5-adapted@onnx-int8", models_dir=tmp_path)
    assert isinstance(missing, RoutedEncoder) and missing.passages is PassagePath.TORCH_FLOAT32
    assert "reco model export --int8" in caplog.text
    (folder / ONNX_DIR / INT8_FILE).write_bytes(b"int8 graph")
    assert int8_problem(folder) is not None, "a model file without its stamp is not used"
    folder2 = _folder(tmp_path / "other", int8=True)
    assert int8_problem(folder2) is None
    asked = make_encoder("e5-adapted@onnx-int8", models_dir=tmp_path / "other")
    assert isinstance(asked, RoutedEncoder) and isinstance(asked.main, OnnxEncoder)
    assert asked.main.model_file == INT8_FILE and asked.passage_precision == "int8"
    assert asked.main is not asked.fast, "queries stay on the float32 export"


def test_a_new_float32_export_makes_the_int8_one_stale(tmp_path):
    folder = _folder(tmp_path, int8=True)
    stamp = json.loads((folder / ONNX_DIR / "export.json").read_text())
    stamp["exported_at"] = "2026-12-01T00:00:00Z"
    (folder / ONNX_DIR / "export.json").write_text(json.dumps(stamp))
    assert "périmé" in (int8_problem(folder) or "")


# ---- the precision in the index and the cache ---------------------------------------------------


class _Precise(FakeEncoder):
    """The fake encoder, saying which precision computed its passages; counts its texts."""

    def __init__(self, precision: str) -> None:
        super().__init__(dim=16)
        self.passage_precision = precision
        self.batches: list[list[str]] = []

    def encode(self, texts, kind):
        self.batches.append(list(texts))
        return super().encode(texts, kind)


@pytest.fixture(scope="module")
def actions(data_dir):
    return load_actions(data_dir / "actions.jsonl")[:12]


def test_the_manifest_records_the_precision_and_a_change_re_embeds(tmp_path, actions):
    cache = tmp_path / "cache"
    first = build_index(actions, [("x", _Precise("float32"))], tmp_path / "i", cache, **QUIET)
    manifest = load_index(tmp_path / "i").manifest
    assert manifest["encoders"][0]["precision"] == "float32"
    assert first.embedded == first.n_chunks
    again = build_index(actions, [("x", _Precise("float32"))], tmp_path / "i", cache, **QUIET)
    assert again.embedded == 0, "same precision: everything from the cache"
    bf16 = build_index(actions, [("x", _Precise("bfloat16"))], tmp_path / "i", cache, **QUIET)
    assert bf16.embedded == bf16.n_chunks, "another precision never reuses float32 vectors"
    assert load_index(tmp_path / "i").manifest["encoders"][0]["precision"] == "bfloat16"
    back = build_index(actions, [("x", _Precise("float32"))], tmp_path / "i", cache, **QUIET)
    assert back.embedded == 0, "each precision keeps its own cache"


QUIET = {"show_progress": False}


def test_missing_texts_are_embedded_longest_first_and_land_in_place(tmp_path):
    texts = ["a" * n for n in (5, 40, 12, 40, 1, 33, 7)]
    encoder = _Precise("float32")
    cache = embed_cache.EmbeddingCache(tmp_path, "fake", 16)
    vectors, computed = cache.embed(
        texts, lambda batch: encoder.encode(batch, TextKind.PASSAGE), batch_size=2
    )
    lengths = [len(text) for batch in encoder.batches for text in batch]
    assert computed == 6 and lengths == [40, 33, 12, 7, 5, 1], "one of each text, longest first"
    expected = FakeEncoder(dim=16).encode(texts, TextKind.PASSAGE)
    assert np.allclose(vectors, expected), "each vector lands on its own text"


def test_int8_export_needs_the_float32_one_and_is_skipped_when_fresh(tmp_path):
    with pytest.raises(QuantiseError, match="reco model export"):
        quantise_export(tmp_path / "absent")
    folder = _folder(tmp_path, int8=True)
    assert quantise_export(folder).skipped, "a fresh int8 export is kept as it is"

"""The adapted model's passage paths against torch float32, on the real records (slow).

Faithful paths (ONNX Runtime float32, and any batch order now that the build sorts texts by
length) must give the same token ids and vectors at cosine ≥ 0.999. Reduced precisions
(int8, bfloat16) move the vectors: their cosines are printed and held above the floors
documented in BENCHMARKS.md (« Encodeur »), which catch a broken quantisation, not a
promise of ranking quality (that is nDCG's job, bench/encoder_quality.py).
Skipped without `reco model adapt` (models/multilingual-e5-small-adapted and its export).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from embeddings.base import TextKind
from embeddings.onnx import INT8_FILE, MODEL_FILE, ONNX_DIR, STAMP_FILE, OnnxEncoder, export_problem
from embeddings.onnx_int8 import int8_problem, quantise_export
from embeddings.st import SentenceTransformerEncoder
from recommender.index.chunks import chunk_actions, embedding_text
from recommender.records.records import load_actions

REPO = Path(__file__).resolve().parent.parent
FOLDER = REPO / "models" / "multilingual-e5-small-adapted"
FAITHFUL = 0.999
# Floors for reduced precision (mean, min), against torch float32 on the sample below.
INT8_FLOOR = (0.97, 0.90)
BF16_FLOOR = (0.995, 0.98)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (FOLDER / "modules.json").is_file() or export_problem(FOLDER) is not None,
        reason="run `reco model adapt` (the adapted model and its ONNX export) first",
    ),
]


@pytest.fixture(scope="module")
def sample() -> tuple[list[str], list[str]]:
    """48 record passages of every length, one past the model's window, and 12 needs."""
    actions = load_actions(REPO / "data" / "actions.jsonl")
    titles = {a.id: a.title for a in actions}
    texts = [embedding_text(c, titles[c.action_id]) for c in chunk_actions(actions)]
    ordered = sorted(texts, key=len)
    spread = ordered[:: max(1, len(ordered) // 46)][:46]
    passages = [*spread, ordered[-1], " ".join(ordered[-6:])]
    needs = [a.summary or a.title for a in actions[:12]]
    return passages, needs


@pytest.fixture(scope="module")
def reference(sample) -> tuple[np.ndarray, np.ndarray, SentenceTransformerEncoder]:
    torch_encoder = SentenceTransformerEncoder(str(FOLDER))
    passages, needs = sample
    return (
        torch_encoder.encode(passages, TextKind.PASSAGE),
        np.concatenate([torch_encoder.encode([n], TextKind.QUERY) for n in needs]),
        torch_encoder,
    )


def _cosines(encoder, sample, reference, batch: int = 32) -> np.ndarray:
    passages, needs = sample
    got = np.concatenate(
        [
            encoder.encode(passages[i : i + batch], TextKind.PASSAGE)
            for i in range(0, len(passages), batch)
        ]
    )
    queries = np.concatenate([encoder.encode([n], TextKind.QUERY) for n in needs])
    return np.concatenate([np.sum(got * reference[0], 1), np.sum(queries * reference[1], 1)])


def _report(capsys, name: str, cosines: np.ndarray) -> None:
    with capsys.disabled():
        mean, low = cosines.mean(), cosines.min()
        print(f"\n{name} vs torch float32 : cosinus moyen {mean:.4f}, min {low:.4f}")


def test_onnx_float32_passages_have_the_torch_token_ids(sample, reference):
    torch_encoder = reference[2]
    onnx = OnnxEncoder(FOLDER)
    tokenizer = torch_encoder.model().tokenizer
    prompt = onnx.prompt(TextKind.PASSAGE)
    plan = onnx.plan(sample[0], TextKind.PASSAGE)
    assert len(plan.windows) > len(sample[0]), "the sample holds a text longer than a window"
    prompted = [prompt + window for window in plan.windows]
    expected = tokenizer(prompted, truncation=True, max_length=onnx.max_length)["input_ids"]
    assert onnx.token_ids(prompted) == [list(ids) for ids in expected]


def test_onnx_float32_batches_match_torch(sample, reference):
    cosines = _cosines(OnnxEncoder(FOLDER, batch_threads=2), sample, reference)
    assert cosines.min() >= FAITHFUL, cosines.min()


def test_sorting_passages_by_length_keeps_the_float32_vectors(sample, reference):
    torch_encoder = reference[2]
    passages = sample[0]
    order = sorted(range(len(passages)), key=lambda i: -len(passages[i]))
    shuffled = torch_encoder.encode([passages[i] for i in order][:16], TextKind.PASSAGE)
    cosines = np.sum(shuffled * reference[0][order[:16]], axis=1)
    assert cosines.min() >= FAITHFUL, "another batch composition, the same vectors"


def test_int8_cosines_are_reported_and_above_the_floor(sample, reference, tmp_path, capsys):
    onnx_dir = FOLDER / ONNX_DIR
    if int8_problem(FOLDER) is not None:  # quantise a copy: the model folder stays as it is
        onnx_dir = tmp_path / ONNX_DIR
        onnx_dir.mkdir()
        (onnx_dir / MODEL_FILE).symlink_to((FOLDER / ONNX_DIR / MODEL_FILE).resolve())
        shutil.copy(FOLDER / ONNX_DIR / STAMP_FILE, onnx_dir / STAMP_FILE)
        quantise_export(FOLDER, onnx_dir=onnx_dir)
    int8 = OnnxEncoder(FOLDER, onnx_dir=onnx_dir, model_file=INT8_FILE, batch_threads=2)
    cosines = _cosines(int8, sample, reference)
    _report(capsys, "ONNX int8", cosines)
    assert cosines.mean() >= INT8_FLOOR[0] and cosines.min() >= INT8_FLOOR[1]


def test_bf16_cosines_are_reported_and_above_the_floor(sample, reference, capsys):
    # Where the CPU has no BF16 instructions torch emulates it (slowly): a small sample.
    bf16 = SentenceTransformerEncoder(str(FOLDER), precision="bfloat16")
    passages, needs = sample
    small = (passages[::6], needs[:4])
    got = np.concatenate(
        [bf16.encode(small[0], TextKind.PASSAGE)]
        + [bf16.encode([n], TextKind.QUERY) for n in small[1]]
    )
    expected = np.concatenate([reference[0][::6], reference[1][:4]])
    cosines = np.sum(got * expected, axis=1)
    _report(capsys, "torch bfloat16", cosines)
    assert cosines.mean() >= BF16_FLOOR[0] and cosines.min() >= BF16_FLOOR[1]

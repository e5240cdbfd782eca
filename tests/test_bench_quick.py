"""`python -m bench.run --quick`: tiny sizes, fake encoder, temporary files; no timing checks."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from bench import markdown, run
from bench.common import percentile
from bench.scale import exact_truth, numpy_top, recall
from bench.synthetic import clustered_vectors, perturbed_queries

EXPECTED = ["latency", "profile", "build", "encoder", "scale", "lexical", "app", "batch"]
RATIOS = ("recall@10", "part du total")


@pytest.fixture(scope="module")
def quick(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path, Path]:
    out = tmp_path_factory.mktemp("bench")
    mp = pytest.MonkeyPatch()
    mp.setenv("RECO_ENCODERS", "fake")
    try:
        results = run.main(["--quick", "--out", str(out / "B.md"), "--json", str(out / "r.json")])
    finally:
        mp.undo()
    return results, out / "B.md", out / "r.json"


def test_report_has_every_section_with_rows(quick) -> None:
    results, _, raw = quick
    assert [s["key"] for s in results["sections"]] == EXPECTED
    for section in results["sections"]:
        assert section["rows"], section["key"]
        for row in section["rows"]:
            assert set(row) <= set(section["columns"])
    assert json.loads(raw.read_text(encoding="utf-8"))["meta"]["quick"] is True


def test_numbers_are_finite_and_positive_recall_in_unit_interval(quick) -> None:
    results, _, _ = quick
    for section in results["sections"]:
        for row in section["rows"]:
            for column, value in row.items():
                if isinstance(value, bool) or not isinstance(value, int | float):
                    continue
                assert math.isfinite(value), (section["key"], column)
                where = (section["key"], column, value)
                if any(r in column for r in RATIOS):
                    assert 0.0 <= value <= 1.0, where
                elif column == "construction (s)":  # NumPy brute force has no build
                    assert value >= 0, where
                elif "RSS Δ" not in column:  # a memory delta may be negative (freed pages)
                    assert value > 0, where


def test_meta_records_machine_load_and_versions(quick) -> None:
    meta = quick[0]["meta"]
    assert meta["machine"]["cores"] >= 1 and meta["machine"]["cpu"]
    assert len(meta["load_start"]) == 3 and len(meta["load_end"]) == 3
    for name in ("python", "numpy", "faiss-cpu", "torch", "sentence-transformers", "bm25s"):
        assert meta["versions"][name]
    assert meta["seconds"] > 0


def test_markdown_is_written_between_markers_and_keeps_human_text(quick, tmp_path) -> None:
    results, out, _ = quick
    text = out.read_text(encoding="utf-8")
    assert markdown.BEGIN in text and markdown.END in text
    assert "## 1. Latence" in text and "| encodeur |" in text
    page = tmp_path / "B.md"
    page.write_text(f"# Titre\n\nAvant.\n\n{markdown.BEGIN}\nvieux\n{markdown.END}\n\nAprès.\n")
    markdown.write(results, page)
    rewritten = page.read_text(encoding="utf-8")
    assert rewritten.startswith("# Titre\n\nAvant.") and rewritten.endswith("\n\nAprès.\n")
    assert "vieux" not in rewritten


def test_synthetic_vectors_are_unit_and_clustered() -> None:
    corpus = clustered_vectors(3_000, centres=30)
    assert corpus.shape == (3_000, 384)
    assert abs(float((corpus**2).sum(axis=1).mean()) - 1.0) < 1e-4
    queries = perturbed_queries(corpus, 10)
    truth = exact_truth(corpus, queries)
    found = [numpy_top(corpus, q) for q in queries]
    assert recall(found, truth) == pytest.approx(1.0)
    best = (queries @ corpus.T).max(axis=1)  # neighbours are close, not near-ties of noise
    assert float(best.min()) > 0.8


def test_percentile_and_french_numbers() -> None:
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == pytest.approx(2.5)
    assert percentile([5.0], 95) == 5.0
    assert markdown.number(1234.5) == "1 234"
    assert markdown.number(0.98765, "recall@10") == "0,988"
    assert markdown.number(12345) == "12 345"

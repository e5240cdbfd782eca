"""Corpus report (corpus_report, corpus_analysis, corpus_output): neighbours, duplicate pairs,
k-means themes, coverage and its outputs."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from openpyxl import load_workbook

from embeddings.fake import FakeEncoder
from recommender.index.build import build_index
from recommender.index.directory import load_index
from recommender.records.records import load_actions
from recommender.reports.corpus_analysis import CorpusReport, analyse, choose_k, coverage, kmeans
from recommender.reports.corpus_report import run_corpus_report
from recommender.reports.report import ReportError

ROOT = Path(__file__).resolve().parents[1]
COPY_TITLE = "<script>x</script> Jardin collectif (copie de Marie)"


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    """The 97 real actions plus a lightly edited copy of « Jardin collectif »."""
    root = tmp_path_factory.mktemp("corpus")
    actions = load_actions(ROOT / "data" / "actions.jsonl")
    original = next(a for a in actions if a.title == "Jardin collectif")
    copy = replace(
        original, title=COPY_TITLE, summary=original.summary + " Nouvelle parcelle."
    ).with_id()
    actions = [*actions, copy]
    build_index(actions, [("fake", FakeEncoder())], root / "index", root / "cache")
    return load_index(root / "index", actions)


@pytest.fixture(scope="module")
def report(index) -> CorpusReport:
    return analyse(index)


def _position(report: CorpusReport, title: str) -> int:
    return next(i for i, a in enumerate(report.actions) if a.title == title)


def test_choose_k():
    assert [choose_k(n) for n in (1, 2, 8, 50, 97, 98, 5000)] == [1, 1, 2, 5, 7, 7, 50]


def test_kmeans_is_deterministic_and_separates_blobs():
    rng = np.random.default_rng(3)
    a = rng.normal([5, 0, 0], 0.1, (20, 3))
    b = rng.normal([0, 5, 0], 0.1, (15, 3))
    vectors = np.vstack([a, b])
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    labels, centroids = kmeans(vectors, 2)
    again, _ = kmeans(vectors, 2)
    assert np.array_equal(labels, again)
    assert len(set(labels[:20])) == 1 and len(set(labels[20:])) == 1
    assert labels[0] != labels[-1]
    assert np.allclose(np.linalg.norm(centroids, axis=1), 1.0)


def test_neighbours_exclude_self_and_are_sorted(report):
    assert len(report.neighbours) == len(report.actions) == 98
    for i, neighbours in enumerate(report.neighbours):
        assert len(neighbours) == 5
        assert i not in [j for j, _ in neighbours]
        scores = [s for _, s in neighbours]
        assert scores == sorted(scores, reverse=True)


def test_the_edited_copy_is_found(report):
    masked_title = COPY_TITLE.replace("Marie", "[prénom]")
    copy = _position(report, masked_title)
    original = _position(report, "Jardin collectif")
    assert report.neighbours[copy][0][0] == original
    first = report.pairs[0]
    assert {first.first, first.second} == {copy, original}
    assert first.overlap >= 0.3 and first.cosine > 0.9
    assert len({a.id for a in report.duplicate_groups}) == 2  # the ingest's two groups


def test_themes_cover_every_action_once(report):
    assert len(report.clusters) == choose_k(98) == 7
    members = [i for c in report.clusters for i in c.members]
    assert sorted(members) == list(range(98))
    assert [len(c.members) for c in report.clusters] == sorted(
        (len(c.members) for c in report.clusters), reverse=True
    )
    for cluster in report.clusters:
        assert all(report.theme_of[i] == cluster.number for i in cluster.members)
        if len(cluster.members) > 3:
            assert cluster.terms and cluster.label


def test_analysis_is_deterministic(index, report):
    again = analyse(index)
    assert again.clusters == report.clusters
    assert again.neighbours == report.neighbours


def test_coverage_counts_add_up(report):
    head, rows = coverage(report.actions)
    assert head[-1] == "Total"
    assert rows[-1][0] == "Total" and rows[-1][1][-1] == 98
    assert rows[0][0] == "Haute-Garonne"
    for _, counts in rows:
        assert sum(counts[:-1]) == counts[-1]


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.links: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.links += [v or "" for k, v in attrs if k in {"src", "href"}]

    def handle_data(self, data):
        self.text.append(data)


def test_html_output(index, tmp_path):
    out = tmp_path / "base.html"
    stats = run_corpus_report(index, out)
    assert stats.n_actions == 98 and stats.n_clusters == 7 and stats.n_pairs >= 1
    page = _Page()
    page.feed(out.read_text(encoding="utf-8"))
    visible = " ".join(page.text)
    for title in ("Thèmes", "Doublons", "Paires très semblables", "Couverture", "Voisins"):
        assert title in visible
    assert "script" not in page.tags and page.links == []
    assert "<script>x</script> Jardin collectif (copie de [prénom])" in visible
    assert "Marie" not in visible


def test_xlsx_output(index, tmp_path):
    out = tmp_path / "base.xlsx"
    run_corpus_report(index, out, mask=False)
    book = load_workbook(out)
    assert book.sheetnames == [
        "Voisins", "Thèmes", "Doublons", "Paires très semblables", "Couverture",
        "Limites et pistes fréquentes", "Limites et pistes par public", "À propos",
    ]  # fmt: skip
    sheet = book["Voisins"]
    header = [c.value for c in sheet[1]]
    assert header[:2] == ["Identifiant", "Action"] and header[-2:] == ["Voisin 5", "Score 5"]
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == sheet.dimensions
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert len(rows) == 98
    assert isinstance(rows[0][header.index("Score 1")], float)
    assert COPY_TITLE in {r[1] for r in rows}  # not masked on request
    themes = list(book["Thèmes"].iter_rows(min_row=2, values_only=True))
    assert sum(r[2] for r in themes) == 98


def test_csv_output_and_bad_format(index, tmp_path):
    out = tmp_path / "base.csv"
    run_corpus_report(index, out)
    text = out.read_bytes().decode("utf-8-sig")
    header, *rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))
    assert header[0] == "Identifiant" and len(rows) == 98
    with pytest.raises(ReportError, match=r"\.html, \.xlsx ou \.csv"):
        run_corpus_report(index, tmp_path / "base.pdf")


def test_blocked_scan_gives_the_whole_matrix_results(index, report):
    """Beyond one block (20,000 actions) the cosines are read block by block: on the real
    records cut into blocks of 16, the neighbours and pairs are those of the whole matrix."""
    blocked = analyse(index, block=16)
    assert blocked.neighbours == report.neighbours
    assert blocked.pairs == report.pairs
    low, high = report.typical
    assert abs(blocked.typical[0] - low) <= 0.02 and abs(blocked.typical[1] - high) <= 0.02
    assert blocked.clusters == report.clusters


def test_pair_moments_are_those_of_all_pairs():
    from recommender.reports.corpus_pairs import pair_moments

    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(60, 8))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    upper = (vectors @ vectors.T)[np.triu_indices(60, 1)]
    mean, std = pair_moments(vectors)
    assert mean == pytest.approx(upper.mean(), abs=1e-12)
    assert std == pytest.approx(upper.std(), abs=1e-12)

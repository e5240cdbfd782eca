"""Batch reports with the fake encoder: every output format, escaping, masking, limits."""

from __future__ import annotations

import csv
import io
import shutil
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import pytest
from openpyxl import load_workbook

from embeddings.fake import FakeEncoder
from recommender.answers.answer import compose
from recommender.core.config import Settings
from recommender.index.build import build_index
from recommender.records.records import load_actions, save_actions
from recommender.reports.report import ReportError, conversation_html, read_needs, run_report
from recommender.reports.report_tables import safe_cell
from recommender.search.filters import Filters
from recommender.search.need import understand
from recommender.search.service import Engine

ROOT = Path(__file__).resolve().parents[1]
EVIL_TITLE = "<script>alert('fiche')</script> Jardin collectif"
EVIL_LIMITS = '=HYPERLINK("http://exemple.invalid","clic") Contact : marie.durand@exemple.fr'
EVIL_PERSPECTIVES = "@SOMME(A1:A9) agrandir le jardin avec Marie et les voisins"
NEEDS_CSV = (
    "territoire;besoin;centre\n"
    "Nord;Aide aux devoirs pour les enfants du quartier après l'école;=1+1\n"
    "Sud;;CS vide\n"
    "Est;<script>alert(1)</script> jardin collectif au pied des immeubles;@centre\n"
    "Ouest;🎉🎉🎉;CS B\n"
    "Centre;Sorties et vacances pour les familles qui ne partent jamais;+33 1 23\n"
)


@pytest.fixture(scope="module")
def engine(tmp_path_factory) -> Engine:
    """The 97 real actions, one of them carrying markup, formulas and personal data."""
    root = tmp_path_factory.mktemp("report")
    actions = load_actions(ROOT / "data" / "actions.jsonl")
    actions = [
        replace(a, title=EVIL_TITLE, limits=EVIL_LIMITS, perspectives=EVIL_PERSPECTIVES)
        if a.title == "Jardin collectif"
        else a
        for a in actions
    ]
    save_actions(root / "actions.jsonl", actions)
    settings = Settings(
        data_path=root / "actions.jsonl",
        index_dir=root / "index",
        cache_dir=root / "cache",
        glossary_path=ROOT / "data" / "glossary.tsv",
        encoders=("fake",),
    )
    encoder = FakeEncoder()
    build_index(actions, [("fake", encoder)], settings.index_dir, settings.cache_dir)
    return Engine.load(settings, encoders=[encoder])


@pytest.fixture(scope="module")
def needs(tmp_path_factory):
    path = tmp_path_factory.mktemp("needs") / "besoins.csv"
    path.write_text(NEEDS_CSV, encoding="utf-8")
    return read_needs(path)


class _Page(HTMLParser):
    """Collects tags, ids, classes, resource links and visible text of an HTML page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.ids: set[str] = set()
        self.classes: list[str] = []
        self.links: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for name, value in attrs:
            if name == "id":
                self.ids.add(value or "")
            if name == "class":
                self.classes += (value or "").split()
            if name in {"src", "href"}:
                self.links.append(value or "")

    def handle_data(self, data):
        self.text.append(data)

    @property
    def visible(self) -> str:
        return " ".join(" ".join(self.text).split())


def _parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


def test_stats_and_skipped_lines(engine, needs, tmp_path):
    seen: list[tuple[int, int]] = []
    stats = run_report(
        engine, needs, tmp_path / "r.html", progress=lambda d, t: seen.append((d, t))
    )
    assert stats.n_needs == 3  # the empty row and the emoji-only row are skipped
    assert stats.n_skipped == 2 and stats.skipped_lines == (3, 5)
    assert 0 < stats.n_results <= 15
    assert stats.out == tmp_path / "r.html" and stats.seconds > 0
    assert seen[0] == (0, 3) and seen[-1] == (3, 3)
    assert "3 besoin(s) traité(s), 2 ignoré(s) (ligne(s) 3, 5)" in stats.summary()


def test_html_sections_and_no_external_resources(engine, needs, tmp_path):
    out = tmp_path / "rapport.html"
    run_report(engine, needs, out, top=3)
    html = out.read_text(encoding="utf-8")
    page = _parse(html)
    assert "table" in page.tags and "summary" in page.classes
    assert {"besoin-1", "besoin-2", "besoin-3"} <= page.ids
    assert page.classes.count("need") == 3
    for section in ("Synthèse", "Limites", "Perspectives", "Points de vigilance", "Pistes"):
        assert section in page.visible, section
    assert "Pourquoi cette action ?" in page.visible
    assert "Lignes ignorées : ligne 3 (besoin vide), ligne 5" in page.visible
    assert all(link.startswith("#") for link in page.links)  # only in-page anchors
    assert "script" not in page.tags and "link" not in page.tags and "img" not in page.tags
    assert "http" not in "".join(page.links)
    assert "@media print" in html and "break-before: page" in html


def test_html_escapes_needs_and_record_fields(engine, needs, tmp_path):
    out = tmp_path / "rapport.html"
    run_report(engine, needs, out, top=5)
    html = out.read_text(encoding="utf-8")
    page = _parse(html)
    assert "script" not in page.tags
    assert "<script>alert(1)</script> jardin collectif" in page.visible  # the need, as text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert EVIL_TITLE in page.visible  # the record's title, as text
    assert "&lt;script&gt;alert(&#x27;fiche&#x27;)" in html


def test_personal_data_masked_unless_asked(engine, needs, tmp_path):
    masked, clear = tmp_path / "m.html", tmp_path / "c.html"
    run_report(engine, needs, masked)
    run_report(engine, needs, clear, mask=False)
    text = masked.read_text(encoding="utf-8")
    assert "marie.durand@exemple.fr" not in text and "[e-mail masqué]" in text
    assert "avec Marie" not in text and "avec [prénom]" in text
    assert "NON masquées" not in text
    assert "marie.durand@exemple.fr" in clear.read_text(encoding="utf-8")
    assert "NON masquées" in clear.read_text(encoding="utf-8")


def _csv_rows(path: Path) -> list[list[str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads UTF-8
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline=""), delimiter=";"))


def test_csv_rows_and_formula_neutralised(engine, needs, tmp_path):
    out = tmp_path / "rapport.csv"
    stats = run_report(engine, needs, out, top=5)
    header, *rows = _csv_rows(out)
    assert header[:5] == ["N°", "Ligne", "Besoin", "territoire", "centre"]
    assert {"Rang", "Niveau", "Action", "Limites", "Perspectives", "Identifiant"} <= set(header)
    results = [r for r in rows if r[header.index("Rang")]]
    assert len(results) == stats.n_results
    col = {name: header.index(name) for name in header}
    assert {r[col["centre"]] for r in rows} >= {"'=1+1", "'@centre", "'+33 1 23"}
    evil = [r for r in rows if r[col["Action"]] == EVIL_TITLE]
    assert evil, "the planted action should be found for « jardin collectif »"
    assert evil[0][col["Limites"]].startswith("'=HYPERLINK(")
    assert evil[0][col["Perspectives"]].startswith("'@SOMME")
    skipped = [r for r in rows if r[col["Niveau"]].startswith("ignoré")]
    assert [r[col["Ligne"]] for r in skipped] == ["3", "5"]


def test_xlsx_sheets_header_filters_and_formulas(engine, needs, tmp_path):
    out = tmp_path / "rapport.xlsx"
    stats = run_report(engine, needs, out, top=4)
    book = load_workbook(out)
    assert book.sheetnames == ["Synthèse", "Vigilance et pistes", "Actions citées", "À propos"]
    points = [r for r in book["Vigilance et pistes"].iter_rows(min_row=2, values_only=True)]
    assert points and all(r[2].startswith(("Points de vigilance", "Pistes")) for r in points)
    assert any(r[4] and " sur " in r[4] and r[6].startswith("fiche") for r in points)
    summary = book["Synthèse"]
    header = [c.value for c in summary[1]]
    assert header[:5] == ["N°", "Ligne", "Besoin", "territoire", "centre"]
    assert summary.freeze_panes == "A2"
    assert summary.auto_filter.ref == summary.dimensions
    rows = list(summary.iter_rows(min_row=2, values_only=True))
    assert sum(1 for r in rows if r[header.index("Rang")]) == stats.n_results
    assert len(rows) == stats.n_results + 2  # + the two skipped lines
    for row in summary.iter_rows(min_row=2):
        for cell in row:
            assert cell.data_type != "f", cell.coordinate  # never a formula
    centres = {r[header.index("centre")] for r in rows}
    assert {"'=1+1", "'@centre"} <= centres
    cited = book["Actions citées"]
    cited_header = [c.value for c in cited[1]]
    assert cited_header[:3] == ["Identifiant", "Titre", "Structure"]
    assert {"Limites", "Perspectives", "Public", "Cité pour les besoins n°"} <= set(cited_header)
    assert cited.freeze_panes == "A2" and cited.auto_filter.ref
    ids = [r[0] for r in cited.iter_rows(min_row=2, values_only=True)]
    assert len(ids) == len(set(ids)) > 0
    evil = [r for r in cited.iter_rows(min_row=2, values_only=True) if r[1] == EVIL_TITLE]
    assert evil and evil[0][cited_header.index("Limites")].startswith("'=HYPERLINK")


def test_markdown_report(engine, needs, tmp_path):
    out = tmp_path / "rapport.md"
    run_report(engine, needs, out, top=2)
    text = out.read_text(encoding="utf-8")
    assert text.startswith("# Rapport de similarité")
    assert "## Synthèse" in text and "## Besoin 3 (ligne 6)" in text
    assert "<script>" not in text
    assert "**Limites**" in text and "Points de vigilance" in text


def test_no_match_is_said_honestly(engine, tmp_path):
    path = tmp_path / "b.txt"
    path.write_text("xqzw vbnk plorf\n", encoding="utf-8")
    out = tmp_path / "r.html"
    stats = run_report(engine, read_needs(path), out)
    assert stats.n_results == 0
    visible = _parse(out.read_text(encoding="utf-8")).visible
    assert "Aucune action proche de ce besoin" in visible
    assert "Thèmes les plus voisins" in visible and "Pouvez-vous préciser" in visible
    table = tmp_path / "r.csv"
    run_report(engine, read_needs(path), table)
    header, row = _csv_rows(table)
    assert row[header.index("Niveau")] == "aucune action proche"


def test_filters_and_unknown_filter_note(engine, needs, tmp_path):
    out = tmp_path / "r.csv"
    filters = Filters(departement=("Yvelines",), public=("Martiens",))
    run_report(engine, needs, out, filters=filters)
    header, *rows = _csv_rows(out)
    deps = {r[header.index("Département")] for r in rows if r[header.index("Rang")]}
    assert deps == {"Yvelines"}
    html = tmp_path / "r.html"
    run_report(engine, needs, html, filters=filters)
    visible = _parse(html.read_text(encoding="utf-8")).visible
    assert visible.count("« Martiens » n'existe pas") == 1  # said once, at the top
    assert "Département : Yvelines" in visible


def test_bad_output_format_and_top(engine, needs, tmp_path):
    with pytest.raises(ReportError, match=r"\.html.*\.xlsx.*\.csv.*\.md"):
        run_report(engine, needs, tmp_path / "r.pdf")
    with pytest.raises(ReportError, match="au moins 1"):
        run_report(engine, needs, tmp_path / "r.html", top=0)
    assert not (tmp_path / "r.pdf").exists()


def test_conversation_html_is_self_contained_and_masked(engine):
    answers = []
    for text in ("jardin collectif <b>gras</b>", "xqzw vbnk plorf"):
        result = engine.search(text, top=3)
        answers.append(compose(result, understand(text, engine.actions)))
    html = conversation_html(answers)
    page = _parse(html)
    assert html.startswith("<!DOCTYPE html>")
    assert "b" not in page.tags and "script" not in page.tags
    assert "jardin collectif <b>gras</b>" in page.visible
    assert {"besoin-1", "besoin-2"} <= page.ids and "Question 1" in page.visible
    assert all(link.startswith("#") for link in page.links)
    assert any(c.action.title == EVIL_TITLE for c in answers[0].cards)
    assert "Aucune action proche" in page.visible  # the second question
    assert "marie.durand@exemple.fr" not in html and "[e-mail masqué]" in html
    assert "marie.durand@exemple.fr" in conversation_html(answers, mask=False)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+33", "'+33"),
        ("-2", "'-2"),
        ("@x", "'@x"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("jardin", "jardin"),
        (3, 3),
        (None, None),
    ],
)
def test_safe_cell(value, expected):
    assert safe_cell(value) == expected


def test_output_directory_is_created_and_no_temp_left(engine, needs, tmp_path):
    out = tmp_path / "sous" / "dossier" / "r.xlsx"
    run_report(engine, needs, out)
    assert out.is_file()
    assert [p.name for p in out.parent.iterdir()] == ["r.xlsx"]
    shutil.rmtree(tmp_path / "sous")

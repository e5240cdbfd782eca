"""`reco report` and `reco corpus-report` through Typer's CliRunner (fake encoder)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from typer.testing import CliRunner

from bench.fake_index import fake_env
from recommender.cli.main import app

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("report-cli")
    shutil.copyfile(ROOT / "data" / "actions.jsonl", root / "actions.jsonl")
    return root


@pytest.fixture(scope="module")
def run(workdir):
    runner = CliRunner()
    env = fake_env(workdir)  # the index itself is built through the CLI below

    def invoke(*args: str):
        return runner.invoke(app, list(args), env=env)

    assert invoke("build", "--quiet").exit_code == 0
    return invoke


def _clean_failure(result, code: int = 1) -> None:
    assert result.exit_code == code, result.output
    assert result.stderr.startswith("Erreur : ")
    assert "Traceback" not in result.output


def test_report_from_xlsx_to_html_with_options(run, workdir):
    book = Workbook()
    book.active.append(["Centre", "Description du besoin"])
    book.active.append(["CS A", "jardin partagé au pied des immeubles"])
    book.active.append(["CS B", "aide aux devoirs pour les collégiens"])
    book.active.append(["CS C", ""])
    book.save(workdir / "besoins.xlsx")
    out = workdir / "rapport.html"
    result = run(
        "report", str(workdir / "besoins.xlsx"), "-o", str(out), "--top", "2",
        "--departement", "Yvelines", "--status", "en cours", "--public", "familles",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "2 besoin(s) traité(s), 1 ignoré(s) (ligne(s) 4)" in result.stdout
    assert "besoins/s" in result.stdout
    assert "Besoins" in result.stderr and "100%" in result.stderr  # the progress bar
    html = out.read_text(encoding="utf-8")
    assert "Département : Yvelines" in html and "Statut : en cours" in html
    assert "Données personnelles masquées" in html


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".md", ".html"])
def test_report_every_output_format_from_txt(run, workdir, suffix):
    needs = workdir / "besoins.txt"
    needs.write_text("sorties pour les familles\n=cmd|' /C calc'!A0\n", encoding="utf-8")
    out = workdir / f"r{suffix}"
    result = run("report", str(needs), "-o", str(out), "--no-mask")
    assert result.exit_code == 0, result.output
    assert out.is_file() and out.stat().st_size > 0
    if suffix == ".xlsx":
        sheet = load_workbook(out)["Synthèse"]
        assert "'=cmd|' /C calc'!A0" in {c.value for c in sheet["C"]}
    if suffix == ".csv":
        assert ";'=cmd|' /C calc'!A0;" in out.read_text(encoding="utf-8-sig")


def test_report_column_option_and_errors(run, workdir):
    needs = workdir / "colonnes.csv"
    needs.write_text("Centre;Texte;Lieu\nA;jardin partagé;B\n", encoding="utf-8")
    missing = run("report", str(needs), "-o", str(workdir / "x.html"))
    _clean_failure(missing)
    assert "« Centre », « Texte », « Lieu »" in missing.stderr
    ok = run("report", str(needs), "-o", str(workdir / "x.html"), "--column", "texte")
    assert ok.exit_code == 0, ok.output
    bad_out = run("report", str(needs), "-o", str(workdir / "x.docx"))
    _clean_failure(bad_out)
    assert ".html" in bad_out.stderr and ".xlsx" in bad_out.stderr
    bad_in = workdir / "besoins.ods"
    bad_in.write_text("x", encoding="utf-8")
    wrong = run("report", str(bad_in), "-o", str(workdir / "x.html"))
    _clean_failure(wrong)
    assert ".csv" in wrong.stderr and ".jsonl" in wrong.stderr
    absent = run("report", str(workdir / "absent.csv"), "-o", str(workdir / "x.html"))
    _clean_failure(absent)


def test_report_limits(run, workdir):
    big = workdir / "gros.csv"
    with big.open("wb") as handle:
        handle.truncate(10 * 1024 * 1024)
    _clean_failure(run("report", str(big), "-o", str(workdir / "x.html")))
    many = workdir / "nombreux.txt"
    many.write_text("\n".join(f"besoin numéro {i}" for i in range(5001)), encoding="utf-8")
    result = run("report", str(many), "-o", str(workdir / "x.html"))
    _clean_failure(result)
    assert "5000" in result.stderr


@pytest.mark.parametrize("suffix", [".html", ".xlsx", ".csv"])
def test_corpus_report(run, workdir, suffix):
    out = workdir / f"base{suffix}"
    result = run("corpus-report", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert "97 actions" in result.stdout and "2 groupe(s) de doublons" in result.stdout
    assert out.is_file()


def test_corpus_report_bad_format_and_missing_index(run, workdir):
    _clean_failure(run("corpus-report", "-o", str(workdir / "base.md")))
    result = run("corpus-report", "-o", str(workdir / "b.html"), "--index", str(workdir / "no"))
    _clean_failure(result)
    assert "reco build" in result.stderr

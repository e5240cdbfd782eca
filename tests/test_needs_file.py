"""Reading needs files for batch reports: formats, column choice, skipped rows, limits."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from openpyxl import Workbook

from recommender.reports.needs_file import (
    MAX_BYTES,
    MAX_NEEDS,
    ReportError,
    choose_column,
    read_needs,
)

NEEDS = [
    "Les mamans avec des bébés restent seules chez elles",
    "Des ados désœuvrés le soir au pied des immeubles",
    "Personnes âgées isolées en zone rurale, pas de transport",
]


def _write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def test_csv_comma_utf8_with_extra_columns_and_empty_row(tmp_path):
    path = _write(
        tmp_path / "besoins.csv",
        "territoire,besoin,centre\n"
        f'Nord,"{NEEDS[0]}",CS A\n'
        "Sud,,CS B\n"
        f'Est,"{NEEDS[1]}, vraiment",CS C\n',
    )
    needs = read_needs(path)
    assert needs.column == "besoin"
    assert needs.source == "besoins.csv"
    assert needs.extra_columns == ("territoire", "centre")
    assert [n.text for n in needs.needs] == [NEEDS[0], NEEDS[1] + ", vraiment"]
    assert [n.line for n in needs.needs] == [2, 4]
    assert needs.needs[0].value("territoire") == "Nord"
    assert needs.needs[1].value("centre") == "CS C"
    assert [(s.line, s.reason) for s in needs.skipped] == [(3, "besoin vide")]


def test_csv_semicolon_cp1252_as_saved_by_french_excel(tmp_path):
    text = "Centre;Besoins;Département\r\n" + "".join(
        f"CS é{i};{need};Yvelines\r\n" for i, need in enumerate(NEEDS)
    )
    path = _write(tmp_path / "excel.csv", text, encoding="cp1252")
    needs = read_needs(path)
    assert needs.column == "Besoins"
    assert [n.text for n in needs.needs] == NEEDS  # « œ », « é », « â » decoded
    assert needs.needs[0].value("Centre") == "CS é0"
    assert needs.extra_columns == ("Centre", "Département")


def test_csv_with_bom_and_multiline_cell_keeps_line_numbers(tmp_path):
    path = _write(
        tmp_path / "bom.csv",
        "\ufeffbesoin;lieu\n" + '"première ligne\nseconde ligne";A\n' + f"{NEEDS[2]};B\n",
    )
    needs = read_needs(path)
    assert needs.column == "besoin"  # the BOM is not part of the name
    assert needs.needs[0].text == "première ligne\nseconde ligne"
    assert [n.line for n in needs.needs] == [2, 4]


def test_column_found_by_part_of_its_name_or_given(tmp_path):
    path = _write(tmp_path / "c.csv", "Centre;Besoin exprimé;Note\nA;jardin partagé;x\n")
    assert read_needs(path).column == "Besoin exprimé"
    assert read_needs(path, column="note").column == "Note"  # case and accents ignored


def test_besoin_wins_over_description(tmp_path):
    path = _write(tmp_path / "c.csv", "description,besoin\ncentre rural,jardin\n")
    assert read_needs(path).column == "besoin"
    assert read_needs(path).needs[0].value("description") == "centre rural"


def test_missing_column_lists_the_columns_found(tmp_path):
    path = _write(tmp_path / "c.csv", "Centre;Texte;Lieu\nA;jardin;B\n")
    with pytest.raises(ReportError) as info:
        read_needs(path)
    message = str(info.value)
    assert "« Centre », « Texte », « Lieu »" in message and "--column" in message
    with pytest.raises(ReportError, match=r"« Objet » absente.*« Texte »"):
        read_needs(path, column="Objet")


def test_ambiguous_column_lists_the_candidates(tmp_path):
    path = _write(tmp_path / "c.csv", "besoin principal;besoin secondaire\na;b\n")
    with pytest.raises(ReportError, match=r"plusieurs colonnes.*besoin principal.*--column"):
        read_needs(path)


def test_a_single_column_is_the_needs_whatever_its_name():
    assert choose_column(["Texte"]) == "Texte"


def test_xlsx_first_sheet(tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.append(["Centre", "Besoin", "Public visé"])
    sheet.append(["CS A", NEEDS[0], "familles"])
    sheet.append(["CS B", None, "jeunes"])
    sheet.append([None, None, None])  # blank layout row: not a need, not listed
    sheet.append([75, NEEDS[1], 12.0])
    book.create_sheet("Autre").append(["besoin"])
    path = tmp_path / "besoins.xlsx"
    book.save(path)
    needs = read_needs(path)
    assert needs.column == "Besoin"
    assert [n.text for n in needs.needs] == NEEDS[:2]
    assert [n.line for n in needs.needs] == [2, 5]
    assert needs.needs[1].value("Centre") == "75" and needs.needs[1].value("Public visé") == "12"
    assert [s.line for s in needs.skipped] == [3]


def test_txt_one_need_per_line(tmp_path):
    path = _write(tmp_path / "b.txt", f"{NEEDS[0]}\n\n   \n{NEEDS[1]}\n")
    needs = read_needs(path)
    assert needs.column == "besoin" and needs.extra_columns == ()
    assert [(n.line, n.text) for n in needs.needs] == [(1, NEEDS[0]), (4, NEEDS[1])]
    assert [s.line for s in needs.skipped] == [2, 3]


def test_txt_in_cp1252(tmp_path):
    path = _write(tmp_path / "b.txt", "\n".join(NEEDS), encoding="cp1252")
    assert [n.text for n in read_needs(path).needs] == NEEDS


def test_jsonl_objects_with_need_key_and_plain_strings(tmp_path):
    lines = [
        json.dumps({"need": NEEDS[0], "centre": "A", "effectif": 12}, ensure_ascii=False),
        "",
        json.dumps({"need": "  ", "centre": "B"}),
        json.dumps({"need": NEEDS[1], "centre": "C", "tags": ["x", "y"]}, ensure_ascii=False),
    ]
    path = _write(tmp_path / "b.jsonl", "\n".join(lines))
    needs = read_needs(path)
    assert needs.column == "need"
    assert needs.extra_columns == ("centre", "effectif", "tags")
    assert [n.text for n in needs.needs] == NEEDS[:2]
    assert needs.needs[0].value("effectif") == "12"
    assert needs.needs[1].value("tags") == "x, y"
    assert [s.line for s in needs.skipped] == [3]


@pytest.mark.parametrize(
    ("content", "message"),
    [("{pas du json\n", "ligne 1 : JSON illisible"), ('{"need": "a"}\n[1, 2]\n', "ligne 2")],
)
def test_jsonl_bad_lines_name_their_line(tmp_path, content, message):
    with pytest.raises(ReportError, match=message):
        read_needs(_write(tmp_path / "b.jsonl", content))


@pytest.mark.parametrize("name", ["besoins.ods", "besoins.pdf", "besoins"])
def test_unsupported_extension_lists_the_formats(tmp_path, name):
    path = _write(tmp_path / name, "besoin\njardin\n")
    with pytest.raises(ReportError) as info:
        read_needs(path)
    for fmt in (".csv", ".xlsx", ".txt", ".jsonl"):
        assert fmt in str(info.value)


def test_unreadable_xlsx_and_missing_file(tmp_path):
    with pytest.raises(ReportError, match="pas un classeur Excel lisible"):
        read_needs(_write(tmp_path / "faux.xlsx", "besoin;lieu\njardin;A\n"))
    with pytest.raises(ReportError, match="introuvable"):
        read_needs(tmp_path / "absent.csv")


def test_empty_files_are_refused(tmp_path):
    with pytest.raises(ReportError, match="vide"):
        read_needs(_write(tmp_path / "vide.csv", ""))
    with pytest.raises(ReportError, match="aucun besoin"):
        read_needs(_write(tmp_path / "blancs.txt", "\n  \n\t\n"))
    with pytest.raises(ReportError, match="aucun besoin"):
        read_needs(_write(tmp_path / "entete.csv", "besoin;lieu\n;A\n"))


def test_ten_megabytes_is_refused_before_reading(tmp_path):
    path = tmp_path / "gros.txt"
    with path.open("wb") as handle:
        handle.truncate(MAX_BYTES)
    with pytest.raises(ReportError, match="10 Mo ou plus"):
        read_needs(path)
    just_below = tmp_path / "juste.txt"
    just_below.write_bytes(b"jardin\n" + b" " * (MAX_BYTES - 9) + b"\n")
    assert len(read_needs(just_below).needs) == 1


def test_more_than_5000_needs_is_refused(tmp_path):
    ok = _write(tmp_path / "ok.txt", "\n".join(f"besoin {i}" for i in range(MAX_NEEDS)))
    assert len(read_needs(ok).needs) == MAX_NEEDS
    too_many = _write(tmp_path / "trop.txt", "\n".join(f"besoin {i}" for i in range(5001)))
    with pytest.raises(ReportError, match=r"5001 besoins.*5000"):
        read_needs(too_many)

"""Bad or unusual input: encodings, line endings, truncated files, unknown labels, files that
are not exports, JSON Lines / CSV mistakes, and what the `reco ingest` command does with them.

Every error must name the file and the line, in French, and nothing may be written.
"""

from __future__ import annotations

import json
import re
import shutil
import unicodedata
from pathlib import Path

import pytest
from typer.testing import CliRunner

from recommender.cli.main import app
from recommender.records.export import parse_export
from recommender.records.export_format import ExportError
from recommender.records.ingest import IngestFailed, ingest_paths, read_file

SEED_002 = "002_efe8baf3eec87100.txt"  # layout 2
SEED_003 = "003_1a060a19b6aec06d.txt"  # layout 1
SEEDS = ["000_5dae888f72d1ca25.txt", "001_dec77ce6a5961ade.txt", SEED_002, SEED_003]

# Characters of the seeds that latin-1 cannot encode, and how a latin-1 export writes them.
LATIN1_FALLBACK = {"’": "'", "œ": "oe", "–": "-", "…": "...", "€": "EUR", "“": '"', "”": '"'}
LATIN1_FALLBACK["•"] = "*"

# The opening of a blog post of a federation of social centres (not an export).
BLOG_POST = """Réseau des Centres Sociaux
de Loire-Atlantique

Une place pour tous , un espace pour chacun

Les petites ébullitions du Vendredi du Réseau des Centres Sociaux 44

Durant toute la période du confinement, la Fédération vous propose de participer chaque \
vendredi, aux Petites ébullitions du Réseau en visio-conférence.

Ce rendez-vous hebdomadaire se veut être un espace d’échange, permettant à tous les \
bénévoles et professionnel·le·s du réseau qui le souhaitent, de pouvoir témoigner et \
échanger sur ce qui se vit dans leur structure durant cette période de confinement.

Comment participer ?

Retour sur...

Entre autres :

  • Le constat du mal-être de certains habitants, notamment les plus isolée.
  • Un constat d’un sentiment de ras-le-bol sur cette période qui dure…
"""


def _write(folder: Path, name: str, data: bytes | str) -> Path:
    path = folder / name
    if isinstance(data, str):
        data = data.encode("utf-8")
    path.write_bytes(data)
    return path


def _seed_text(raw_dir: Path, name: str) -> str:
    return (raw_dir / name).read_text(encoding="utf-8")


def _error(path: Path) -> ExportError:
    with pytest.raises(ExportError) as info:
        read_file(path)
    return info.value


def _assert_located(error: ExportError, name: str, line: int) -> None:
    """The message starts with `<file>, ligne <n> :` and the attributes agree."""
    assert (error.source, error.line) == (name, line)
    assert str(error).startswith(f"{name}, ligne {line} : ")


# --- Encodings and line endings ------------------------------------------------------------


@pytest.mark.parametrize("name", SEEDS)
@pytest.mark.parametrize(
    "variant",
    [
        *("cp1252", "utf-8-bom", "crlf", "cr", "cp1252+crlf", "bom+crlf"),
        *("trailing newline", "trailing spaces"),
    ],
)
def test_same_records_whatever_the_encoding(
    raw_dir: Path, tmp_path: Path, name: str, variant: str
) -> None:
    text = _seed_text(raw_dir, name)
    if "crlf" in variant:
        text = text.replace("\n", "\r\n")
    elif variant == "cr":
        text = text.replace("\n", "\r")
    elif variant == "trailing newline":
        text += "\n\n"
    elif variant == "trailing spaces":
        text = "\n".join(line + " \t " for line in text.split("\n"))
    data = text.encode("cp1252") if "cp1252" in variant else text.encode("utf-8")
    if "bom" in variant:
        data = b"\xef\xbb\xbf" + data
    assert data != (raw_dir / name).read_bytes()
    again = read_file(_write(tmp_path, name, data))
    assert [a.to_dict() for a in again] == [a.to_dict() for a in read_file(raw_dir / name)]


@pytest.mark.parametrize("name", SEEDS)
def test_same_records_in_latin_1(raw_dir: Path, tmp_path: Path, name: str) -> None:
    """A latin-1 export (no ’ nor €) reads like the same text in UTF-8."""
    text = _seed_text(raw_dir, name)
    for char, fallback in LATIN1_FALLBACK.items():
        text = text.replace(char, fallback)
    (tmp_path / "utf8").mkdir()
    utf8 = read_file(_write(tmp_path / "utf8", name, text))
    latin = read_file(_write(tmp_path, name, text.encode("latin-1")))
    assert len(latin) == 25
    assert [a.to_dict() for a in latin] == [a.to_dict() for a in utf8]
    assert any("é" in a.summary for a in latin)


def test_decomposed_accents_are_normalised(raw_dir: Path, tmp_path: Path) -> None:
    """NFD text (as some Mac tools write it) gives the same records and ids as NFC."""
    text = _seed_text(raw_dir, SEED_003)
    nfd = unicodedata.normalize("NFD", text)
    assert nfd != text
    again = read_file(_write(tmp_path, SEED_003, nfd))
    assert [a.to_dict() for a in again] == [a.to_dict() for a in read_file(raw_dir / SEED_003)]


# --- Truncated files -----------------------------------------------------------------------


def _cut_lines(text: str, keep: int) -> str:
    return "\n".join(text.split("\n")[:keep])


@pytest.mark.parametrize(
    ("name", "keep"),
    [
        (SEED_002, 360),  # layout 2, inside « Bourse Actions Familles » (glued label line)
        (SEED_002, 1469),  # layout 2, first line of `- Résultat sur le territoire`
        (SEED_002, 1587),  # layout 2, last record, middle of a text value
        (SEED_003, 1250),  # layout 1: only the `Actions` line of the last record
        (SEED_003, 1251),  # layout 1: `Actions` and the title, no field
        (SEED_003, 1270),  # layout 1: in the last record's lists
        (SEED_003, 1290),  # layout 1: just before `- Suite de l'action : Perspectives`
    ],
)
def test_truncated_in_the_middle_of_a_record(
    raw_dir: Path, tmp_path: Path, name: str, keep: int
) -> None:
    text = _cut_lines(_seed_text(raw_dir, name), keep)
    error = _error(_write(tmp_path, name, text))
    assert "tronqué" in str(error)
    assert name in str(error) and re.search(r"ligne \d+ :", str(error))
    assert keep - 2 <= error.line <= keep


def test_truncation_points_at_the_last_line(raw_dir: Path, tmp_path: Path) -> None:
    text = _cut_lines(_seed_text(raw_dir, SEED_002), 1587) + "\n"
    error = _error(_write(tmp_path, SEED_002, text))
    _assert_located(error, SEED_002, 1587)
    assert "« Conte illustré »" not in str(error) and "tronqué" in str(error)


@pytest.mark.parametrize(
    ("name", "first", "last"), [(SEED_002, 1490, 1544), (SEED_003, 1197, 1249)]
)
def test_every_cut_inside_a_record_is_reported(
    raw_dir: Path, name: str, first: int, last: int
) -> None:
    """Cut after any line, or in the middle of any line, before the last label: an error."""
    lines = _seed_text(raw_dir, name).split("\n")
    perspectives = max(
        n for n in range(first, last + 1) if lines[n - 1] == "- Suite de l'action : Perspectives"
    )
    cuts = [(keep, lines[:keep]) for keep in range(first, perspectives)]
    for keep in range(first, perspectives + 1):
        half = lines[keep - 1][: max(1, len(lines[keep - 1]) // 2)]
        cuts.append((keep, [*lines[: keep - 1], half]))
    assert len(cuts) > 100
    for keep, kept in cuts:
        with pytest.raises(ExportError) as info:
            parse_export("\n".join(kept), name)
        assert first <= info.value.line <= keep, (keep, str(info.value))


@pytest.mark.parametrize("cut", ["Act", "Actions", 'Actions "Mise en pl', "FICHIERS ASS"])
def test_cut_after_the_last_complete_record(raw_dir: Path, tmp_path: Path, cut: str) -> None:
    """The last complete record followed by the first letters of the next one."""
    lines = _seed_text(raw_dir, SEED_002).split("\n")[:393]
    assert lines[-1] == "Continuer cette action"
    error = _error(_write(tmp_path, SEED_002, "\n".join([*lines, cut])))
    _assert_located(error, SEED_002, 394)
    assert "tronqué" in str(error)


def test_cut_in_the_middle_of_a_multibyte_character(raw_dir: Path, tmp_path: Path) -> None:
    data = (raw_dir / SEED_002).read_bytes()
    where = data.index("Séjour Parisien".encode()) + 2  # inside the two bytes of « é »
    assert data[where - 1] == 0xC3
    cut = data[:where]
    error = _error(_write(tmp_path, SEED_002, cut))
    _assert_located(error, SEED_002, cut.count(b"\n") + 1)
    assert "tronqué au milieu d'un caractère" in str(error)


# --- Empty files and files that are not exports --------------------------------------------


@pytest.mark.parametrize("data", [b"", b"\n\n  \n", b"\xef\xbb\xbf", b"\xef\xbb\xbf\r\n"])
def test_empty_file(tmp_path: Path, data: bytes) -> None:
    error = _error(_write(tmp_path, "vide.txt", data))
    _assert_located(error, "vide.txt", 1)
    assert "le fichier est vide" in str(error)


@pytest.mark.parametrize(
    "text",
    [
        BLOG_POST,
        "Les actions des centres sociaux\n",
        "Les actions des centres sociaux\nActions\n",
        "nom;prénom\nDupont;Jean\n",
    ],
)
def test_not_an_export(tmp_path: Path, text: str) -> None:
    error = _error(_write(tmp_path, "blog.txt", text))
    _assert_located(error, "blog.txt", 1)
    assert "n'est pas un export « Les actions des centres sociaux »" in str(error)


def test_binary_file_is_not_an_export(tmp_path: Path) -> None:
    error = _error(_write(tmp_path, "image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x81\x8d"))
    assert "n'est pas un export" in str(error) and error.source == "image.txt"


def test_text_before_the_first_action(raw_dir: Path, tmp_path: Path) -> None:
    text = "Bonjour, voici l'export demandé.\n" + _seed_text(raw_dir, SEED_003)
    error = _error(_write(tmp_path, SEED_003, text))
    _assert_located(error, SEED_003, 1)
    assert "texte avant la première action" in str(error)


# --- Unknown or misspelled labels, extra values -------------------------------------------


def _replace_line(text: str, number: int, expected: str, new: str) -> str:
    lines = text.split("\n")
    assert lines[number - 1] == expected
    lines[number - 1] = new
    return "\n".join(lines)


def _insert_after(text: str, number: int, expected: str, new: str) -> str:
    lines = text.split("\n")
    assert lines[number - 1] == expected
    lines.insert(number, new)
    return "\n".join(lines)


@pytest.mark.parametrize(
    ("name", "line", "label", "typo", "suggestion"),
    [
        (SEED_002, 4, "- Statut de l'action", "- Statut de l'actoin", "Statut de l'action"),
        (
            SEED_002,
            1484,
            "- Suite de l'action : Perspectives",
            "- Suite de l'action : Perspective",
            "Suite de l'action : Perspectives",
        ),
        (SEED_003, 1255, "- Statut de l'action", "- Statu de l’action", "Statut de l'action"),
        (
            SEED_003,
            1252,
            "- Structure organisatrice",
            "- Structure organisatrise",
            "Structure organisatrice",
        ),
    ],
)
def test_misspelled_label(
    raw_dir: Path, tmp_path: Path, name: str, line: int, label: str, typo: str, suggestion: str
) -> None:
    text = _replace_line(_seed_text(raw_dir, name), line, label, typo)
    error = _error(_write(tmp_path, name, text))
    _assert_located(error, name, line)
    assert f"libellé de champ inconnu « {typo[2:]} »" in str(error)
    assert f"vouliez-vous dire « {suggestion} » ?" in str(error)


@pytest.mark.parametrize(
    ("name", "line", "value", "field"),
    [
        (SEED_002, 5, "- En cours", "status"),
        (SEED_002, 7, "- Citoyenneté", "dimension"),
        (SEED_002, 14, "- CENTRE SOCIOCULTUREL AUDREY BARTIER - Pas-de-Calais", "structure"),
        (SEED_003, 5, "- Maison des Habitants de Lèguevin - Haute-Garonne", "structure"),
        (SEED_003, 8, "- En cours", "status"),
    ],
)
def test_second_value_of_a_single_valued_field(
    raw_dir: Path, tmp_path: Path, name: str, line: int, value: str, field: str
) -> None:
    """`- Date de début` after a single value: an unknown label, not a second value."""
    text = _insert_after(_seed_text(raw_dir, name), line, value, "- Date de début")
    error = _error(_write(tmp_path, name, text))
    _assert_located(error, name, line + 1)
    assert "libellé de champ inconnu « Date de début »" in str(error)
    assert f"le champ « {field} » a déjà une valeur : « {value[2:]} »" in str(error)


def test_free_text_between_list_items(raw_dir: Path, tmp_path: Path) -> None:
    text = _insert_after(_seed_text(raw_dir, SEED_002), 10, "- éducation / scolarité", "Sport")
    error = _error(_write(tmp_path, SEED_002, text))
    _assert_located(error, SEED_002, 11)
    assert "valeur inattendue dans le champ « keywords »" in str(error)


def test_text_outside_any_field(raw_dir: Path, tmp_path: Path) -> None:
    text = _insert_after(
        _seed_text(raw_dir, SEED_002), 3, "DESCRIPTION DE L'ACTION", "Statut : voir plus bas"
    )
    error = _error(_write(tmp_path, SEED_002, text))
    _assert_located(error, SEED_002, 4)
    assert "texte hors de tout champ" in str(error)


# --- JSON Lines and CSV mistakes ----------------------------------------------------------


def test_jsonl_unknown_field(tmp_path: Path) -> None:
    rows = [{"title": "Atelier"}, {"title": "Jardin", "statut": "En cours"}]
    path = _write(tmp_path, "a.jsonl", "\n".join(json.dumps(r) for r in rows))
    error = _error(path)
    _assert_located(error, "a.jsonl", 2)
    assert "champ(s) inconnu(s) : statut" in str(error)


@pytest.mark.parametrize(
    ("content", "line", "message"),
    [
        ('{"title": "A"}\n{"title": "B"', 2, "JSON invalide"),
        ('{"title": "A"}\n["B"]\n', 2, "chaque ligne doit être un objet JSON"),
        ('{"title": ""}\n', 1, "action sans titre"),
        ("\n\n", 1, "le fichier est vide"),
    ],
)
def test_jsonl_errors(tmp_path: Path, content: str, line: int, message: str) -> None:
    error = _error(_write(tmp_path, "b.jsonl", content))
    _assert_located(error, "b.jsonl", line)
    assert message in str(error)


@pytest.mark.parametrize("delimiter", [",", ";"])
def test_csv_unknown_column(tmp_path: Path, delimiter: str) -> None:
    text = delimiter.join(["title", "statut", "keywords"]) + "\n"
    text += delimiter.join(["Atelier", "En cours", "Culture|Sport"]) + "\n"
    error = _error(_write(tmp_path, "t.csv", text))
    _assert_located(error, "t.csv", 2)
    assert "champ(s) inconnu(s) : statut" in str(error)
    assert "noms attendus : ceux de actions.jsonl" in str(error)


@pytest.mark.parametrize(
    ("content", "line", "message"),
    [
        ("titre;résumé\nAtelier;Un atelier\n", 1, "colonne « title » introuvable"),
        ("title,summary\nAtelier,Un atelier,en trop\n", 2, "plus de cellules que de colonnes"),
        ("title;summary\n;Un résumé sans titre\n", 2, "action sans titre"),
        ("  \n", 1, "le fichier est vide"),
    ],
)
def test_csv_errors(tmp_path: Path, content: str, line: int, message: str) -> None:
    error = _error(_write(tmp_path, "c.csv", content))
    _assert_located(error, "c.csv", line)
    assert message in str(error)


# --- Several files: every error is reported, nothing is kept ------------------------------


def test_all_file_errors_are_collected(raw_dir: Path, tmp_path: Path) -> None:
    shutil.copy(raw_dir / SEED_003, tmp_path / SEED_003)
    _write(tmp_path, "blog.txt", BLOG_POST)
    _write(tmp_path, "vide.txt", b"")
    _write(tmp_path, "notes.md", "ignoré")
    with pytest.raises(IngestFailed) as info:
        ingest_paths([tmp_path])
    errors = info.value.errors
    assert len(errors) == 2
    assert errors[0].startswith("blog.txt, ligne 1 : ") and errors[1].startswith(
        "vide.txt, ligne 1"
    )


def test_missing_input(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="introuvable"):
        ingest_paths([tmp_path / "absent"])


def test_folder_without_inputs(tmp_path: Path) -> None:
    _write(tmp_path, "notes.md", "rien")
    with pytest.raises(ExportError, match=r"aucun fichier \.txt, \.jsonl ou \.csv"):
        ingest_paths([tmp_path])


# --- Through the command line -------------------------------------------------------------


@pytest.fixture
def existing_output(data_dir: Path, tmp_path: Path) -> Path:
    """A copy of the committed actions.jsonl, to check a failed ingest leaves it alone."""
    out = tmp_path / "out" / "actions.jsonl"
    out.parent.mkdir()
    shutil.copy(data_dir / "actions.jsonl", out)
    return out


def _inputs_with(raw_dir: Path, folder: Path, name: str, data: bytes | str) -> Path:
    folder.mkdir()
    for seed in SEEDS:
        shutil.copy(raw_dir / seed, folder / seed)
    _write(folder, name, data)
    return folder


@pytest.mark.parametrize(
    ("name", "data", "located"),
    [
        ("004_blog.txt", BLOG_POST, "004_blog.txt, ligne 1 : ce fichier n'est pas un export"),
        ("005_vide.txt", b"", "005_vide.txt, ligne 1 : le fichier est vide"),
        (
            "006_coupe.txt",
            "Les actions des centres sociaux\nActions\nJardin\n- Résumé\nUn",
            "006_coupe.txt, ligne 5 : fichier tronqué",
        ),
        ("007.csv", "title;statut\nA;B\n", "007.csv, ligne 2 : champ(s) inconnu(s) : statut"),
    ],
)
def test_cli_refuses_bad_input_and_keeps_the_output(
    raw_dir: Path,
    tmp_path: Path,
    existing_output: Path,
    name: str,
    data: bytes | str,
    located: str,
) -> None:
    before = existing_output.read_bytes()
    inputs = _inputs_with(raw_dir, tmp_path / "in", name, data)
    result = CliRunner().invoke(app, ["ingest", str(inputs), "-o", str(existing_output)])
    assert result.exit_code != 0
    assert f"Erreur : {located}" in result.stderr
    assert "rien n'a été écrit" in result.stderr and "est inchangé" in result.stderr
    assert "Traceback" not in result.output
    assert existing_output.read_bytes() == before
    assert sorted(p.name for p in existing_output.parent.iterdir()) == ["actions.jsonl"]


def test_cli_missing_input_keeps_the_output(tmp_path: Path, existing_output: Path) -> None:
    before = existing_output.read_bytes()
    result = CliRunner().invoke(
        app, ["ingest", str(tmp_path / "absent"), "-o", str(existing_output)]
    )
    assert result.exit_code != 0
    assert "introuvable" in result.stderr and "rien n'a été écrit" in result.stderr
    assert existing_output.read_bytes() == before


def test_cli_accepts_other_encodings(raw_dir: Path, tmp_path: Path, data_dir: Path) -> None:
    """The four seeds re-encoded (cp1252 + CRLF, BOM) give the committed actions.jsonl."""
    inputs = tmp_path / "in"
    inputs.mkdir()
    for k, seed in enumerate(SEEDS):
        text = _seed_text(raw_dir, seed)
        data = (
            text.replace("\n", "\r\n").encode("cp1252")
            if k % 2
            else b"\xef\xbb\xbf" + text.encode()
        )
        _write(inputs, seed, data)
    out = tmp_path / "actions.jsonl"
    result = CliRunner().invoke(app, ["ingest", str(inputs), "-o", str(out), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["parsed"], summary["unique"]) == (100, 97)
    assert out.read_bytes() == (data_dir / "actions.jsonl").read_bytes()

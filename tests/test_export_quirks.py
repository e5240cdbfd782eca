"""The quirks of the export format, one by one, on small hand-written exports.

The golden tests check them on the real seeds; here each quirk is isolated so a failure
names it.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from bench.export_render import HEADER, render_export, render_layout1, render_layout2
from recommender.records.export import (
    Line,
    find_record_starts,
    label_of,
    parse_export,
    split_lines,
)
from recommender.records.export_format import ExportError
from recommender.records.ingest import decode_bytes
from recommender.records.records import Action

BASE = Action(
    title="Jardin partagé",
    structure="Centre social Les Tilleuls - Gironde",
    status="En cours",
    dimension="Citoyenneté",
    keywords=("Environnement",),
    summary="Un jardin au pied des immeubles.",
    territory=("Un quartier",),
    perspectives="Continuer.",
)


def _one(text: str) -> Action:
    actions = parse_export(text, "q.txt")
    assert len(actions) == 1
    return actions[0]


def _export(*lines: str) -> str:
    return "\n".join([HEADER, *lines])


def _with(layout: int, old: str, new: str, action: Action = BASE) -> str:
    """The rendered export of `action` with one line replaced."""
    lines = (render_layout1 if layout == 1 else render_layout2)(action)
    assert lines.count(old) >= 1, old
    return _export(*[new if line == old else line for line in lines])


# --- Labels ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ("- Statut de l'action", "status"),
        ("- Statut de l’action", "status"),  # typographic apostrophe
        ("-  Statut   de l'action  ", "status"),  # extra spaces
        ("- Suite de l'action : Limites", "limits"),
        ("- Précision ( si autre )", "initiative_detail"),
        ("- Qui est à l’initiative de l’action ?", "initiative"),
        ("- Parentalité", None),  # a value, not a label
        ("Résumé", None),  # a label needs its `- `
        ("-Résumé", None),
        ("- Résumé du projet", None),
    ],
)
def test_label_of(line: str, field: str | None) -> None:
    assert label_of(line) == field


@pytest.mark.parametrize(
    ("raw", "parts"),
    [
        (
            "en comité d’usagers,- Structure organisatrice",
            ["en comité d’usagers,", "- Structure organisatrice"],
        ),
        (
            "TOTAL 10 000,00 € - Nombre de personnes mobilisés pour cette action",
            ["TOTAL 10 000,00 €", "- Nombre de personnes mobilisés pour cette action"],
        ),
        ("intra familiale- Territoire concerné", ["intra familiale", "- Territoire concerné"]),
        ("Saint Gilles - Fontenilles - Haute-Garonne", None),  # a dash, not a label
        ("les enfants - Public", None),  # one-word labels are never glued
        ("- Structure organisatrice", None),  # already a label line
    ],
)
def test_glued_labels_are_split_on_the_same_line_number(raw: str, parts: list[str] | None) -> None:
    lines = split_lines(f"avant\n{raw}\napres")
    expected = [Line(2, part) for part in (parts or [raw])]
    assert lines == [Line(1, "avant"), *expected, Line(3, "apres")]


def test_glued_label_inside_a_record() -> None:
    text = render_export([BASE], 2).replace(
        "Un jardin au pied des immeubles.\n- Structure organisatrice",
        "Un jardin au pied des immeubles,- Structure organisatrice",
    )
    action = _one(text)
    assert action.summary == "Un jardin au pied des immeubles,"
    assert action.structure == BASE.structure


# --- Record starts and titles --------------------------------------------------------------


@pytest.mark.parametrize(
    ("layout", "title"),
    [
        (2, 'Atelier cuisine parents"A toute âge un repas"'),
        (2, '"LIENS à la MAISON"'),
        (2, 'Espace de jeux "La récré des bout\'choux"'),
        (1, "Actions culturelle et de loisirs chez l'habitant"),
        (1, '"A coeur d\'être parent"'),
        (1, "« Relayer le dispositif »"),
        (2, "Actions en famille"),
    ],
)
def test_titles(layout: int, title: str) -> None:
    action = replace(BASE, title=title)
    assert _one(render_export([action], layout)).title == title


def test_a_line_starting_with_actions_inside_a_value_is_text() -> None:
    value = (
        "Inauguration du conte en 2015.\n"
        "Actions en lien avec le livre en 2015 mobilisant les enfants\n"
        "Effets: lutter contre l'illettrisme."
    )
    action = replace(BASE, result_territory=value)
    for layout in (1, 2):
        assert _one(render_export([action], layout)).result_territory == value


def test_record_starts_need_a_title_then_fields() -> None:
    lines = split_lines(
        _export(
            "Actions",  # 2: layout 1 start
            "Titre un",
            "- Résumé",
            "Actions",  # 5: a word alone in a text, followed by text: not a start
            "suite du texte",
            'Actions "Titre deux"',  # 7: layout 2 start
            "DESCRIPTION DE L'ACTION",
            'Actions "cité dans un texte"',  # 9: followed by text: not a start
            "la suite",
        )
    )
    assert [(lines[i].number, title) for i, title in find_record_starts(lines)] == [
        (2, "Titre un"),
        (7, "Titre deux"),
    ]


def test_layout_2_title_line_followed_by_a_blank_line() -> None:
    text = render_export([BASE], 2).replace('"Jardin partagé"\n', '"Jardin partagé"\n\n')
    assert _one(text).title == "Jardin partagé"


def test_empty_layout_2_title_is_an_error() -> None:
    with pytest.raises(ExportError, match=r"q\.txt, ligne 2 : action sans titre"):
        parse_export(render_export([replace(BASE, title="T")], 2).replace('"T"', '""'), "q.txt")


def test_both_layouts_and_blank_lines_between_records() -> None:
    text = "\n".join(
        [HEADER, *render_layout1(BASE), "", "", *render_layout2(replace(BASE, title="Deux"))]
    )
    first, second = parse_export(text, "q.txt")
    assert (first.title, second.title) == ("Jardin partagé", "Deux")
    assert first.id != second.id
    assert first.summary == second.summary == BASE.summary


def test_the_header_line_is_optional() -> None:
    text = render_export([BASE], 1).removeprefix(HEADER + "\n")
    assert _one(text).source_line == 1


# --- Values ------------------------------------------------------------------------------


def test_field_order_does_not_matter() -> None:
    """Fields in reverse order (label blocks moved as a whole) give the same record."""
    lines = render_layout1(BASE)
    blocks: list[list[str]] = []
    for line in lines[2:]:
        if label_of(line):
            blocks.append([line])
        else:
            blocks[-1].append(line)
    assert len(blocks) == 20 and blocks[0][0] == "- Structure organisatrice"
    text = _export(*lines[:2], *(line for block in blocks[::-1] for line in block))
    assert _one(text) == _one(render_export([BASE], 1))


def test_a_lone_dash_is_an_empty_value() -> None:
    text = _with(1, "- Suite de l'action : Limites", "- Suite de l'action : Limites\n-")
    assert _one(text).limits == ""
    text = render_export([BASE], 1).replace("- Dimension\n- Citoyenneté\n", "- Dimension\n-\n")
    assert _one(text).dimension == ""


def test_text_values_keep_inner_lines_and_lose_outer_blank_lines() -> None:
    value = "Première ligne\n\n- deuxième, avec un tiret\n   troisième indentée"
    text = render_export([replace(BASE, summary=value)], 1)
    text = text.replace("- Résumé\n", "- Résumé\n\n\n").replace("indentée\n", "indentée\n\n")
    assert _one(text).summary == value


def test_list_values_skip_dash_sub_heading_and_blank_lines() -> None:
    partners = ("Caf", "Commune")
    action = replace(BASE, partners=partners)
    text = render_export([action], 2).replace("- Caf\n", "- Caf\n\n")
    assert "Partenaires d'action:\n- Caf" in text
    assert _one(text).partners == partners


def test_territory_is_printed_twice_and_kept_once() -> None:
    text = render_export([BASE], 2)
    printed = "- Territoire concerné\n- Un quartier"
    assert text.count(printed) == 2
    assert _one(text).territory == ("Un quartier",)
    # The second copy spelt differently (case, spaces): still one territory, the first spelling.
    head, _, tail = text.rpartition(printed)
    assert _one(head + "- Territoire concerné\n- un  QUARTIER" + tail).territory == ("Un quartier",)


def test_lists_keep_order_and_drop_folded_duplicates() -> None:
    action = replace(BASE, keywords=("Santé", "Culture"))
    text = render_export([action], 1).replace("- Culture\n", "- Culture\n- sante\n- Santé\n")
    assert _one(text).keywords == ("Santé", "Culture")


@pytest.mark.parametrize(
    ("structure", "name", "departement"),
    [
        (
            "Maison des Habitants de La Salvetat Saint Gilles - Fontenilles - Haute-Garonne",
            "Maison des Habitants de La Salvetat Saint Gilles - Fontenilles",
            "Haute-Garonne",
        ),
        ("EVS PAVILLON LACOFRETTE - Yvelines", "EVS PAVILLON LACOFRETTE", "Yvelines"),
        ("Centre social sans département", "Centre social sans département", ""),
        ("Centre-ville - Nord", "Centre-ville", "Nord"),
    ],
)
def test_structure_name_and_departement(structure: str, name: str, departement: str) -> None:
    action = replace(BASE, structure=structure)
    parsed = _one(render_export([action], 2))
    assert (parsed.structure, parsed.structure_name, parsed.departement) == (
        structure,
        name,
        departement,
    )


@pytest.mark.parametrize("status", ["Terminée", "terminée", "TERMINEE", "Terminee"])
def test_terminated_whatever_the_spelling(status: str) -> None:
    action = replace(BASE, status=status, end_reason="Fin du financement.")
    parsed = _one(render_export([action], 1))
    assert parsed.is_terminated and parsed.status == status
    assert parsed.end_reason == "Fin du financement."


def test_section_headers_with_either_apostrophe_are_not_values() -> None:
    for header in ("AUTO-EVALUATION DE L’ACTION", "AUTO-EVALUATION DE L'ACTION"):
        text = _with(2, "AUTO-EVALUATION DE L’ACTION", header)
        assert _one(text) == _one(render_export([BASE], 2))


def test_empty_fields_are_empty_strings_and_tuples() -> None:
    card = _one(render_export([Action(title="Carte courte")], 2))
    data = card.to_dict()
    assert data["title"] == "Carte courte"
    assert all(data[name] == "" for name in ("summary", "status", "structure", "files"))
    assert all(data[name] == [] for name in ("keywords", "territory", "partners"))


def test_decoding_normalises_to_nfc() -> None:
    composed = render_export([BASE], 2)
    decomposed = composed.replace("é", "e\u0301")
    assert decomposed != composed
    assert decode_bytes(decomposed.encode("utf-8"), "q.txt") == composed


def test_export_error_message_format() -> None:
    error = ExportError("export.txt", 12, "libellé de champ inconnu « X »")
    assert str(error) == "export.txt, ligne 12 : libellé de champ inconnu « X »"
    assert (error.source, error.line) == ("export.txt", 12)
    assert isinstance(error, ValueError)

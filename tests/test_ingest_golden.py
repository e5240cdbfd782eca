"""Golden tests on the four real seed exports in data/raw/.

Expected values are read from the exports themselves: literal strings copied from the
files, or line ranges of the raw text (`raw(…)`), never the parser's own output.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from recommender.cli.main import app
from recommender.records.export import parse_export
from recommender.records.export_format import LABELS, SECTION_HEADERS
from recommender.records.ingest import IngestReport, decode_bytes, ingest_paths, read_file
from recommender.records.records import LIST_FIELDS, TEXT_FIELDS, Action, fold, load_actions

SEEDS = {
    "000": "000_5dae888f72d1ca25.txt",
    "001": "001_dec77ce6a5961ade.txt",
    "002": "002_efe8baf3eec87100.txt",
    "003": "003_1a060a19b6aec06d.txt",
}
LAYOUT = {"000": 1, "001": 2, "002": 2, "003": 1}
TERMINATED = {"000": 6, "001": 7, "002": 6, "003": 8}  # `- Terminée` lines in each export


@pytest.fixture(scope="module")
def raw_text(raw_dir: Path) -> dict[str, list[str]]:
    """The raw lines of each seed (index 0 is line 1), read without the parser."""
    return {
        k: (raw_dir / name).read_text(encoding="utf-8").split("\n") for k, name in SEEDS.items()
    }


@pytest.fixture(scope="module")
def parsed(raw_dir: Path) -> dict[str, list[Action]]:
    """Every record of each seed, before de-duplication."""
    return {k: read_file(raw_dir / name) for k, name in SEEDS.items()}


@pytest.fixture(scope="module")
def report(raw_dir: Path) -> IngestReport:
    return ingest_paths([raw_dir])


@pytest.fixture(scope="module")
def raw(raw_text: dict[str, list[str]]):
    def lines(seed: str, first: int, last: int | None = None) -> str:
        """Lines `first`..`last` (1-based, inclusive) of a seed, joined by line breaks."""
        return "\n".join(raw_text[seed][first - 1 : (last or first)])

    return lines


@pytest.fixture(scope="module")
def record(parsed: dict[str, list[Action]]):
    def find(seed: str, line: int) -> Action:
        found = [a for a in parsed[seed] if a.source_line == line]
        assert len(found) == 1, f"no single record at {seed}:{line}"
        return found[0]

    return find


# --- Counts, record boundaries and duplicates -------------------------------------------


def test_the_four_seeds_are_there(raw_dir: Path) -> None:
    assert sorted(p.name for p in raw_dir.iterdir()) == sorted(SEEDS.values())


def test_25_records_per_file_100_in_all(report: IngestReport) -> None:
    assert report.counts == {name: 25 for name in SEEDS.values()}
    assert report.parsed == 100


def test_97_records_after_deduplication(report: IngestReport) -> None:
    assert len(report.actions) == 97
    assert len({a.id for a in report.actions}) == 97


def test_duplicate_groups(report: IngestReport) -> None:
    found = {
        (g.canonical.title, g.canonical.source_line, tuple(a.source_line for a in g.others))
        for g in report.groups
    }
    assert found == {
        ("boîte à livres", 212, (279, 346)),
        ("ANIMATION DE PROXIMITE / ORGANISATION DE FETES DE QUARTIER", 1427, (1483,)),
    }
    for group in report.groups:
        assert {a.source_file for a in (group.canonical, *group.others)} == {SEEDS["001"]}
        # The copies are exact: same content, same id, similarity 1.
        assert {a.id for a in group.others} == {group.canonical.id}
        refs = group.canonical.duplicates
        assert [r.source_line for r in refs] == [a.source_line for a in group.others]
        assert all(r.similarity == 1.0 and r.id == group.canonical.id for r in refs)


def test_only_canonical_copies_are_kept(report: IngestReport) -> None:
    titles = [a.title for a in report.actions]
    assert titles.count("boîte à livres") == 1
    assert titles.count("ANIMATION DE PROXIMITE / ORGANISATION DE FETES DE QUARTIER") == 1
    kept = next(a for a in report.actions if a.title == "boîte à livres")
    assert (kept.source_file, kept.source_line) == (SEEDS["001"], 212)
    singles = [a for a in report.actions if a.title != "boîte à livres"]
    assert sum(len(a.duplicates) for a in singles) == 1


@pytest.mark.parametrize("seed", sorted(SEEDS))
def test_records_start_exactly_at_the_actions_lines(
    seed: str, parsed: dict[str, list[Action]], raw_text: dict[str, list[str]]
) -> None:
    """Layout 1: a line that is exactly `Actions`; layout 2: `Actions "…"`."""
    lines = raw_text[seed]
    if LAYOUT[seed] == 1:
        expected = [n for n, text in enumerate(lines, 1) if text == "Actions"]
    else:
        expected = [n for n, text in enumerate(lines, 1) if text.startswith('Actions "')]
    assert [a.source_line for a in parsed[seed]] == expected
    assert all(a.source_file == SEEDS[seed] for a in parsed[seed])


def test_title_starting_with_actions_in_layout_1(record, raw) -> None:
    """000:1087 `Actions` then the title « Actions culturelle… »: one record, not two."""
    assert raw("000", 1087, 1088) == "Actions\nActions culturelle et de loisirs chez l'habitant"
    action = record("000", 1087)
    assert action.title == "Actions culturelle et de loisirs chez l'habitant"
    assert action.keywords == ("Culture", "vacances / loisirs")
    assert action.summary == raw("000", 1100)
    assert action.experience == raw("000", 1107, 1108)
    assert action.description == raw("000", 1118, 1122)
    assert action.result_inhabitants == raw("000", 1132, 1136)
    assert action.perspectives == raw("000", 1140)
    # This record has no `- Fichier(s) associé(s)` label at all: still "".
    assert action.files == ""
    previous = record("000", 1045)
    assert (previous.limits, previous.perspectives) == ("", "")


def test_description_line_starting_with_actions_does_not_start_a_record(record, raw) -> None:
    """002:1470 « Actions en lien avec le livre… » is a line of « Conte illustré »."""
    assert raw("002", 1470).startswith("Actions en lien avec le livre en 2015")
    conte = record("002", 1411)
    assert conte.title == "Conte illustré"
    assert conte.result_territory == raw("002", 1469, 1471)
    assert conte.result_territory.split("\n")[1].startswith("Actions en lien avec le livre")
    assert conte.limits == raw("002", 1482, 1483)
    assert record("002", 1490).title == "MOS'ART"


# --- Titles ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seed", "line", "title"),
    [
        ("001", 2, 'Atelier cuisine parents"A toute âge un repas"'),
        ("001", 75, 'Espace de jeux "La récré des bout\'choux"'),
        ("001", 598, 'atelier "tous à vos bocaux"'),
        ("001", 832, '"Vers le O dechet..."'),
        ("002", 554, '"LIENS à la MAISON"'),
        ("002", 266, "AUTODEFENSE FEMINISTE - STAGES"),
        ("000", 171, '"A coeur d\'être parent"'),
        ("000", 376, 'Défi Mode"'),
        (
            "000",
            1221,
            "« Relayer le dispositif de confinement et lutter contre la propagation "
            "du coronavirus »",
        ),
        ("003", 102, 'One Women show "Parentalité"'),
        ("003", 1250, '"Fête en Plein Air : Jeux, Repas et Loto"'),
    ],
)
def test_titles_keep_their_quotes(record, seed: str, line: int, title: str) -> None:
    assert record(seed, line).title == title


# --- Labels glued to the end of a previous line ------------------------------------------


def test_structure_label_glued_to_summary(record, raw) -> None:
    """002:349 `…en comité d’usagers,- Structure organisatrice`."""
    assert raw("002", 349).endswith("en comité d’usagers,- Structure organisatrice")
    bourse = record("002", 333)
    assert bourse.title == "Bourse Actions Familles"
    assert bourse.summary == raw("002", 343, 348) + (
        "\nAfin de faire la promotion de cette action, le référent familles organise une "
        "présentation des projets en comité d’usagers,"
    )
    assert bourse.structure == "Centre Social Marlborough - CENTRE SOCIAL ECLATE - Pas-de-Calais"
    assert bourse.structure_name == "Centre Social Marlborough - CENTRE SOCIAL ECLATE"
    assert bourse.departement == "Pas-de-Calais"


def test_territory_and_limits_labels_glued(record, raw) -> None:
    """002:359 `…intra familiale- Territoire concerné`, 002:391 `…- Suite de l'action : Limites`."""
    bourse = record("002", 333)
    two_lines = (
        "Faire d’une idée individuelle un projet collectif,\n"
        "La reproduction des activités collectives intra familiale"
    )
    assert bourse.experience == raw("002", 357) + "\n" + two_lines
    assert bourse.territory == ("Un quartier",)
    assert bourse.result_inhabitants == two_lines
    assert bourse.limits == ""
    assert bourse.perspectives == "Continuer cette action"
    assert bourse.result_territory == ""
    assert bourse.result_centre == raw("002", 387, 388)
    assert bourse.initiative == ("Le centre social", "Un groupe d'habitants")
    assert bourse.partners == ("Association locale", "Caf", "Commune", "Etat")
    assert bourse.description == raw("002", 374, 378)
    assert (bourse.resources, bourse.people) == ("6700€", "2 professionnels\n10 bénévoles")


def test_people_label_glued_to_budget_line(record, raw) -> None:
    """001:817, a one-line budget ending in ` - Nombre de personnes mobilisés…`."""
    assert raw("001", 817).endswith(" - Nombre de personnes mobilisés pour cette action")
    terrasses = record("001", 772)
    assert terrasses.title == "Terrasses d'été"
    assert terrasses.resources.startswith("DEPENSES FINANCEMENT Personnel et charges sociales")
    assert terrasses.resources.endswith("TOTAL DEPENSES 10 000,00 € TOTAL FINANCEMENT 10 000,00 €")
    assert "\n" not in terrasses.resources
    assert terrasses.people == "4 professionnels"
    # A `Terminée` action whose reason was left empty.
    assert terrasses.status == "Terminée" and terrasses.end_reason == ""
    assert terrasses.keywords == ("intergénérationnel", "vacances / loisirs", "Mixité sociale")
    # Text lines that start with `- ` but are not labels stay in the value.
    assert terrasses.description == raw("001", 806, 815)
    assert terrasses.description.split("\n")[2].startswith("- Jeux d’extérieur")


# --- Short cards: empty values are "" or (), never missing, never "-" ---------------------


def test_short_card_a_coeur_d_etre_parent(record, data_dir: Path) -> None:
    card = record("000", 171)
    expected = Action(
        title='"A coeur d\'être parent"',
        structure="ESPACE FAMILLE - Haute-Garonne",
        structure_name="ESPACE FAMILLE",
        departement="Haute-Garonne",
        status="En cours",
        keywords=("Parentalité", "éducation / scolarité", "Santé"),
        initiative=("Le centre social",),
        public=("familles",),
        partners=("Autre",),
        source_file=SEEDS["000"],
        source_line=171,
    ).with_id()
    assert card == expected
    assert all(getattr(card, name) == "" for name in TEXT_FIELDS[4:] if name != "status")
    # In the committed JSON Lines every field is present, as "" or [].
    line = next(
        json.loads(text)
        for text in (data_dir / "actions.jsonl").read_text(encoding="utf-8").splitlines()
        if json.loads(text)["id"] == card.id
    )
    assert set(line) == set(card.to_dict())
    assert line["summary"] == "" and line["dimension"] == "" and line["territory"] == []


def test_short_card_liens_a_la_maison(record) -> None:
    card = record("002", 554)
    assert card.title == '"LIENS à la MAISON"'
    assert card.structure_name == "MJEP Maison de la Jeunesse et de l'Education Populaire"
    assert card.departement == "Pas-de-Calais"
    assert (card.status, card.dimension) == ("En cours", "Services")
    assert card.keywords == ("intergénérationnel", "Solidarité", "Viellissement")
    assert [getattr(card, n) for n in LIST_FIELDS[1:]] == [(), (), (), ()]
    assert [getattr(card, n) for n in TEXT_FIELDS[7:]] == [""] * len(TEXT_FIELDS[7:])


# --- Structure and département --------------------------------------------------------


@pytest.mark.parametrize(
    ("seed", "line", "name", "departement"),
    [
        (
            "000",
            1087,
            "Maison des Habitants de La Salvetat Saint Gilles - Fontenilles",
            "Haute-Garonne",
        ),
        (
            "003",
            102,
            "Maison des Habitants de La Salvetat Saint Gilles - Fontenilles",
            "Haute-Garonne",
        ),
        ("001", 413, "ESPACE ANDRE JOLY - CENTRE DE VIE SOCIALE", "Yvelines"),
        ("003", 948, "CENTRE SOCIAL POLYGONE - ASSQOT", "Haute-Garonne"),
        ("000", 776, "AVA HABITAT ET NOMADISME - EVS BISCHWILLER", "Bas-Rhin"),
        (
            "000",
            2,
            "3 P'TITS CAILLOUX (ex : ASSOCIATION D ANIMATION DU CANTON D AIGUEBELLE-AACA)",
            "Savoie",
        ),
        ("001", 2, "CENTRE SOCIAL ALBERT SCHWEITZER", "Yvelines"),
    ],
)
def test_structure_splits_on_the_last_dash(
    record, seed: str, line: int, name: str, departement: str
) -> None:
    action = record(seed, line)
    assert action.structure == f"{name} - {departement}"
    assert (action.structure_name, action.departement) == (name, departement)


# --- A full record, field by field --------------------------------------------------------


def test_full_record_atelier_cuisine_parents(record, raw) -> None:
    action = record("001", 2)
    expected = Action(
        title='Atelier cuisine parents"A toute âge un repas"',
        structure="CENTRE SOCIAL ALBERT SCHWEITZER - Yvelines",
        structure_name="CENTRE SOCIAL ALBERT SCHWEITZER",
        departement="Yvelines",
        status="Terminée",
        end_reason="Essoufflement des participants.",
        dimension="Services",
        keywords=("Parentalité",),
        summary=raw("001", 14, 18),
        initiative=("Le centre social",),
        initiative_detail="L'association le Secours Catholique",
        territory=("Une commune",),
        experience=raw("001", 28, 30),
        public=("familles",),
        partners=("Association locale",),
        description=raw("001", 43, 46),
        resources=(
            "Dépenses : 6 ateliers\n"
            "Achat de légumes et de fruits\n"
            "50 x 6= 300€\n"
            "Recettes budgétaire : Budget Centre Social destiné à l'atelier cuisine parents:\n"
            "300€\n"
            "Hors salaires de la référente famille et des 2 agents du Centre Social :"
        ),
        people=(
            "3 professionnelles et deux bénévoles pour l'animation.\n"
            "Bilan des ateliers :\n"
            "20 parents : 18 mères et 2 papas\n"
            "33 participations\n"
            "Tranche d'âge entre 23 et 35 ans"
        ),
        result_territory=raw("001", 62, 63),
        result_centre=raw("001", 65),
        result_inhabitants=raw("001", 67),
        limits=(
            "Aprés 6 ateliers, à raison d'un atelier par mois, nous avons constaté un "
            "essouflement des participants."
        ),
        perspectives=raw("001", 71, 72),
        files="",
        source_file=SEEDS["001"],
        source_line=2,
    ).with_id()
    assert action == expected
    assert action.is_terminated


def test_full_record_layout_1_famille_en_fete(record, raw) -> None:
    action = record("000", 2)
    assert action.title == "Famille en Fête"
    assert action.departement == "Savoie"
    assert (action.status, action.end_reason, action.dimension) == ("En cours", "", "Citoyenneté")
    assert action.keywords == ("Parentalité", "Mixité sociale")
    assert action.summary == raw("000", 16)
    assert action.initiative == ("Le centre social", "Autre")
    assert action.initiative_detail == "LAEP de Maurienne"
    assert action.territory == ("Autre",)
    assert action.experience == raw("000", 26, 27)
    assert (action.public, action.partners) == (("familles",), ("Autre",))
    assert action.description == raw("000", 37, 39)
    assert action.resources == "à completer"
    assert action.people == raw("000", 43)
    assert (
        action.result_centre == "+ de publics nous connaissent et + de fréquentations à nos actions"
    )
    assert action.perspectives == "Continuer à faire l'action tous les 2 ans."


# --- Multi-line values, lists, status -----------------------------------------------------


def test_text_lines_starting_with_a_dash_stay_in_the_value(record, raw) -> None:
    action = record("000", 111)
    assert action.summary == (
        "- Accompagner les habitants (cible parents et personnes âgées) dans l’utilisation "
        "des nouvelles technologies,\n"
        "- Sensibiliser sur les dangers d’internet,\n"
        "- Faciliter les démarches administratives"
    )
    assert action.initiative == (
        "Le centre social",
        "Un ou plusieurs partenaire(s)",
        "Un habitant",
        "Un groupe d'habitants",
    )
    assert action.experience == raw("000", 136, 142)
    assert action.people == "4 bénévoles\n3 intervenants CLCV Guadeloupe\n2 prestataires"
    assert action.result_territory == action.limits == ""
    assert len(action.perspectives.split("\n")) == 5


@pytest.mark.parametrize(
    ("seed", "line", "end_reason"),
    [
        ("001", 2, "Essoufflement des participants."),
        (
            "002",
            1490,
            "Action finalisée sur l'amélioration du cadre de vie, embellissement des lieux "
            "d'accueil des logements HLM",
        ),
        ("003", 102, "Action ponctuelle"),
        ("001", 772, ""),
    ],
)
def test_end_reason_of_terminated_actions(record, seed: str, line: int, end_reason: str) -> None:
    action = record(seed, line)
    assert action.status == "Terminée" and action.is_terminated
    assert action.end_reason == end_reason


@pytest.mark.parametrize("seed", sorted(SEEDS))
def test_status_values(seed: str, parsed: dict[str, list[Action]]) -> None:
    statuses = [a.status for a in parsed[seed]]
    assert statuses.count("Terminée") == TERMINATED[seed]
    assert set(statuses) == {"En cours", "Terminée"}
    assert all(a.end_reason == "" for a in parsed[seed] if not a.is_terminated)


@pytest.mark.parametrize(
    ("seed", "line", "keywords"),
    [
        ("000", 54, ("Environnement", "Intégration", "Mixité sociale")),
        ("002", 1411, ("intergénérationnel", "éducation / scolarité", "Viellissement")),
        ("001", 212, ("intergénérationnel", "Culture")),
        ("001", 180, ()),
        ("002", 1490, ("Logement",)),
    ],
)
def test_keywords(record, seed: str, line: int, keywords: tuple[str, ...]) -> None:
    assert record(seed, line).keywords == keywords


def test_partners_list_skips_the_sub_heading(record) -> None:
    conte = record("002", 1411)
    assert conte.partners == (
        "Éducation Nationale",
        "ARS",
        "Association locale",
        "Canton",
        "CARSAT",
        "Conseil départemental",
        "Fondations",
        "MSA",
    )
    assert conte.public == ("Tous publics",)


def test_territory_printed_twice_is_kept_once(
    record, raw_text: dict[str, list[str]], parsed: dict[str, list[Action]]
) -> None:
    block = raw_text["001"][1:74]
    assert block.count("- Territoire concerné") == 2 and block.count("- Une commune") == 2
    assert record("001", 2).territory == ("Une commune",)
    for actions in parsed.values():
        for action in actions:
            assert len(action.territory) <= 1, action.title


# --- Invariants over all 100 records ------------------------------------------------------

_LABEL_LINES = {"- " + label for label in LABELS} | set(SECTION_HEADERS)


def test_every_record_is_clean(parsed: dict[str, list[Action]]) -> None:
    for action in (a for actions in parsed.values() for a in actions):
        where = f"{action.source_file}:{action.source_line}"
        assert action.title.strip() == action.title != "", where
        assert action.id == action.with_id().id, where
        for name in TEXT_FIELDS:
            value = getattr(action, name)
            assert isinstance(value, str), where
            assert value.strip() != "-", (where, name)
            assert value == value.strip("\n"), (where, name)
            assert not _LABEL_LINES & set(value.split("\n")), (where, name)
            assert not any(line != line.rstrip() for line in value.split("\n")), (where, name)
        for name in LIST_FIELDS:
            items = getattr(action, name)
            assert all(item and item == item.strip() and item != "-" for item in items), where
            assert len({fold(i) for i in items}) == len(items), (where, name)
        assert action.structure and action.departement, where
        assert " - " not in action.departement, where
        assert action.structure == f"{action.structure_name} - {action.departement}", where


def test_nfc_and_apostrophes_are_kept(record) -> None:
    """The exports mix ' and ’: values keep the character the export used."""
    assert "d’usagers" in record("002", 333).summary
    assert "l’utilisation" in record("000", 111).title


# --- Committed data/actions.jsonl --------------------------------------------------------


def test_committed_actions_jsonl_is_a_fresh_ingest(
    raw_dir: Path, data_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "actions.jsonl"
    result = CliRunner().invoke(app, ["ingest", str(raw_dir), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "97 actions uniques" in result.output
    committed = data_dir / "actions.jsonl"
    assert load_actions(committed) == load_actions(out)
    assert committed.read_bytes() == out.read_bytes()


def test_committed_actions_have_the_ingest_ids(report: IngestReport, data_dir: Path) -> None:
    committed = load_actions(data_dir / "actions.jsonl")
    assert [a.id for a in committed] == [a.id for a in report.actions]
    assert all(a.id == a.with_id().id for a in committed)


# --- Stable ids ---------------------------------------------------------------------------


def _ids_by_place(actions: list[Action]) -> dict[tuple[str, str], str]:
    return {(a.source_file, a.title + "|" + a.structure): a.id for a in actions}


def test_same_file_parsed_twice_gives_the_same_ids(raw_dir: Path) -> None:
    for name in SEEDS.values():
        first, second = read_file(raw_dir / name), read_file(raw_dir / name)
        assert [a.id for a in first] == [a.id for a in second]
        assert first == second


def test_ids_do_not_depend_on_other_files(raw_dir: Path, tmp_path: Path) -> None:
    alone = ingest_paths([raw_dir / SEEDS["002"]])
    everything = ingest_paths([raw_dir])
    ids_all = {a.id for a in everything.actions}
    assert {a.id for a in alone.actions} <= ids_all
    # Add a file (a renamed copy of 001): no new action, ids unchanged.
    for name in SEEDS.values():
        shutil.copy(raw_dir / name, tmp_path / name)
    shutil.copy(raw_dir / SEEDS["001"], tmp_path / "004_copie.txt")
    more = ingest_paths([tmp_path])
    assert more.parsed == 125
    assert [a.id for a in more.actions] == [a.id for a in everything.actions]
    assert sum(len(a.duplicates) for a in more.actions) == 3 + 25


@pytest.mark.parametrize("seed", sorted(SEEDS))
def test_ids_do_not_depend_on_record_order(seed: str, raw_text: dict[str, list[str]]) -> None:
    lines = raw_text[seed]
    original = parse_export("\n".join(lines), SEEDS[seed])
    starts = [a.source_line - 1 for a in original] + [len(lines)]
    blocks = [lines[starts[k] : starts[k + 1]] for k in range(len(original))]
    shuffled = [blocks[k] for k in (*range(1, len(blocks), 2), *range(0, len(blocks), 2))]
    text = "\n".join([lines[0], *(line for block in shuffled for line in block)])
    reordered = parse_export(text, SEEDS[seed])
    assert [a.title for a in reordered] != [a.title for a in original]
    assert sorted(a.id for a in reordered) == sorted(a.id for a in original)
    assert _ids_by_place(reordered) == _ids_by_place(original)


def test_ids_do_not_depend_on_the_file_name_or_encoding(raw_dir: Path) -> None:
    data = (raw_dir / SEEDS["003"]).read_bytes()
    a = parse_export(decode_bytes(data, "a.txt"), "a.txt")
    b = parse_export(decode_bytes(data.replace(b"\n", b"\r\n"), "b.txt"), "b.txt")
    assert [x.id for x in a] == [y.id for y in b]
    assert {x.source_file for x in b} == {"b.txt"}

"""Round trips: records → export text (bench/export_render.py) → parser → the same records.

Also checks that the renderer writes what the real exports write, and that JSON Lines and
CSV files using the field names of actions.jsonl read back to the same records.
"""

from __future__ import annotations

import csv
import difflib
import io
import json
import string
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.export_render import (
    L_FILES,
    S_FILES,
    render_export,
    render_lines,
    start_lines,
)
from recommender.records.export import parse_export
from recommender.records.export_format import HEADER, LABELS, SECTION_HEADERS, SUB_HEADINGS
from recommender.records.ingest import decode_bytes, ingest_paths, read_file
from recommender.records.records import LIST_FIELDS, TEXT_FIELDS, Action, fold

SEEDS = {
    "000": ("000_5dae888f72d1ca25.txt", 1),
    "001": ("001_dec77ce6a5961ade.txt", 2),
    "002": ("002_efe8baf3eec87100.txt", 2),
    "003": ("003_1a060a19b6aec06d.txt", 1),
}


def _seed_actions(raw_dir: Path, seed: str) -> list[Action]:
    return read_file(raw_dir / SEEDS[seed][0])


def _without_place(actions: list[Action]) -> list[Action]:
    return [replace(a, source_file="", source_line=0) for a in actions]


# --- The renderer writes the real format ---------------------------------------------------


def _kind_of_difference(old: list[str], new: list[str]) -> str:
    """Name the known, harmless difference between seed lines and rendered lines."""
    if not new and set(old) == {"-"}:
        return "dash line"  # a lone `-` in a text value (empty value or bullet): dropped
    if not old and set(new) <= {S_FILES, L_FILES}:
        return "files label"  # a few records have no `- Fichier(s) associé(s)` label
    glued = len(old) == 1 and len(new) == 2 and new[1].startswith("- ")
    if glued and old[0].startswith(new[0]) and old[0].endswith(new[1]):
        between = old[0][len(new[0]) : len(old[0]) - len(new[1])]
        if between.strip() == "":
            return "glued label"  # `…usagers,- Structure organisatrice` split in two
    return f"unexplained: {old!r} -> {new!r}"


@pytest.mark.parametrize(
    ("seed", "expected"),
    [
        ("000", {"dash line": 1, "files label": 2}),
        ("001", {"glued label": 1}),
        ("002", {"glued label": 3, "dash line": 27, "files label": 2}),
        ("003", {"files label": 3}),
    ],
)
def test_renderer_reproduces_the_seed_exports(
    raw_dir: Path, seed: str, expected: dict[str, int]
) -> None:
    """Rendering the parsed seeds gives back the files, but for the listed differences."""
    name, layout = SEEDS[seed]
    original = (raw_dir / name).read_text(encoding="utf-8").split("\n")
    rendered = render_lines(_seed_actions(raw_dir, seed), layout)
    kinds: dict[str, int] = {}
    matcher = difflib.SequenceMatcher(a=original, b=rendered, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        old, new = original[i1:i2], rendered[j1:j2]
        kind = _kind_of_difference(old, new)
        assert not kind.startswith("unexplained"), f"{name}:{i1 + 1}: {kind}"
        # Dash lines count one by one; an inserted FICHIERS ASSOCIES + label pair counts once.
        kinds[kind] = kinds.get(kind, 0) + (len(old) if kind == "dash line" else 1)
    assert kinds == expected


@pytest.mark.parametrize("seed", sorted(SEEDS))
@pytest.mark.parametrize("layout", [1, 2])
def test_seed_records_survive_a_round_trip_in_both_layouts(
    raw_dir: Path, seed: str, layout: int
) -> None:
    actions = _seed_actions(raw_dir, seed)
    text = render_export(actions, layout)
    again = parse_export(text, "rendu.txt")
    assert _without_place(again) == _without_place(actions)
    assert [a.source_line for a in again] == start_lines(actions, layout)
    assert [a.id for a in again] == [a.id for a in actions]


# --- Property-based round trip ------------------------------------------------------------


def _norm(text: str) -> str:
    return " ".join(text.replace("’", "'").split())


_LABEL_NORMS = [_norm(label) for label in LABELS]
_RESERVED = {_norm(h).casefold() for h in (*SECTION_HEADERS, *SUB_HEADINGS, HEADER)}
_FORMAT_LINES = ["Actions", *(_norm(h) for h in SECTION_HEADERS), *("- " + n for n in _LABEL_NORMS)]


def _looks_like_format(line: str) -> bool:
    """True for lines the export format itself could claim (an inherent ambiguity).

    `Actions…` lines, section headers, `- Label` lines or near misses of them (typo
    detection), labels glued at the end of a line, a lone `-`, and the first letters of a
    format line (what a truncated file ends with).
    """
    text = _norm(line)
    if text in ("", "-") or text.startswith("Actions") or text.casefold() in _RESERVED:
        return True
    if text.startswith("- ") and difflib.get_close_matches(text[2:], _LABEL_NORMS, cutoff=0.6):
        return True
    if any(text.endswith("- " + label) for label in _LABEL_NORMS):
        return True
    return any(f.startswith(text) for f in _FORMAT_LINES)


LETTERS = string.ascii_letters + "éèêëàâçîïôûùœÉÈÀÇÔ"
INNER = LETTERS + string.digits + "'’,.;:!?()/€%-"
# Mostly real words (French accents, apostrophes, label words such as « Public » that must
# stay text when they are not on a label line), sometimes random ones.
VOCAB = (
    *("atelier", "parents", "enfants", "été", "Fête", "quartier", "l'école", "d’usagers"),
    *("œuvre", "Élan", "À", "2021", "10€", "(CAF)", "bénévoles,", "ça;", "sérieux:", "«lien»"),
    *("Public", "Résumé", "Dimension", "Territoire", "Statut", "Actions", "action", "Structure"),
    *("organisatrice", "Limites", "Perspectives", "ESPACE", "FAMILLE", "Haute-Garonne"),
    *("Île-de-France", "centre", "social", "Ô", "DESCRIPTION", "ACTION", "50%", "x/y", "..."),
    *("!", "?", "Précision", "Mots", "clés"),
)
random_words = st.builds(
    str.__add__, st.sampled_from(LETTERS + string.digits), st.text(alphabet=INNER, max_size=6)
)
words = st.one_of(st.sampled_from(VOCAB), st.sampled_from(VOCAB), random_words)
quoted_words = st.one_of(
    words, words.map(lambda w: f'"{w}"'), words.map(lambda w: f'{w}"'), words.map("«{}»".format)
)


def _phrase(word_strategy: st.SearchStrategy[str], separators: tuple[str, ...], max_words: int):
    def join(parts: list[tuple[str, str]]) -> str:
        return "".join(sep + word for sep, word in parts).strip()

    pairs = st.tuples(st.sampled_from(separators), word_strategy)
    return st.lists(pairs, min_size=1, max_size=max_words).map(join)


phrase = _phrase(words, (" ", " ", " ", ", ", " - "), 5)
# A value printed as `- value` (list item, status, structure…) must not read as a label.
value_phrase = phrase.filter(lambda s: not _looks_like_format("- " + s))
plain_phrase = _phrase(words, (" ",), 3).filter(lambda s: not _looks_like_format("- " + s))
titles = (
    st.tuples(
        st.sampled_from(["", '"', "« "]),
        _phrase(quoted_words, (" ",), 5),
        st.sampled_from(["", '"']),
    )
    .map("".join)
    .filter(lambda s: not _looks_like_format(s) and not s.startswith("-"))
)
text_lines = st.one_of(
    phrase, phrase.map(lambda s: "- " + s), phrase.map(lambda s: "  " + s), st.just("")
).filter(lambda s: s == "" or not _looks_like_format(s))


@st.composite
def text_values(draw: st.DrawFn) -> str:
    """ "" or several lines (inner blank lines allowed, none at either end)."""
    if draw(st.integers(0, 2)) > 0:  # most fields of real records are short or empty
        return ""
    lines = draw(st.lists(text_lines, min_size=1, max_size=3))
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


items = st.lists(value_phrase, max_size=3, unique_by=fold).map(tuple)
single = st.one_of(st.just(""), value_phrase)


@st.composite
def structures(draw: st.DrawFn) -> dict[str, str]:
    if draw(st.booleans()) and draw(st.booleans()):
        return {"structure": "", "structure_name": "", "departement": ""}
    departement = draw(st.one_of(st.just(""), plain_phrase))
    name = draw(value_phrase if departement else value_phrase.filter(lambda s: " - " not in s))
    structure = f"{name} - {departement}" if departement else name
    return {"structure": structure, "structure_name": name, "departement": departement}


@st.composite
def actions(draw: st.DrawFn) -> Action:
    values: dict[str, object] = {"title": draw(titles), **draw(structures())}
    values["status"] = draw(st.one_of(st.sampled_from(["En cours", "Terminée", ""]), value_phrase))
    values["dimension"] = draw(single)
    for name in TEXT_FIELDS:
        if name not in values:
            values[name] = draw(text_values())
    for name in LIST_FIELDS:
        values[name] = draw(items)
    return Action(**values)  # type: ignore[arg-type]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    records=st.lists(actions(), min_size=1, max_size=2),
    layout=st.sampled_from([1, 2]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp1252"]),
    newline=st.sampled_from(["\n", "\r\n"]),
    final_newline=st.booleans(),
)
def test_rendered_records_parse_back_identically(
    records: list[Action], layout: int, encoding: str, newline: str, final_newline: bool
) -> None:
    text = render_export(records, layout, final_newline=final_newline)
    data = text.replace("\n", newline).encode(encoding)
    parsed = parse_export(decode_bytes(data, "gen.txt"), "gen.txt")
    expected = [
        replace(a, source_file="gen.txt", source_line=line).with_id()
        for a, line in zip(records, start_lines(records, layout), strict=True)
    ]
    assert [a.to_dict() for a in parsed] == [a.to_dict() for a in expected]


@settings(max_examples=30, deadline=None)
@given(records=st.lists(actions(), min_size=2, max_size=3), layout=st.sampled_from([1, 2]))
def test_ids_survive_reordering(records: list[Action], layout: int) -> None:
    forward = parse_export(render_export(records, layout), "a.txt")
    backward = parse_export(render_export(records[::-1], layout), "b.txt")
    assert [a.id for a in backward] == [a.id for a in forward][::-1]


# --- JSON Lines and CSV with the field names of actions.jsonl ------------------------------

_PLACE_FIELDS = ("id", "source_file", "source_line", "duplicates")


def _content(actions: list[Action]) -> list[dict]:
    rows = [a.to_dict() for a in actions]
    for row in rows:
        for name in ("source_file", "source_line", "duplicates"):
            row.pop(name)
    return rows


def _rows(actions: list[Action], list_sep: str) -> list[dict[str, str]]:
    rows = []
    for action in actions:
        row = {k: v for k, v in action.to_dict().items() if k not in _PLACE_FIELDS}
        for name in LIST_FIELDS:
            row[name] = list_sep.join(row[name])
        rows.append(row)
    return rows


@pytest.fixture(scope="module")
def sample(raw_dir: Path) -> list[Action]:
    """Seed records with glued labels, multi-line values, quotes, `;` and `,` in text."""
    picks = {("001", 2), ("001", 772), ("002", 333), ("002", 554), ("000", 171), ("000", 260)}
    found = []
    for seed in SEEDS:
        found += [a for a in _seed_actions(raw_dir, seed) if (seed, a.source_line) in picks]
    assert len(found) == len(picks)
    assert any(";" in a.summary or ";" in a.description for a in found)
    return found


def test_jsonl_with_lists_as_arrays(tmp_path: Path, sample: list[Action]) -> None:
    path = tmp_path / "actions.jsonl"
    lines = [json.dumps({k: v for k, v in a.to_dict().items() if k != "id"}) for a in sample]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    back = read_file(path)
    assert _content(back) == _content(sample)
    assert [a.source_line for a in back] == list(range(1, len(sample) + 1))
    assert {a.source_file for a in back} == {"actions.jsonl"}


def test_jsonl_with_lists_as_strings_and_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "mini.jsonl"
    rows = [
        {"title": "Jardin partagé", "keywords": "Environnement | Solidarité", "public": "familles"},
        {"title": "Café des parents", "structure": "CS Les Tilleuls - Gironde", "territory": []},
    ]
    path.write_text("\n" + "\n\n".join(json.dumps(r, ensure_ascii=False) for r in rows), "utf-8")
    first, second = read_file(path)
    assert first.keywords == ("Environnement", "Solidarité") and first.public == ("familles",)
    assert first.summary == "" and first.territory == ()
    assert (second.structure_name, second.departement) == ("CS Les Tilleuls", "Gironde")
    assert (first.source_line, second.source_line) == (2, 4)


def test_the_committed_jsonl_reads_back_as_an_input(data_dir: Path, tmp_path: Path) -> None:
    """actions.jsonl itself is a valid input: same records, same ids."""
    path = tmp_path / "reprise.jsonl"
    path.write_bytes((data_dir / "actions.jsonl").read_bytes())
    report = ingest_paths([path])
    assert report.parsed == 97 and len(report.actions) == 97
    original = [json.loads(line) for line in path.read_text("utf-8").splitlines()]
    assert [a.id for a in report.actions] == [row["id"] for row in original]


@pytest.mark.parametrize(
    ("delimiter", "list_sep"), [(",", "|"), (";", "|"), (",", ";"), (";", ";"), ("\t", "|")]
)
def test_csv_round_trip(
    tmp_path: Path, sample: list[Action], delimiter: str, list_sep: str
) -> None:
    buffer = io.StringIO()
    rows = _rows(sample, list_sep)
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), delimiter=delimiter)
    writer.writeheader()
    writer.writerows(rows)
    path = tmp_path / "actions.csv"
    path.write_text(buffer.getvalue(), encoding="utf-8")
    back = read_file(path)
    assert _content(back) == _content(sample)
    assert [a.id for a in back] == [a.id for a in sample]


def test_csv_with_few_columns_in_cp1252(tmp_path: Path) -> None:
    path = tmp_path / "tableur.csv"
    text = (
        "title;structure;keywords;summary\r\n"
        "Fête des voisins;Centre social Élan - Hérault;Solidarité|Mixité sociale;"
        '"Un repas partagé ; une ""grande"" table.\r\nDeux lignes."\r\n'
        "Atelier vélo;;Mobilité;\r\n"
    )
    path.write_bytes(text.encode("cp1252"))
    first, second = read_file(path)
    assert first.title == "Fête des voisins"
    assert (first.structure_name, first.departement) == ("Centre social Élan", "Hérault")
    assert first.keywords == ("Solidarité", "Mixité sociale")
    assert first.summary == 'Un repas partagé ; une "grande" table.\nDeux lignes.'
    assert second.title == "Atelier vélo" and second.structure == "" and second.summary == ""
    assert second.keywords == ("Mobilité",)

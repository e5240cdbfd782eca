"""Hybrid search over the real 97 actions with the fake encoder (fast, deterministic)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from embeddings.fake import FakeEncoder
from recommender.answers.answer import result_to_dict, result_to_text
from recommender.core.config import Settings
from recommender.index.build import build_index
from recommender.index.lexical import analyze
from recommender.records.records import load_actions
from recommender.search.calibration import MatchLevel
from recommender.search.filters import Filters, facet_counts
from recommender.search.search import MAX_QUERY_CHARS
from recommender.search.service import Engine, QueryError, check_top, prepare_query

ROOT = Path(__file__).resolve().parents[1]
QUERY = "Aide aux devoirs et accompagnement scolaire des enfants après l'école"


@pytest.fixture(scope="module")
def engine(tmp_path_factory) -> Engine:
    root = tmp_path_factory.mktemp("search")
    data = root / "actions.jsonl"
    shutil.copyfile(ROOT / "data" / "actions.jsonl", data)
    settings = Settings(
        data_path=data,
        index_dir=root / "index",
        cache_dir=root / "cache",
        glossary_path=ROOT / "data" / "glossary.tsv",
        encoders=("fake",),
    )
    encoder = FakeEncoder()
    build_index(
        load_actions(data),
        [("fake", encoder)],
        settings.index_dir,
        settings.cache_dir,
        show_progress=False,
    )
    return Engine.load(settings, encoders=[encoder])


def _ids(result) -> list[str]:
    return [h.action.id for h in result.hits]


def test_engine_holds_the_97_actions(engine):
    assert len(engine.actions) == 97
    assert len({a.id for a in engine.actions}) == 97
    assert engine.recommender.encoders[0].id == "fake-trigram-64"


def test_one_result_per_action(engine):
    result = engine.search(QUERY, top=97)
    ids = _ids(result)
    assert len(ids) == 97
    assert len(set(ids)) == 97
    scores = [h.score for h in result.hits]
    assert scores == sorted(scores, reverse=True)


def test_duplicates_of_a_canonical_never_appear(engine):
    with_copies = [a for a in engine.actions if a.duplicates]
    assert with_copies, "the real data has exact copies folded into canonical actions"
    for action in with_copies:
        ids = _ids(engine.search(action.title, top=97))
        copies = {d.id for d in action.duplicates}
        assert ids.count(action.id) == 1
        assert sum(ids.count(c) for c in copies - {action.id}) == 0


def test_results_are_relevant_for_a_precise_query(engine):
    action = next(a for a in engine.actions if a.title == "boîte à livres")
    result = engine.search("une boîte à livres en libre service dans le quartier", top=5)
    assert action.id in _ids(result)
    assert not result.no_match
    assert result.hits[0].level is not MatchLevel.FAR


# ---- filters ------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["Yvelines", "yvelines", "  YVELINES "])
def test_departement_filter(engine, value):
    result = engine.search("familles", Filters(departement=(value,)), top=50)
    assert result.hits
    assert {h.action.departement for h in result.hits} == {"Yvelines"}
    assert len(result.hits) == sum(a.departement == "Yvelines" for a in engine.actions)
    assert not result.notes


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("en cours", "En cours"),
        ("En cours", "En cours"),
        ("actif", "En cours"),
        ("terminée", "Terminée"),
        ("terminee", "Terminée"),
        ("Terminé", "Terminée"),
        ("fini", "Terminée"),
    ],
)
def test_status_filter_aliases(engine, value, expected):
    result = engine.search("jardin", Filters(status=(value,)), top=97)
    assert {h.action.status for h in result.hits} == {expected}
    assert len(result.hits) == sum(a.status == expected for a in engine.actions)
    assert not result.notes


def test_public_filter_and_combination(engine):
    result = engine.search("sorties", Filters(public=("familles",)), top=97)
    assert result.hits
    assert all("familles" in h.action.public for h in result.hits)
    both = engine.search(
        "sorties", Filters(public=("familles",), departement=("Pas-de-Calais",)), top=97
    )
    assert both.hits
    assert set(_ids(both)) < set(_ids(result))
    assert all(h.action.departement == "Pas-de-Calais" for h in both.hits)


def test_several_values_of_one_facet_are_ored(engine):
    result = engine.search("jeunes", Filters(departement=("Yvelines", "Savoie")), top=97)
    assert {h.action.departement for h in result.hits} == {"Yvelines", "Savoie"}


def test_unknown_filter_value_is_ignored_with_a_french_note(engine):
    plain = engine.search(QUERY, top=10)
    result = engine.search(QUERY, Filters(departement=("Atlantide",)), top=10)
    assert _ids(result) == _ids(plain)
    [note] = result.notes
    assert "Filtre ignoré" in note and "Atlantide" in note and "Département" in note
    mixed = engine.search(QUERY, Filters(departement=("Atlantide", "Yvelines")), top=10)
    assert {h.action.departement for h in mixed.hits} == {"Yvelines"}
    assert len(mixed.notes) == 1
    status = engine.search(QUERY, Filters(status=("en pause",)), top=10)
    assert _ids(status) == _ids(plain)
    assert "Statut" in status.notes[0]


def test_filter_matching_nothing_gives_no_hits(engine):
    # Both values exist, but no action is in Savoie and terminated.
    assert not any(a.departement == "Savoie" and a.is_terminated for a in engine.actions)
    result = engine.search(QUERY, Filters(departement=("Savoie",), status=("terminée",)), top=5)
    assert result.hits == ()
    assert result.no_match
    assert not result.notes


# ---- facets -------------------------------------------------------------------------


def test_facets_count_the_plausible_hits(engine):
    result = engine.search(QUERY, top=97)
    plausible = [h.action for h in result.hits if h.level is not MatchLevel.FAR]
    assert plausible
    assert result.facets == facet_counts(plausible)
    departements = result.facets["departement"]
    assert sum(departements.values()) == len(plausible)
    for facet, counts in result.facets.items():
        for value, count in counts.items():
            assert 0 < count <= len(plausible), (facet, value)
    assert list(departements.values()) == sorted(departements.values(), reverse=True)


# ---- glossary, passages -------------------------------------------------------------


def test_glossary_acronym_expansion_is_noted(engine):
    result = engine.search("Nous voulons créer un CLAS pour les collégiens", top=5)
    notes = result.expansion.notes()
    assert "CLAS = contrat local d'accompagnement à la scolarité" in notes
    assert any("CLAS" in line for line in result_to_dict(result)["glossary"])
    assert "CLAS = " in result_to_text(result)
    # The expansion brings the schooling actions up: its words are searched too.
    stems = set(analyze("accompagnement scolaire devoirs scolarité"))
    assert any(stems & set(analyze(h.passage.text)) for h in result.hits)


def test_acronym_needs_its_capitals(engine):
    result = engine.search("une classe de danse pour les enfants", top=5)
    assert all(e.term != "CLAS" for e in result.expansion.entries)


def test_passage_comes_from_the_action_and_marks_query_words(engine):
    result = engine.search(QUERY, top=10)
    stems = set(analyze(QUERY)) | set(analyze(result.expansion.extra_text))
    marked_any = False
    for hit in result.hits:
        passage = hit.passage
        chunk = passage.chunk
        assert chunk.action_id == hit.action.id
        assert chunk in engine.index.chunks
        core = passage.text.removeprefix("… ").removesuffix(" …")
        assert core in chunk.text
        ends = [0] + [end for _, end in passage.spans]
        for (start, end), previous_end in zip(passage.spans, ends, strict=False):
            assert previous_end <= start < end  # sorted, not overlapping
            word = passage.text[start:end]
            assert re.fullmatch(r"[^\W_]+", word), word
            assert analyze(word)[0] in stems
            assert word.lower() in passage.terms
            marked_any = True
        # Records may quote with « » themselves: only the added marks are counted.
        assert passage.marked().count("«") == passage.text.count("«") + len(passage.spans)
    assert marked_any


def test_similar_excludes_the_action_itself(engine):
    for action in (engine.actions[0], *(a for a in engine.actions if a.duplicates)):
        result = engine.similar(action.id, top=10)
        assert len(result.hits) == 10
        assert action.id not in _ids(result)
        assert not {d.id for d in action.duplicates} & set(_ids(result))
    everything = engine.similar(engine.actions[0].id, top=500)
    assert len(everything.hits) == 96
    assert any("96" in note for note in everything.notes)


def test_similar_unknown_id(engine):
    with pytest.raises(QueryError, match="act-inexistant"):
        engine.similar("act-inexistant")


# ---- bad or unusual input -----------------------------------------------------------


@pytest.mark.parametrize("raw", ["", "   ", "\n\t  \r\n", "😀🎉🙏", "!!! ??? …", "\x00\x07"])
def test_empty_or_wordless_query_is_a_query_error(engine, raw):
    with pytest.raises(QueryError) as caught:
        engine.search(raw)
    assert re.search(r"besoin", str(caught.value), re.IGNORECASE)


def test_huge_query_is_truncated_with_a_note(engine):
    raw = ("Les familles du quartier cherchent des activités pour leurs enfants. " * 1500)[:100_000]
    assert len(raw) == 100_000
    result = engine.search(raw, top=3)
    assert len(result.query) <= MAX_QUERY_CHARS
    assert result.query == " ".join(raw.split())[: len(result.query)]
    assert len(result.hits) == 3
    assert any("100 000" in note and "2 000" in note for note in result.notes)


def test_prepare_query_cleans_control_characters_and_spaces():
    prepared = prepare_query("  aide\x00aux\t\tdevoirs \n ")
    assert prepared.text == "aide aux devoirs"
    assert prepared.notes == ()


@pytest.mark.parametrize("top", [0, -3])
def test_top_below_one_is_a_query_error(engine, top):
    with pytest.raises(QueryError, match="au moins 1"):
        engine.search(QUERY, top=top)


def test_top_above_collection_is_clamped_with_a_note(engine):
    result = engine.search(QUERY, top=1000)
    assert len(result.hits) == 97
    assert any("97" in note for note in result.notes)
    assert check_top(5, 97) == (5, [])


def test_english_query_does_not_crash(engine):
    result = engine.search("Homework help for children after school with volunteers", top=5)
    assert len(result.hits) == 5
    assert isinstance(result.no_match, bool)
    json.dumps(result_to_dict(result), ensure_ascii=False)


def test_script_tag_is_kept_as_text(engine):
    raw = "<script>alert('x')</script> aide aux devoirs"
    result = engine.search(raw, top=3)
    assert len(result.hits) == 3
    payload = json.loads(json.dumps(result_to_dict(result), ensure_ascii=False))
    assert payload["query"] == raw
    assert "<script>" in result_to_text(result)


def test_search_many_matches_single_searches(engine):
    queries = ["jardin partagé", "aide aux devoirs", "repas des seniors"]
    batch = engine.search_many(queries, top=5)
    assert [r.query for r in batch] == queries
    for query, result in zip(queries, batch, strict=True):
        assert _ids(result) == _ids(engine.search(query, top=5))
    with pytest.raises(QueryError):
        engine.search_many(["jardin", "🎉"])


def test_prepare_query_removes_invisible_characters_inside_words():
    prepared = prepare_query("jar\u200bdin par\u00adtagé \u202equartier\u202c \ufeffados\u200d")
    assert prepared.text == "jardin partagé quartier ados"
    with pytest.raises(QueryError):
        prepare_query("\u200b\u200e\ufeff")


def test_corrupt_calibration_is_logged_then_ignored(tmp_path, caplog):
    import logging

    from recommender.search.service import _load_calibration

    path = tmp_path / "calibration.json"
    path.write_text("{pas du json", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="reco"):
        assert _load_calibration(path) is None
    assert "calibration ignorée" in caplog.text and str(path) in caplog.text

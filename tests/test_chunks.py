"""Field-aware chunks: which fields become chunks, how long fields are windowed."""

from __future__ import annotations

import itertools
import random

import pytest

from recommender.index.chunks import (
    MAX_CHARS,
    Chunk,
    ChunkField,
    chunk_action,
    chunk_actions,
    embedding_text,
    field_texts,
    windows,
)
from recommender.records.records import Action


def _sentences(n: int, tag: str = "phrase") -> str:
    return " ".join(
        f"Voici la {tag} numéro {i} qui parle des familles du quartier et des ateliers."
        for i in range(n)
    )


FULL = Action(
    title="Atelier parents-enfants",
    keywords=("Parentalité",),
    public=("familles",),
    summary="Un atelier chaque mercredi pour les parents et leurs enfants.",
    experience="Les parents se sentaient isolés.",
    initiative_detail="Demande du LAEP.",
    description="Jeux, lectures et goûter partagé.",
    result_territory="Plus de liens entre voisins.",
    result_centre="Nouveaux bénévoles.",
    result_inhabitants="Des parents moins seuls.",
    limits="Peu de pères présents.",
    perspectives="Ouvrir le samedi.",
).with_id()


def _check_windows(text: str, max_chars: int, overlap: int) -> list[tuple[int, str]]:
    """Assert the window invariants and return the windows."""
    result = list(windows(text, max_chars, overlap))
    covered = [False] * len(text)
    for start, window in result:
        assert window, "empty window"
        assert len(window) <= max_chars
        assert 0 <= start < len(text)
        assert text[start : start + len(window)] == window, (start, window[:40])
        for i in range(start, start + len(window)):
            covered[i] = True
    missing = [i for i, c in enumerate(text) if not c.isspace() and not covered[i]]
    assert not missing, f"characters not covered: {missing[:5]}"
    starts = [s for s, _ in result]
    assert starts == sorted(starts) and len(set(starts)) == len(starts)
    return result


def test_every_filled_field_gives_a_chunk():
    chunks = chunk_action(FULL)
    assert {c.field for c in chunks} == set(ChunkField)
    assert all(c.action_id == FULL.id for c in chunks)
    assert all(c.window == 0 and c.start == 0 for c in chunks)
    by_field = {c.field: c.text for c in chunks}
    summary = by_field[ChunkField.SUMMARY]
    assert summary.startswith("Atelier parents-enfants")
    assert "Parentalité" in summary and "familles" in summary and "mercredi" in summary
    assert by_field[ChunkField.REASONS] == "Les parents se sentaient isolés.\nDemande du LAEP."
    assert by_field[ChunkField.RESULTS].splitlines() == [
        "Plus de liens entre voisins.",
        "Nouveaux bénévoles.",
        "Des parents moins seuls.",
    ]
    assert by_field[ChunkField.LIMITS] == "Peu de pères présents."
    assert by_field[ChunkField.PERSPECTIVES] == "Ouvrir le samedi."
    assert by_field[ChunkField.DESCRIPTION] == "Jeux, lectures et goûter partagé."


def test_empty_fields_are_omitted():
    action = Action(
        title="Jardin partagé",
        summary="Un jardin au pied des immeubles.",
        description="   \n  ",
        limits="",
        perspectives="Agrandir le jardin.",
        result_centre="  ",
    ).with_id()
    texts = field_texts(action)
    assert set(texts) == {ChunkField.SUMMARY, ChunkField.PERSPECTIVES}
    assert [c.field for c in chunk_action(action)] == [
        ChunkField.SUMMARY,
        ChunkField.PERSPECTIVES,
    ]


def test_title_only_action_gives_only_a_summary_chunk():
    action = Action(title="Repas solidaire").with_id()
    chunks = chunk_action(action)
    assert len(chunks) == 1
    assert chunks[0].field is ChunkField.SUMMARY
    assert chunks[0].text == "Repas solidaire"


def test_short_text_is_one_window():
    assert list(windows("Un texte court.")) == [(0, "Un texte court.")]


def test_long_field_is_windowed_and_fully_covered():
    text = _sentences(60)
    assert len(text) > 3 * MAX_CHARS
    result = _check_windows(text, MAX_CHARS, 150)
    assert len(result) >= 4
    # Consecutive windows overlap (context kept) and cut after a sentence end.
    for (s1, w1), (s2, _) in itertools.pairwise(result):
        assert s2 < s1 + len(w1)
        assert w1.endswith(".")


@pytest.mark.parametrize("seed", range(5))
def test_windows_on_ragged_text(seed):
    """Double spaces, blank lines and very long words keep offsets exact."""
    rng = random.Random(seed)
    vocab = ["mot", "phrase.", "ligne\n", "  ", "famille", "enfants;", "\n\n", "x" * 70, "a  b"]
    text = " ".join(rng.choice(vocab) for _ in range(rng.randint(200, 700))).strip()
    _check_windows(text, 200, 50)


def test_text_without_any_break_is_cut_hard():
    text = "x" * 2500
    result = _check_windows(text, MAX_CHARS, 150)
    assert [s for s, _ in result] == [0, 900, 1800]


def test_record_over_10000_chars_yields_several_windows_per_field():
    action = Action(
        title="Action très détaillée",
        summary="Résumé.",
        description=_sentences(90, "description"),
        limits=_sentences(70, "limite"),
    ).with_id()
    texts = field_texts(action)
    assert sum(len(t) for t in texts.values()) > 10_000
    chunks = chunk_action(action)
    for name in (ChunkField.DESCRIPTION, ChunkField.LIMITS):
        own = [c for c in chunks if c.field is name]
        assert len(own) > 5
        assert [c.window for c in own] == list(range(len(own)))
        assert all(len(c.text) <= MAX_CHARS for c in own)
        for c in own:
            assert texts[name][c.start : c.start + len(c.text)] == c.text
        # The last words of the field are embedded somewhere.
        assert texts[name][-40:] in own[-1].text


def test_chunk_actions_concatenates_in_order():
    other = Action(title="Autre action", limits="Manque de salles.").with_id()
    chunks = chunk_actions([FULL, other])
    assert [c.action_id for c in chunks] == [FULL.id] * 6 + [other.id] * 2


def test_chunk_dict_round_trip():
    for chunk in chunk_action(FULL):
        data = chunk.to_dict()
        assert data["field"] == chunk.field.value
        assert Chunk.from_dict(data) == chunk


def test_embedding_text_adds_title_and_label_except_for_summary():
    chunks = {c.field: c for c in chunk_action(FULL)}
    summary = chunks[ChunkField.SUMMARY]
    assert embedding_text(summary, FULL.title) == summary.text
    limits = chunks[ChunkField.LIMITS]
    text = embedding_text(limits, FULL.title)
    assert text.startswith(FULL.title)
    assert "Limites" in text and text.endswith(limits.text)
    for name, chunk in chunks.items():
        if name is not ChunkField.SUMMARY:
            assert FULL.title in embedding_text(chunk, FULL.title)
            assert name.label in embedding_text(chunk, FULL.title)

"""Themes of limit and perspective statements (answers/themes.py, answers/theme_model.py)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from embeddings.fake import FakeEncoder
from recommender.answers.statements import statements
from recommender.answers.taxonomy import (
    KINDS,
    OTHER,
    Taxonomy,
    load_labelled,
    load_written,
    normalise,
)
from recommender.answers.theme_model import JointVectors, StatementVectors, fit_classifier
from recommender.answers.themes import StatementThemes, second_encoder, themes_for
from recommender.records.records import load_actions

DATA = Path(__file__).resolve().parents[1] / "data" / "actions.jsonl"


def test_every_labelled_statement_keeps_its_reviewed_label():
    themes = themes_for(None)
    for s in load_labelled():
        assert themes.themes([s.text], s.kind) == [s.theme], s.id


def test_statements_cut_from_the_real_records_get_their_reviewed_label():
    labels = {(s.kind, normalise(s.text)): s.theme for s in load_labelled()}
    themes = themes_for(None)
    checked = Counter()
    for action in load_actions(DATA):
        for kind, field in (("limite", action.limits), ("perspective", action.perspectives)):
            for text in statements(field):
                expected = labels.get((kind, normalise(text)))
                if expected is not None:
                    assert themes.themes([text], kind) == [expected], text
                    checked[kind] += 1
    assert checked["limite"] >= 95 and checked["perspective"] >= 115, checked


def test_known_statements_of_the_issue():
    themes = themes_for(None)
    # « avoir lieu » once put it under « Lieux et matériel ».
    assert themes.themes(["Sur 3 groupes, seul 1 a pu avoir lieu."], "limite") == ["portee_limitee"]
    covid = "Les confinements et couvre-feu ont coupé la dynamique créée autour de sa construction."
    assert themes.themes([covid], "limite") == ["contexte_sanitaire"]
    assert themes.themes(["Réfléchir au tome 2"], "perspective") == ["nouvelles_actions"]


def test_joint_vectors_put_encoders_side_by_side_with_unit_rows():
    joint = JointVectors([StatementVectors(FakeEncoder()), StatementVectors(FakeEncoder(32))])
    rows = joint(["Le coût des intervenants est élevé.", "Manque de bénévoles."])
    assert rows.shape == (2, 96)
    assert np.allclose(np.linalg.norm(rows, axis=1), 1.0, atol=1e-5)
    assert joint([]).shape == (0, 96)


@pytest.fixture(scope="module")
def two_encoders() -> StatementThemes:
    return StatementThemes(FakeEncoder(), second=FakeEncoder(32)).fit()


def test_the_classifier_reads_both_encoders_and_learns_the_labels(two_encoders):
    assert isinstance(two_encoders.classifier_vectors, JointVectors)
    assert two_encoders.vectors is not None and two_encoders.vectors.encoder.dim == 64
    for kind in KINDS:
        rows = [s for s in two_encoders.labelled if s.kind == kind]
        model = two_encoders.model(kind)
        texts = [s.text for s in rows]
        guessed = model.predict(texts, two_encoders.classifier_vectors(texts))
        right = sum(g == s.theme for g, s in zip(guessed, rows, strict=True))
        assert right / len(rows) > 0.6  # fits its training set (trigram vectors, 13 themes)


def test_new_statements_get_a_theme_of_their_side(two_encoders):
    new = [
        "Les confinements ont arrêté l'atelier tout l'hiver.",
        "Le budget des intervenants manque pour la deuxième année.",
    ]
    for theme in two_encoders.themes(new, "limite"):
        assert theme in two_encoders.taxonomy.keys("limite")
    assert two_encoders.themes(["Trouver un financement pour un poste"], "perspective")[0] in (
        two_encoders.taxonomy.keys("perspective")
    )


def test_fit_classifier_without_other_never_answers_it():
    rows = [s for s in load_labelled() if s.kind == "limite"]
    vectors = StatementVectors(FakeEncoder())
    from recommender.answers.taxonomy import Taxonomy

    model = fit_classifier(
        Taxonomy.load(), "limite", [s.text for s in rows], [s.theme for s in rows], vectors,
        other=False,
    )  # fmt: skip
    texts = [s.text for s in rows if s.theme == OTHER]
    assert OTHER not in model.predict(texts, vectors(texts))


def test_the_fake_engine_reads_no_second_encoder(fake_engine):
    assert second_encoder(fake_engine) == (None, None)
    assert themes_for(fake_engine).classifier_vectors is themes_for(fake_engine).vectors


def test_the_written_statements_cover_every_theme_of_both_sides():
    taxonomy = Taxonomy.load()
    written = load_written(taxonomy)
    counts = Counter((w.kind, w.theme) for w in written)
    for kind in KINDS:
        for key in taxonomy.keys(kind):
            assert counts[(kind, key)] >= 20, (kind, key)
    labelled = {normalise(s.text) for s in load_labelled()}
    assert not [w.text for w in written if normalise(w.text) in labelled]  # none copied


def test_written_statements_are_optional_and_checked(tmp_path):
    taxonomy = Taxonomy.load()
    assert load_written(taxonomy, tmp_path) == ()
    row = {"side": "limite", "theme": "inconnu", "text": "Le bus ne passe plus le soir."}
    (tmp_path / "written.json").write_text(json.dumps([row]), encoding="utf-8")
    with pytest.raises(ValueError, match="limite/inconnu"):
        load_written(taxonomy, tmp_path)


def test_fit_classifier_learns_from_written_statements():
    taxonomy = Taxonomy.load()
    written = [w for w in load_written(taxonomy) if w.kind == "perspective"]
    vectors = StatementVectors(FakeEncoder())
    model = fit_classifier(taxonomy, "perspective", [], [], vectors, written=written)
    texts = [w.text for w in written]
    guessed = model.predict(texts, vectors(texts))
    right = sum(p == w.theme for p, w in zip(guessed, written, strict=True))
    assert right / len(written) > 0.7  # no labelled statement: all it knows comes from them
    assert OTHER in model.model.classes
    without = fit_classifier(taxonomy, "perspective", [], [], vectors, written=written, other=False)
    assert OTHER not in without.model.classes

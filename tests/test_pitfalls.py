"""« Ce qui coince souvent » / « Pistes fréquentes »: library, `reco limites`, corpus report."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bench.fake_index import fake_env
from recommender.answers.pitfalls import Scope, corpus_sections, pitfalls_text, recurring
from recommender.answers.themes import themes_for
from recommender.cli.main import app
from recommender.records.records import load_actions

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def actions():
    return load_actions(ROOT / "data" / "actions.jsonl")


def test_public_jeunes_reads_like_the_chat_and_counts_by_action(actions):
    chosen, notes = Scope(public=("jeunes",)).select(actions)
    assert notes == [] and chosen
    assert all({"Jeunesse", "Jeunes adultes"} & set(a.public) for a in chosen)
    found = recurring(chosen, themes_for(None), scope="public : jeunes")
    limits = found.recurring["limite"]
    assert limits[0].key != "autre" and limits[-1].count <= limits[0].count
    ids = {a.id for a in chosen}
    for r in limits:
        assert r.count == len(set(r.action_ids)) and set(r.action_ids) <= ids
        assert all(e.action_id in r.action_ids and e.text for e in r.examples)
    text = pitfalls_text(found)
    assert text.startswith("Limites et perspectives — public : jeunes")
    assert "Ce qui coince souvent" in text and "Pistes fréquentes" in text


def test_whole_base_and_unknown_filter_values(actions):
    found = recurring(actions, themes_for(None))
    money = next(r for r in found.recurring["limite"] if r.key == "financement")
    assert money.count >= 8  # the most frequent limit of the base
    _, notes = Scope(departement=("Atlantide",)).select(actions)
    assert notes and "Atlantide" in notes[0]
    sections = corpus_sections(actions, themes_for(None))
    assert [s[0] for s in sections] == [
        "Limites et pistes fréquentes",
        "Limites et pistes par public",
    ]
    assert sections[1][3]  # by public


def test_masking_applies_to_every_statement_and_title(actions):
    from recommender.records.privacy import mask_text

    masked = recurring(actions, themes_for(None), mask=True).recurring["limite"]
    raw = recurring(actions, themes_for(None), mask=False).recurring["limite"]
    for m, r in zip(masked, raw, strict=True):
        for em, er in zip(m.examples, r.examples, strict=True):
            assert em.text == mask_text(er.text) and em.title == mask_text(er.title)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("limites")
    shutil.copyfile(ROOT / "data" / "actions.jsonl", root / "actions.jsonl")
    env = fake_env(root)
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(app, list(args), env=env)

    assert invoke("build", "--quiet").exit_code == 0
    return invoke


def test_cli_json_for_a_public(run):
    result = run("limites", "--public", "jeunes", "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["scope"] == "public : jeunes" and payload["actions"] >= 3
    limits = payload["limits"]
    assert limits["title"] == "Ce qui coince souvent"
    first = limits["themes"][0]
    assert {"theme", "label", "actions", "action_ids", "statements"} <= set(first)
    assert first["statements"][0]["action_id"] in first["action_ids"]
    assert payload["perspectives"]["title"] == "Pistes fréquentes"


def test_cli_text_need_and_theme(run):
    result = run("limites", "faire venir les familles")
    assert result.exit_code == 0, result.output
    assert "besoin « faire venir les familles » : 15 action(s)" in result.output
    money = run("limites", "--theme", "financement", "--no-mask")
    assert money.exit_code == 0, money.output
    assert "Manque de financement et coûts" in money.output
    assert "Maintenir l'engagement" not in money.output
    bad = run("limites", "--theme", "licornes")
    assert bad.exit_code == 2 and "inconnu" in bad.output

"""`reco build / search / similar / eval` through Typer's CliRunner, fake encoder, tmp dirs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from recommender.cli.main import app
from recommender.records.records import load_actions

ROOT = Path(__file__).resolve().parents[1]
HIT_KEYS = {
    "id",
    "title",
    "structure",
    "departement",
    "status",
    "score",
    "match_level",
    "field",
    "passage",
    "limits",
    "perspectives",
}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("cli")
    shutil.copyfile(ROOT / "data" / "actions.jsonl", root / "actions.jsonl")
    return root


def _env(root: Path, index: str = "index") -> dict[str, str]:
    return {
        "RECO_DATA": str(root / "actions.jsonl"),
        "RECO_INDEX": str(root / index),
        "RECO_CACHE": str(root / "cache"),
        "RECO_ENCODERS": "fake",
        "RECO_GLOSSARY": str(ROOT / "data" / "glossary.tsv"),
        "RECO_MODELS": str(root / "models"),
    }


@pytest.fixture(scope="module")
def run(workdir):
    runner = CliRunner()

    def invoke(*args: str, index: str = "index"):
        return runner.invoke(app, list(args), env=_env(workdir, index))

    return invoke


@pytest.fixture(scope="module")
def built(run, workdir):
    result = run("build", "--quiet")
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="module")
def actions(workdir):
    return load_actions(workdir / "actions.jsonl")


def _no_traceback(result) -> None:
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_build_writes_the_index_and_reuses_the_cache(built, run, workdir):
    assert "97 actions" in built.stdout
    assert "607 passages encodés" in built.stdout
    manifest = json.loads((workdir / "index" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["encoders"][0]["id"] == "fake-trigram-64"
    again = run("build", "--quiet")
    assert again.exit_code == 0, again.output
    assert "0 passages encodés, 607 repris du cache" in again.stdout
    assert not [p.name for p in workdir.iterdir() if p.name.startswith(".")]  # no temp dirs


def test_search_json(built, run, actions):
    result = run("search", "aide aux devoirs pour les enfants du quartier", "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["query"] == "aide aux devoirs pour les enfants du quartier"
    assert isinstance(payload["no_match"], bool)
    assert len(payload["results"]) == 5
    known = {a.id for a in actions}
    for hit in payload["results"]:
        assert set(hit) >= HIT_KEYS
        assert hit["id"] in known
        assert isinstance(hit["score"], float)
        assert hit["match_level"] in {"très proche", "proche", "à explorer", "éloigné"}
        assert hit["field"] in {
            "Résumé",
            "Raisons et objectifs",
            "Description",
            "Résultats",
            "Limites",
            "Perspectives",
        }
        assert hit["passage"]
        assert hit["limits"] and hit["perspectives"]  # « non renseigné » when empty
    assert len({h["id"] for h in payload["results"]}) == 5


def test_search_options_top_and_filters(built, run):
    result = run(
        "search",
        "jardin",
        "--json",
        "--top",
        "3",
        "--departement",
        "Yvelines",
        "--status",
        "en cours",
    )
    assert result.exit_code == 0, result.output
    hits = json.loads(result.stdout)["results"]
    assert len(hits) == 3
    assert {(h["departement"], h["status"]) for h in hits} == {("Yvelines", "En cours")}


def test_search_text_output_is_french(built, run):
    result = run("search", "sorties pour les familles", "--top", "2")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Besoin : sorties pour les familles")
    assert "Limites :" in result.stdout and "Perspectives :" in result.stdout
    assert "1. " in result.stdout and "2. " in result.stdout and "3. " not in result.stdout


def test_search_bad_input_exits_without_traceback(built, run):
    for args in (["🎉🎉"], ["   "], ["jardin", "--top", "0"]):
        result = run("search", *args)
        assert result.exit_code == 2, (args, result.output)
        assert result.stderr.startswith("Erreur : ")
        _no_traceback(result)
    neither = run("search")
    assert neither.exit_code == 2
    assert "--queries" in neither.stderr


def test_search_queries_file_gives_json_lines(built, run, workdir):
    path = workdir / "besoins.txt"
    path.write_text(
        "aide aux devoirs\n\n   \n🎉🎉🎉\njardin partagé au pied des immeubles\n"
        "<script>alert(1)</script> repas partagé\n",
        encoding="utf-8",
    )
    result = run("search", "--queries", str(path), "--json", "--top", "2")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 4
    objects = [json.loads(line) for line in lines]
    assert [o["query"] for o in objects] == [
        "aide aux devoirs",
        "🎉🎉🎉",
        "jardin partagé au pied des immeubles",
        "<script>alert(1)</script> repas partagé",
    ]
    error = objects[1]
    assert set(error) == {"query", "error"}
    assert "mot" in error["error"]
    for good in (objects[0], objects[2], objects[3]):
        assert "error" not in good
        assert len(good["results"]) == 2


def test_search_queries_file_missing(built, run, workdir):
    result = run("search", "--queries", str(workdir / "absent.txt"), "--json")
    assert result.exit_code == 1
    assert "absent.txt" in result.stderr
    _no_traceback(result)


def test_similar_json(built, run, actions):
    target = actions[10]
    result = run("similar", target.id, "--json", "--top", "4")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    ids = [h["id"] for h in payload["results"]]
    assert len(ids) == 4 and len(set(ids)) == 4
    assert target.id not in ids
    unknown = run("similar", "act-0000000000", "--json")
    assert unknown.exit_code == 2
    assert "act-0000000000" in unknown.stderr
    _no_traceback(unknown)


def test_eval_on_a_tiny_labelled_file(built, run, workdir, actions):
    first, second, third = actions[5], actions[40], actions[41]
    labelled = [
        {"query": f"{first.title}. {first.summary}", "relevant": {first.id: 2}, "split": "dev"},
        {
            "query": f"{second.title}. {second.summary}",
            "relevant": {second.id: 2, third.id: 1},
            "split": "test",
        },
        {"query": "réparer des moteurs de fusée", "relevant": {}, "split": "dev"},
    ]
    path = workdir / "labelled.json"
    path.write_text(json.dumps(labelled, ensure_ascii=False), encoding="utf-8")
    result = run("eval", str(path), "--json")
    assert result.exit_code == 0, result.output
    scores = json.loads(result.stdout)
    assert scores["n"] == 2
    assert scores["split"] == "tout"
    # A query made of an action's own title and summary finds it first.
    assert scores["mrr"] == 1.0
    for key in ("ndcg@5", "ndcg@10", "recall@5", "no_match_accuracy"):
        assert 0.0 <= scores[key] <= 1.0
    assert scores["recall@5"] >= 0.5
    only_test = json.loads(run("eval", str(path), "--json", "--split", "test").stdout)
    assert only_test["n"] == 1 and only_test["split"] == "test"
    text = run("eval", str(path))
    assert "nDCG@5 " in text.stdout and "MRR 1.000" in text.stdout
    # What went wrong, for people: per kind, levels, « rien de proche », hubness.
    for section in ("Par type de besoin", "Niveaux", "« Rien de proche »", "Hubness"):
        assert section in text.stdout
    assert scores["no_match"]["out_of_corpus"] == 1
    assert set(scores["hubness"]) == {"share", "action_id", "count"}
    assert {row["level"] for row in scores["levels"]} == {"très proche", "proche", "à explorer"}


def test_eval_with_unreadable_file(built, run, workdir):
    path = workdir / "broken.json"
    path.write_text("{pas du json", encoding="utf-8")
    result = run("eval", str(path))
    assert result.exit_code == 1
    assert "illisible" in result.stderr
    _no_traceback(result)


@pytest.mark.parametrize(
    "args",
    [
        ["search", "aide aux devoirs", "--json"],
        ["search", "--queries", "whatever.txt"],
        ["similar", "act-0000000000"],
    ],
)
def test_missing_index_says_reco_build(run, args):
    result = run(*args, index="no-index-here")
    assert result.exit_code != 0
    assert "reco build" in result.stderr
    assert result.stdout == ""
    _no_traceback(result)


def test_missing_index_for_eval(run, workdir):
    path = workdir / "one.json"
    path.write_text(json.dumps([{"query": "jardin", "relevant": {}}]), encoding="utf-8")
    result = run("eval", str(path), index="no-index-here")
    assert result.exit_code != 0
    assert "reco build" in result.stderr
    _no_traceback(result)


def test_index_for_other_encoder_says_reco_build(built, run, workdir):
    runner = CliRunner()
    env = {**_env(workdir), "RECO_ENCODERS": "fake,fake"}
    result = runner.invoke(app, ["search", "jardin"], env=env)
    assert result.exit_code != 0
    assert "reco build" in result.stderr
    _no_traceback(result)


def test_build_with_unknown_encoder_fails_cleanly(workdir):
    runner = CliRunner()
    env = {**_env(workdir, "other-index"), "RECO_ENCODERS": "inexistant"}
    result = runner.invoke(app, ["build", "--quiet"], env=env)
    assert result.exit_code == 1
    assert "encodeur inconnu" in result.stderr
    _no_traceback(result)
    assert not (workdir / "other-index").exists()

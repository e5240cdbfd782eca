"""Every face at national scale: 1,000 / 5,000 / 20,000 generated actions, fake encoder.

    python -m bench.scale_corpus [--sizes 1000,5000,20000] [--out results.json]

(also a section of `python -m bench.run`, `--only échelle`). For each size, in one run:
bench.corpus_gen writes the export files (copies planted), then, as a user would:
`reco ingest` and `reco build` (whole processes, cold), the index size, the engine in this
process (load, a need end to end p50/p95, a follow-up, « plus comme ceci », a 1,000-need batch
report, the trainers' table and map, the corpus report), then `python app.py` (first answer,
RSS at rest, 200 messages through /chat, RSS after), 10 records changed and `reco build`
again while the app runs, and the app's first answer after that rebuild (reload included).

The fake encoder (bag of hashed trigrams, pure Python) stands in for the model: query times
measure everything but the encoder, and the cold build measures mostly the fake encoder
itself. The real encoder's time for one query is measured apart (`encoder_query_ms`), on
the 79 evaluation needs, without building a 20,000-action index with it (hours).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench import app_bench
from bench.batch import needs_texts, with_report
from bench.common import Section, percentile, rss_bytes, timed
from bench.corpus_gen import generate, write_corpus
from bench.fake_index import fake_env
from bench.latency import answer
from bench.markdown import number

REPO = Path(__file__).resolve().parent.parent
QUERIES = REPO / "data" / "eval" / "queries.json"
SIZES = (1_000, 5_000, 20_000)
MESSAGES = 200
FOLLOW_UPS = ("plutôt pour les ados", "dans le 62", "seulement celles en cours")
TARGETS = {  # at 20,000 actions (issue « base nationale »)
    "query_p50_ms": 60.0,
    "app_ready_s": 5.0,
    "rss_gb": 3.0,
    "corpus_report_s": 60.0,
    "rebuild_10_s": 10.0,
}
COLUMNS = [
    "actions",
    "fiches écrites (copies)",
    "`reco ingest` (s)",
    "doublons trouvés / plantés",
    "`reco build` à froid (s)",
    "`reco build` après 10 fiches modifiées (s)",
    "index (Mo)",
    "chargement du moteur (s)",
    "besoin de bout en bout p50 (ms)",
    "p95 (ms)",
    "relance p50 (ms)",
    "« plus comme ceci » p50 (ms)",
    "`reco search` processus entier (s)",
    "onglet Formateurs : tableau + carte (s)",
    "rapport de la base (s)",
    "rapport 1 000 besoins (s)",
    "app : 1re réponse (s)",
    "RSS au repos (Mo)",
    "RSS après 200 messages (Mo)",
    "app : réponse après reconstruction (s)",
]


def env_for(root: Path) -> dict[str, str]:
    return {**fake_env(root), "RECO_FEEDBACK_DB": str(root / "feedback.sqlite3")}


def reco(args: Sequence[str], env: dict[str, str]) -> float:
    """Seconds of one `reco …` command, as a user runs it (a new process)."""
    command = [sys.executable, "-m", "recommender", *args]
    started = time.perf_counter()
    done = subprocess.run(
        command, cwd=REPO, env={**os.environ, **env}, capture_output=True, text=True
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} : {done.stderr[-800:]}")
    return seconds


def folder_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


def change_records(data: Path, count: int = 10) -> None:
    """Edit the summary of `count` records spread over the file (a day's corrections)."""
    lines = data.read_text(encoding="utf-8").splitlines()
    step = max(1, len(lines) // count)
    for k in range(min(count, len(lines))):
        record = json.loads(lines[k * step])
        record["summary"] = record["summary"] + f" Mise à jour {k}."
        lines[k * step] = json.dumps(record, ensure_ascii=False)
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")


def found_groups(data: Path) -> list[list[str]]:
    groups = []
    for line in data.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if record["duplicates"]:
            groups.append(sorted([record["id"], *(d["id"] for d in record["duplicates"])]))
    return sorted(groups)


def _ms_samples(fn: Callable[[str], Any], texts: Sequence[str]) -> list[float]:
    samples = []
    for text in texts:
        started = time.perf_counter()
        fn(text)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def engine_measures(env: dict[str, str], queries: Sequence[str], work: Path) -> dict[str, Any]:
    """Everything measured in this process on the built index."""
    from recommender.answers.conversation import Conversation, reply
    from recommender.core.config import Settings
    from recommender.reports.corpus_report import run_corpus_report
    from recommender.search.service import Engine

    settings = Settings.from_env(env)
    load_s, engine = timed(lambda: Engine.load(settings))
    for query in queries[:5]:
        answer(engine, query)  # warm-up
    full = _ms_samples(lambda q: answer(engine, q), queries)

    def follow(text: str) -> None:
        state, _ = reply(Conversation(), queries[0], engine)
        started = time.perf_counter()
        reply(state, text, engine)
        follow_ms.append((time.perf_counter() - started) * 1000)

    follow_ms: list[float] = []
    for text in FOLLOW_UPS * 3:
        follow(text)
    ids = [engine.actions[i * 97 % len(engine.actions)].id for i in range(20)]
    similar = _ms_samples(lambda i: engine.similar(i), ids)
    trainers_s = trainer_tab_seconds(engine)
    report_s, _ = timed(lambda: run_corpus_report(engine.index, work / "base.html"))
    batch_s = with_report(engine, needs_texts(list(queries), 1000), work)
    return {
        "load_s": load_s,
        "p50": percentile(full, 50),
        "p95": percentile(full, 95),
        "follow_p50": percentile(follow_ms, 50),
        "similar_p50": percentile(similar, 50),
        "trainers_s": trainers_s,
        "report_s": report_s,
        "batch_s": batch_s,
        "rss_engine": rss_bytes(),
    }


def trainer_tab_seconds(engine: Any) -> float:
    """What the « Formateurs » tab computes on page load: the table and the map."""
    from recommender.answers.projection import SIDE_FACETS
    from ui.common import EngineHolder
    from ui.trainers import browse_table, trainer_refresh

    holder = EngineHolder(lambda: engine)
    alls = ["(tous)"] * len(SIDE_FACETS)
    seconds, _ = timed(
        lambda: (
            browse_table(holder, "", True, *alls),
            trainer_refresh(holder, True, [None, None, None]),
        )
    )
    return seconds


def app_measures(
    env: dict[str, str], queries: Sequence[str], rebuild: Callable[[], float]
) -> dict[str, Any]:
    """`python app.py` on the index: first answer, RSS, 200 messages, then a rebuild of 10
    changed records while it runs and the first answer after it (the reload included)."""
    port = app_bench.free_port()
    started = time.perf_counter()
    process = app_bench.start_app([sys.executable, str(app_bench.APP)], env, port)
    try:
        client = app_bench.connect(port, process, 300)
        listening = time.perf_counter() - started
        app_bench.ask(client, queries[0])
        ready = time.perf_counter() - started
        pid = app_bench.app_pid(process)
        time.sleep(2.0)
        rest = rss_bytes(pid)
        for k in range(MESSAGES):
            app_bench.ask(client, queries[k % len(queries)])
        after = rss_bytes(pid)
        rebuild_s = rebuild()
        reload_s, _ = timed(lambda: app_bench.ask(client, queries[1]))
        return {
            "listening_s": listening,
            "ready_s": ready,
            "rss_rest": rest,
            "rss_after": after,
            "rebuild_s": rebuild_s,
            "reload_s": reload_s,
            "rss_peak": app_bench.peak_rss_bytes(pid),
        }
    finally:
        app_bench.stop(process)


def one_size(n: int, work: Path, queries: Sequence[str], seed: int = 0) -> dict[str, Any]:
    root = work / f"n{n}"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    corpus = generate(n, seed)
    write_corpus(corpus, root)
    env = env_for(root)
    print(f"  {n} : ingestion…", file=sys.stderr, flush=True)
    ingest_s = reco(["ingest", str(root / "raw"), "-o", env["RECO_DATA"]], env)
    planted = json.loads((root / "planted.json").read_text(encoding="utf-8"))
    found = found_groups(Path(env["RECO_DATA"]))
    print(f"  {n} : construction à froid…", file=sys.stderr, flush=True)
    build_s = reco(["build", "--quiet"], env)
    size_mb = folder_mb(Path(env["RECO_INDEX"]))
    search_s = reco(["search", queries[0]], env)
    print(f"  {n} : moteur…", file=sys.stderr, flush=True)
    engine = engine_measures(env, queries, root)
    print(f"  {n} : application…", file=sys.stderr, flush=True)

    def rebuild() -> float:
        change_records(Path(env["RECO_DATA"]))
        return reco(["build", "--quiet"], env)

    app = app_measures(env, queries, rebuild)
    return {
        "n": n,
        "written": planted["written"],
        "copies": planted["copies"],
        "ingest_s": ingest_s,
        "found": len(found),
        "planted": len(planted["groups"]),
        "same_groups": found == planted["groups"],
        "build_s": build_s,
        "index_mb": size_mb,
        "search_s": search_s,
        **engine,
        **app,
    }


def encoder_query_ms(queries: Sequence[str], spec: str = "e5-adapted") -> tuple[float, str]:
    """The real encoder's time for one query (p50, ms), loaded once; (nan, why) if absent."""
    try:
        from embeddings import get_encoder
        from embeddings.base import TextKind

        encoder = get_encoder(spec, models_dir=REPO / "models")
        for query in queries[:5]:
            encoder.encode([query], TextKind.QUERY)
        samples = _ms_samples(lambda q: encoder.encode([q], TextKind.QUERY), queries)
        return percentile(samples, 50), spec
    except Exception as exc:  # no model folder here: said in the notes
        return float("nan"), f"{spec} indisponible ({exc})"


def row(r: dict[str, Any]) -> dict[str, Any]:
    values = [
        r["n"],
        f"{r['written']} ({r['copies']})",
        r["ingest_s"],
        f"{r['found']} / {r['planted']}" + ("" if r["same_groups"] else " (groupes différents)"),
        r["build_s"],
        r["rebuild_s"],
        r["index_mb"],
        r["load_s"],
        r["p50"],
        r["p95"],
        r["follow_p50"],
        r["similar_p50"],
        r["search_s"],
        r["trainers_s"],
        r["report_s"],
        r["batch_s"],
        r["ready_s"],
        r["rss_rest"] / 1e6,
        r["rss_after"] / 1e6,
        r["reload_s"],
    ]
    return dict(zip(COLUMNS, values, strict=True))


def verdicts(r: dict[str, Any], encoder_ms: float) -> list[str]:
    """French lines: each target at the largest size, met or not."""
    with_encoder = r["p50"] + (encoder_ms if encoder_ms == encoder_ms else 0.0)
    checks = [
        ("besoin p50 + encodeur réel ≤ 60 ms", with_encoder, TARGETS["query_p50_ms"], "ms"),
        ("app prête (1re réponse) ≤ 5 s", r["ready_s"], TARGETS["app_ready_s"], "s"),
        ("RSS ≤ 3 Go", max(r["rss_after"], r["rss_peak"]) / 1e9, TARGETS["rss_gb"], "Go"),
        ("rapport de la base ≤ 60 s", r["report_s"], TARGETS["corpus_report_s"], "s"),
        ("reconstruction après 10 fiches ≤ 10 s", r["rebuild_s"], TARGETS["rebuild_10_s"], "s"),
    ]
    lines = [
        f"{label} : {number(value)} {unit} — {'atteint' if value <= target else 'MANQUÉ'}"
        for label, value, target, unit in checks
    ]
    same = r["same_groups"]
    lines.append(
        f"doublons trouvés = plantés : {r['found']} / {r['planted']} — "
        + ("atteint (mêmes groupes)" if same else "MANQUÉ")
    )
    return lines


def thousands(n: int) -> str:
    return f"{n:,}".replace(",", "\u202f")


def run(sizes: Sequence[int], work: Path, queries: Sequence[str] | None = None) -> Section:
    queries = list(queries or [q["query"] for q in json.loads(QUERIES.read_text("utf-8"))])
    title = "Base nationale : chaque face à " + " / ".join(
        f"{n:,}".replace(",", " ") for n in sizes
    )
    section = Section("corpus", f"{title} actions (encodeur factice)", COLUMNS)
    results = []
    for n in sizes:
        print(f"[échelle] {n} actions…", file=sys.stderr, flush=True)
        results.append(one_size(n, work, queries))
        section.rows.append(row(results[-1]))
    encoder_ms, spec = encoder_query_ms(queries)
    largest = results[-1]
    section.notes += [
        f"À {largest['n']:,} actions : ".replace(",", " ")
        + " ; ".join(verdicts(largest, encoder_ms)),
        f"Encodeur réel ({spec}) pour une requête, mesuré à part sur les {len(queries)} besoins "
        f"d'évaluation : p50 {number(encoder_ms)} ms ; le « besoin de bout en bout » ci-dessus est "
        "mesuré avec l'encodeur factice (tout sauf l'encodeur), il faut les additionner.",
        "Corpus : bench/corpus_gen.py (fiches réelles recombinées phrase à phrase, titres "
        "distincts, 1 % de fiches très longues, tous les départements, 2 % de copies exactes "
        "et 2 % de quasi-copies plantées) ; écrit au format des exports, lu par `reco ingest`.",
        "« `reco build` à froid » : surtout l'encodeur factice (Python pur) ; « après 10 fiches "
        "modifiées » : 10 résumés modifiés pendant que l'application tourne ; « réponse après "
        "reconstruction » : la première réponse de l'app ensuite, rechargement compris.",
        f"RSS : processus app.py (VmRSS), au repos 2 s après la 1re réponse puis après "
        f"{MESSAGES} messages /chat ; pic (VmHWM) à {thousands(largest['n'])} actions : "
        f"{number(largest['rss_peak'] / 1e6)} Mo ; serveur à l'écoute après "
        f"{number(largest['listening_s'])} s (1re réponse : {number(largest['ready_s'])} s).",
        "Besoin de bout en bout : les besoins d'évaluation dans ce processus (recherche, "
        "compréhension, réponse, Markdown) ; relance : « plutôt pour les ados », « dans le 62 », "
        "« seulement celles en cours » après un premier besoin.",
    ]
    return section


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--work", type=Path, default=None, help="default: a temporary folder")
    parser.add_argument("--out", type=Path, default=None, help="also write the rows as JSON")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    import tempfile

    with tempfile.TemporaryDirectory(prefix="reco-scale-") as tmp:
        section = run(sizes, args.work or Path(tmp))
    from bench.markdown import table

    print(f"\n## {section.title}\n\n{table(section.columns, section.rows)}\n")
    print("\n".join(f"- {note}" for note in section.notes))
    if args.out:
        args.out.write_text(json.dumps(section.to_dict(), ensure_ascii=False, indent=1), "utf-8")


if __name__ == "__main__":
    main()

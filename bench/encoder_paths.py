"""The encoder's paths side by side: passages/s, ms per query, memory, cosine vs torch float32.

One run measures the adapted model (models/multilingual-e5-small-adapted) through each path,
every path in a process of its own (so that its memory is its own):
- passages: the real records' chunks as `reco build` embeds them, 2 threads, in batches of
  32 in build order (what `reco build` did until now) and sorted by length (less padding);
- queries: the needs of data/eval/queries.json and data/eval/blind.json, one at a time on
  1 thread, as the app encodes them;
- RSS: the process's peak resident memory (model loaded, both measures done);
- cosine of every vector against torch float32's (passages and queries).

Paths: torch float32 (the reference), torch bfloat16 (only where the CPU has native BF16,
AVX512-BF16 or AMX; elsewhere measured on a sample and marked), ONNX Runtime float32 (the
export of `reco model export`), ONNX Runtime int8 (dynamic quantisation of that export, made
by the same command). Nothing in the project's index/, cache/ or models/ is written.

Usage: python -m bench.encoder_paths [--quick] [--paths KEY,...] [--folder DIR] [--json out.json]
(also `python -m bench.run --only encodeur`).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import Section, load_average, ms, percentile

REPO = Path(__file__).resolve().parent.parent
FOLDER = REPO / "models" / "multilingual-e5-small-adapted"
EVAL_FILES = (REPO / "data" / "eval" / "queries.json", REPO / "data" / "eval" / "blind.json")
BATCH = 32
PASSAGE_THREADS = 2
SLOW_SAMPLE = (32, 10)  # passages, queries measured for a path this CPU emulates (bf16)
COLUMNS = [
    "chemin",
    "passages/s (ordre de build)",
    "passages/s (triés par longueur)",
    "× torch fp32 (passages)",
    "ms par besoin p50",
    "ms par besoin p95",
    "× torch fp32 (besoins)",
    "RSS max (Mo)",
    "cosinus moyen",
    "cosinus min",
    "note",
]


@dataclass(frozen=True)
class Path_:
    """One way of encoding: `engine` torch or onnx, at `precision`."""

    key: str
    label: str
    engine: str
    precision: str


PATHS = (
    Path_("torch-fp32", "torch float32 (référence)", "torch", "float32"),
    Path_("torch-bf16", "torch bfloat16", "torch", "bfloat16"),
    Path_("onnx-fp32", "ONNX Runtime float32", "onnx", "float32"),
    Path_("onnx-int8", "ONNX Runtime int8 (quantification dynamique)", "onnx", "int8"),
)


def passage_texts(data: Path) -> list[str]:
    """The texts `reco build` embeds for the records in `data` (chunks with their title)."""
    from recommender.index.chunks import chunk_actions, embedding_text
    from recommender.records.records import load_actions

    actions = load_actions(data)
    titles = {a.id: a.title for a in actions}
    return [embedding_text(c, titles[c.action_id]) for c in chunk_actions(actions)]


def query_texts() -> list[str]:
    needs: list[str] = []
    for path in EVAL_FILES:
        needs += [item["query"] for item in json.loads(path.read_text(encoding="utf-8"))]
    return needs


# ---- one path, in its own process ------------------------------------------------------------


def _encoder(path: Path_, folder: Path, onnx_dir: Path | None) -> Any:
    """The batch encoder of `path`, as embeddings/adapted.py builds it, on 2 threads."""
    if path.engine == "torch":
        from embeddings.st import SentenceTransformerEncoder

        encoder = SentenceTransformerEncoder(str(folder), precision=path.precision)
        import torch

        torch.set_num_threads(PASSAGE_THREADS)
        return encoder
    from embeddings.onnx import INT8_FILE, MODEL_FILE, OnnxEncoder

    model_file = INT8_FILE if path.precision == "int8" else MODEL_FILE
    return OnnxEncoder(
        folder, batch_threads=PASSAGE_THREADS, onnx_dir=onnx_dir, model_file=model_file
    )


def _rss_mb() -> float:
    """This process's peak RSS (VmHWM: unlike ru_maxrss, not inherited from the parent)."""
    for line in Path("/proc/self/status").read_text(encoding="utf-8").splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(
    path: Path_, folder: Path, work: Path, sample: bool, onnx_dir: Path | None
) -> dict[str, Any]:
    """Measure one path; vectors go to `work`, figures are returned."""
    from embeddings.base import TextKind

    passages = json.loads((work / "passages.json").read_text(encoding="utf-8"))
    queries = json.loads((work / "queries.json").read_text(encoding="utf-8"))
    if sample:
        passages, queries = passages[: SLOW_SAMPLE[0]], queries[: SLOW_SAMPLE[1]]
    started = time.perf_counter()
    encoder = _encoder(path, folder, onnx_dir)
    encoder.encode(passages[:2], TextKind.PASSAGE)  # load and warm up
    encoder.encode(queries[:1], TextKind.QUERY)
    load_s = time.perf_counter() - started

    def batches(order: Sequence[int]) -> tuple[float, np.ndarray]:
        out = np.zeros((len(passages), encoder.dim), dtype=np.float32)
        begin = time.perf_counter()
        for start in range(0, len(order), BATCH):
            rows = list(order[start : start + BATCH])
            out[rows] = encoder.encode([passages[i] for i in rows], TextKind.PASSAGE)
        return time.perf_counter() - begin, out

    build_s, vectors = batches(range(len(passages)))
    by_length = sorted(range(len(passages)), key=lambda i: len(passages[i]), reverse=True)
    sorted_s, sorted_vectors = batches(by_length)
    query_vectors, durations = [], []
    for text in queries:
        begin = time.perf_counter()
        query_vectors.append(encoder.encode([text], TextKind.QUERY)[0])
        durations.append(time.perf_counter() - begin)
    np.save(work / f"{path.key}.passages.npy", vectors)
    np.save(work / f"{path.key}.queries.npy", np.stack(query_vectors))
    return {
        "passages": len(passages),
        "queries": len(queries),
        "load_s": load_s,
        "build_order_s": build_s,
        "sorted_s": sorted_s,
        "sorted_same": float(np.min(np.sum(vectors * sorted_vectors, axis=1))),
        "query_p50_ms": ms(percentile(durations, 50)),
        "query_p95_ms": ms(percentile(durations, 95)),
        "rss_mb": _rss_mb(),
        "sample": sample,
    }


# ---- the run -----------------------------------------------------------------------------------


def prepare_int8(folder: Path, work: Path) -> tuple[Path | None, str | None]:
    """The onnx folder holding an up-to-date int8 export: the model's own (`reco model
    export --int8`) or one made in `work` (the model folder is never written); or why not."""
    from embeddings.onnx import ONNX_DIR, STAMP_FILE, export_problem
    from embeddings.onnx_int8 import QuantiseError, int8_problem, quantise_export

    if export_problem(folder) is not None:
        return None, export_problem(folder)
    if int8_problem(folder) is None:
        return folder / ONNX_DIR, None
    onnx_dir = work / ONNX_DIR
    onnx_dir.mkdir()
    (onnx_dir / "model.onnx").symlink_to((folder / ONNX_DIR / "model.onnx").resolve())
    shutil.copy(folder / ONNX_DIR / STAMP_FILE, onnx_dir / STAMP_FILE)
    try:
        quantise_export(folder, onnx_dir=onnx_dir)
    except QuantiseError as exc:
        return None, str(exc)
    return onnx_dir, None


def run_path(
    path: Path_, folder: Path, work: Path, sample: bool, onnx_dir: Path | None
) -> dict[str, Any]:
    command = [sys.executable, "-m", "bench.encoder_paths", "--child", path.key]
    command += ["--folder", str(folder), "--work", str(work)] + (["--sample"] if sample else [])
    command += ["--onnx-dir", str(onnx_dir)] if onnx_dir and path.precision == "int8" else []
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO, check=False)
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or ["échec"])[-1]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def cosines(work: Path, key: str, reference: str = "torch-fp32") -> tuple[float, float]:
    values = []
    for part in ("passages", "queries"):
        got = np.load(work / f"{key}.{part}.npy")
        expected = np.load(work / f"{reference}.{part}.npy")[: len(got)]
        values.append(np.sum(got * expected, axis=1))
    joined = np.concatenate(values)
    return float(np.mean(joined)), float(np.min(joined))


def run(
    quick: bool = False,
    folder: Path = FOLDER,
    data: Path | None = None,
    only: Sequence[str] = (),
) -> Section:
    from embeddings.precision import bf16_native, cpu_flags

    section = Section("encoder", "Encodeur : chemins et précisions (modèle adapté)", COLUMNS)
    if not (folder / "modules.json").is_file():
        section.notes.append(f"Non mesuré : {folder} absent (`reco model adapt`).")
        return section
    load_start = load_average()
    native = bf16_native()
    flags = sorted(cpu_flags() & {"avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16"})
    section.notes.append(
        f"Processeur : {', '.join(flags) or 'aucune extension notable'} ; bfloat16 "
        f"{'natif' if native else 'émulé (ni AVX512-BF16 ni AMX) : mesuré sur un échantillon'}."
    )
    with tempfile.TemporaryDirectory(prefix="reco-encoder-paths-") as tmp:
        work = Path(tmp)
        int8_dir, problem = prepare_int8(folder, work)
        passages = passage_texts(data or REPO / "data" / "actions.jsonl")
        queries = query_texts()
        if quick:
            passages, queries = passages[:40], queries[:10]
        (work / "passages.json").write_text(json.dumps(passages), encoding="utf-8")
        (work / "queries.json").write_text(json.dumps(queries), encoding="utf-8")
        results: dict[str, dict[str, Any]] = {}
        chosen = [p for p in PATHS if not only or p.key in only or p.key == "torch-fp32"]
        for path in chosen:
            if path.precision == "int8" and problem:
                results[path.key] = {"error": problem}
                continue
            sample = path.precision == "bfloat16" and not native
            results[path.key] = run_path(path, folder, work, sample, int8_dir)
            print(f"{path.key}: {results[path.key]}", file=sys.stderr, flush=True)
        reference = results["torch-fp32"]
        for path in chosen:
            section.rows.append(_row(path, results[path.key], reference, work))
    section.notes.append(
        f"{reference.get('passages', 0)} passages (les fiches découpées comme `reco build`), "
        f"par lots de {BATCH}, {PASSAGE_THREADS} fils ; {reference.get('queries', 0)} besoins "
        "(data/eval/queries.json et blind.json) un par un, 1 fil ; chaque chemin dans son "
        "propre processus (RSS : pic du processus, modèle chargé)."
    )
    section.notes.append(f"Charge (1, 5, 15 min) au début {load_start}, à la fin {load_average()}.")
    return section


def _row(
    path: Path_, result: dict[str, Any], reference: dict[str, Any], work: Path
) -> dict[str, Any]:
    row: dict[str, Any] = {"chemin": path.label}
    if "error" in result:
        row["note"] = f"non mesuré : {result['error']}"
        return row
    per_s = result["passages"] / result["build_order_s"]
    row["passages/s (ordre de build)"] = per_s
    row["passages/s (triés par longueur)"] = result["passages"] / result["sorted_s"]
    row["ms par besoin p50"] = result["query_p50_ms"]
    row["ms par besoin p95"] = result["query_p95_ms"]
    row["RSS max (Mo)"] = round(result["rss_mb"])
    if "error" not in reference:
        ref_per_s = reference["passages"] / reference["build_order_s"]
        row["× torch fp32 (passages)"] = per_s / ref_per_s
        row["× torch fp32 (besoins)"] = reference["query_p50_ms"] / result["query_p50_ms"]
        row["cosinus moyen"], row["cosinus min"] = cosines(work, path.key)
    notes = []
    if result["sample"]:
        notes.append(f"échantillon ({result['passages']} passages, {result['queries']} besoins)")
    if result["sorted_same"] < 0.9999:
        notes.append(f"tri : cosinus min {result['sorted_same']:.4f}")
    row["note"] = " ; ".join(notes) or "—"
    return row


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--paths", default="", help="only these paths (comma-separated keys), besides torch-fp32"
    )
    parser.add_argument("--folder", type=Path, default=FOLDER)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--sample", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--onnx-dir", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        path = next(p for p in PATHS if p.key == args.child)
        print(json.dumps(child(path, args.folder, args.work, args.sample, args.onnx_dir)))
        return
    from bench.markdown import table

    only = tuple(key for key in args.paths.split(",") if key)
    unknown = set(only) - {p.key for p in PATHS}
    if unknown:
        parser.error(f"chemins inconnus : {', '.join(sorted(unknown))}")
    section = run(args.quick, args.folder, only=only)
    print(f"\n## {section.title}\n\n{table(section.columns, section.rows)}\n")
    print("\n".join(f"- {note}" for note in section.notes))
    if args.json:
        args.json.write_text(json.dumps(section.to_dict(), ensure_ascii=False, indent=1))


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    main()

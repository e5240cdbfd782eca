"""nDCG@10 of the default hybrid on indexes built through each passage path (and int8 queries).

Build the indexes first, never over the project's index/ (one cache each, so every build is
cold):
  RECO_INDEX=/tmp/encq/idx-onnx-int8 RECO_CACHE=/tmp/encq/cache-onnx-int8 \
    reco build --encoders e5-adapted@onnx-int8 --quiet
`reco build` falls back to float32 where the CPU lacks BF16; to judge bfloat16's quality on
such a machine anyway (emulated, slowly), `--build torch-bfloat16` builds the first index
given through that path whatever the CPU (cache beside it), then evaluates.
then: python -m bench.encoder_quality /tmp/encq/idx-onnx-float32 /tmp/encq/idx-onnx-int8 …
Each index is evaluated as `reco eval` evaluates it (data/eval/queries.json and blind.json,
dev and test), with the queries through ONNX float32 (today's query path) and, with
--int8-queries, also through the int8 export (`reco model export --int8`).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from bench.markdown import table
from recommender.core.config import Settings
from recommender.search.diagnosis import Ranked, diagnose
from recommender.search.evaluate import EVAL_DEPTH, load_queries
from recommender.search.service import Engine

REPO = Path(__file__).resolve().parent.parent
SETS = (
    ("premier jeu", REPO / "data" / "eval" / "queries.json"),
    ("aveugle", REPO / "data" / "eval" / "blind.json"),
)
SPLITS = ("test", "dev")


def scores(engine: Engine) -> dict[str, float]:
    """nDCG@10 per evaluation set and split, as `reco eval FILE --split SPLIT` reports it."""
    out = {}
    for name, path in SETS:
        queries = load_queries(path)
        for split in SPLITS:
            chosen = [q for q in queries if q.split == split]

            def ranker(text: str) -> Ranked:
                result = engine.search(text, top=min(EVAL_DEPTH, len(engine.actions)))
                return Ranked(
                    tuple(h.action.id for h in result.hits),
                    result.no_match,
                    tuple(h.level for h in result.hits),
                )

            out[f"{name} {split}"] = float(diagnose(chosen, ranker).to_dict()["ndcg@10"])
    return out


def int8_queries(engine: Engine) -> Any:
    """Route the engine's query encodes through the int8 export; returns the previous one."""
    from embeddings.onnx import INT8_FILE, OnnxEncoder

    routed = engine.recommender.encoders[0]
    before = routed.fast
    routed.fast = OnnxEncoder(before.folder, model_file=INT8_FILE)
    return before


def forced_build(path: str, index_dir: Path, settings: Settings) -> None:
    """Build `index_dir` with the adapted model's passages through `path`, whatever the CPU."""
    from embeddings.adapted import RoutedEncoder
    from embeddings.onnx import INT8_FILE, OnnxEncoder
    from embeddings.precision import PassagePath
    from embeddings.st import SentenceTransformerEncoder
    from recommender.index.build import build_index
    from recommender.records.records import load_actions

    chosen = PassagePath(path)
    folder = settings.models_dir / "multilingual-e5-small-adapted"
    torch_encoder = SentenceTransformerEncoder(str(folder))
    fast = OnnxEncoder(folder)
    main: Any = {
        PassagePath.TORCH_FLOAT32: torch_encoder,
        PassagePath.TORCH_BFLOAT16: SentenceTransformerEncoder(str(folder), precision="bfloat16"),
        PassagePath.ONNX_FLOAT32: fast,
        PassagePath.ONNX_INT8: OnnxEncoder(folder, model_file=INT8_FILE),
    }[chosen]
    encoder = RoutedEncoder(main, fast, encoder_id=torch_encoder.id, passages=chosen)
    actions = load_actions(settings.data_path)
    cache = index_dir.parent / f"{index_dir.name}-cache"
    stats = build_index(actions, [("e5-adapted", encoder)], index_dir, cache, show_progress=False)
    print(f"{index_dir}: {stats.n_chunks} passages, {stats.seconds:.0f} s", flush=True)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("indexes", nargs="+", type=Path)
    parser.add_argument("--int8-queries", action="store_true")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--build", default=None, help="passage path forcing the first index")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    if args.build:
        forced_build(args.build, args.indexes[0], settings)
    rows = []
    for index in args.indexes:
        engine = Engine.load(replace(settings, index_dir=index, encoders=("e5-adapted",)))
        precision = engine.index.manifest["encoders"][0].get("precision", "?")
        rows.append({"index": index.name, "passages": precision, "besoins": "float32"})
        rows[-1] |= scores(engine)
        if args.int8_queries:
            before = int8_queries(engine)
            rows.append({"index": index.name, "passages": precision, "besoins": "int8"})
            rows[-1] |= scores(engine)
            engine.recommender.encoders[0].fast = before
        print(rows[-1], flush=True)
    columns = ["index", "passages", "besoins", *(f"{n} {s}" for n, _ in SETS for s in SPLITS)]
    print(table(columns, rows))
    if args.json:
        args.json.write_text(json.dumps(rows, ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()

"""`reco eval` and `reco calibrate`: the search measured on labelled needs, and its match
levels and « rien de proche » fitted on them (the CLI only parses their arguments)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from tqdm import tqdm

from recommender.cli.commands import emit, fail, load_engine
from recommender.core.config import Settings
from recommender.search.calibration import (
    LabelledHit,
    LabelledNeed,
    fit_calibration,
    no_match_inputs,
)
from recommender.search.diagnosis import Ranked, diagnose, diagnosis_text
from recommender.search.evaluate import EVAL_DEPTH, LabelledQuery, load_queries
from recommender.search.outside import cross_validate
from recommender.search.service import Engine


def run_eval(settings: Settings, path: Path, split: str | None, as_json: bool) -> None:
    try:
        queries = load_queries(path)
    except ValueError as exc:
        fail(str(exc))
    if split and split != "tout":
        queries = [q for q in queries if q.split == split]
    if not queries:
        fail(f"aucune requête « {split} » dans {path}.")
    engine = load_engine(settings)
    bar = tqdm(total=len(queries), desc="Évaluation", unit="besoin", disable=as_json)

    def ranker(text: str) -> Ranked:
        result = engine.search(text, top=min(EVAL_DEPTH, len(engine.actions)))
        bar.update()
        return Ranked(
            tuple(h.action.id for h in result.hits),
            result.no_match,
            tuple(h.level for h in result.hits),
        )

    with bar:
        report = diagnose(queries, ranker)
    payload = {"queries": str(path), "split": split or "tout", **report.to_dict()}

    def title(action_id: str) -> str:
        action = engine.index.action(action_id)
        return action.title if action else action_id

    header = f"{path} ({split or 'tout'}, {len(queries)} besoins)"
    emit(payload, header + "\n" + diagnosis_text(report, title), as_json)


def labelled_needs(engine: Engine, queries: Iterable[LabelledQuery]) -> list[LabelledNeed]:
    """Each labelled need as the search sees it: its top 10 graded, its need features."""
    needs = []
    for number, q in enumerate(queries):
        result = engine.search(q.query, top=10)
        hits = tuple(
            LabelledHit(number, rank, h.features, q.relevant.get(h.action.id, 0))
            for rank, h in enumerate(result.hits)
        )
        needs.append(LabelledNeed(hits, result.need_features, max(q.relevant.values(), default=0)))
    return needs


def run_calibrate(settings: Settings, paths: list[Path], split: str, output: Path) -> str:
    """Fit match levels on labelled splits and save them next to the data."""
    try:
        queries = [
            q for path in paths for q in load_queries(path) if split == "tout" or q.split == split
        ]
    except ValueError as exc:
        fail(str(exc))
    if not queries:
        fail(f"aucune requête « {split} » dans {', '.join(map(str, paths))}.")
    engine = load_engine(settings)
    ids = [e.id for e in engine.recommender.encoders]
    needs = labelled_needs(engine, tqdm(queries, desc="Calibration", unit="besoin"))
    source = " + ".join(f"{p.name}:{split}" for p in paths)
    calibration = fit_calibration(ids, needs, source)
    calibration.save(output)
    held_out = cross_validate(*no_match_inputs(calibration, needs))
    return (
        f"Calibration écrite dans {output} ({len(queries)} besoins) : "
        f"très proche ≥ {calibration.very_close:.2f}, proche ≥ {calibration.close:.2f}, "
        f"à explorer ≥ {calibration.explore:.2f} ; « rien de proche » au-dessus de "
        f"{calibration.detector.threshold:.2f} de probabilité hors corpus.\n"
        f"Attendu sur des besoins neufs (validation croisée, 5 plis × 20) : "
        f"{held_out.recall:.0%} des besoins hors corpus reçoivent « rien de proche », "
        f"{held_out.false_no_match:.1%} des besoins avec une action notée 2 le reçoivent à tort."
    )

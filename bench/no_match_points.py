"""Operating points of « rien de proche »: out-of-corpus needs found vs false « rien ».

The levels and the detector are fitted on the dev needs of both sets exactly as `reco
calibrate` does; only the bar changes, chosen on dev for several allowances of false « rien »
(share of dev needs with a grade-2 action). Each row shows dev (in-sample), the 5-fold
cross-validated estimate on dev, and the test splits (never used for fitting).

Usage: python -m bench.no_match_points data/eval/blind.json data/eval/queries.json
(index and encoders as for `reco search`: RECO_INDEX, RECO_ENCODERS…; ~1 min)
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from recommender.cli.measure import labelled_needs
from recommender.core.config import Settings
from recommender.search.calibration import Calibration, LabelledNeed, fit_calibration
from recommender.search.calibration import no_match_inputs as inputs
from recommender.search.evaluate import load_queries
from recommender.search.outside import Estimate, cross_validate, estimate, fit_detector, said
from recommender.search.service import Engine

TARGETS = (0.025, 0.05, 0.075, 0.10)


def _rates(cal: Calibration, target: float, needs: list[LabelledNeed], dev) -> Estimate:
    detector = fit_detector(*dev, target=target)
    features, grades, forced = inputs(cal, needs)
    return estimate(said(detector, features, forced), grades)


def _cell(e: Estimate, needs: list[LabelledNeed]) -> str:
    grades = np.array([n.best_grade for n in needs])
    return (
        f"{e.recall:.0%} de {(grades == 0).sum()} / {e.false_no_match:.1%} de {(grades == 2).sum()}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sets", type=Path, nargs="+")
    args = parser.parse_args()
    engine = Engine.load(Settings.from_env())
    split = {
        (path.name, part): labelled_needs(
            engine, [q for q in load_queries(path) if q.split == part]
        )
        for path in args.sets
        for part in ("dev", "test")
    }
    dev_needs = [n for (_, part), needs in split.items() if part == "dev" for n in needs]
    cal = fit_calibration([e.id for e in engine.recommender.encoders], dev_needs, "dev")
    dev = inputs(cal, dev_needs)
    names = [f"{name} {part}" for name, part in split]
    print("| fausses « rien » permises (dev) | seuil | CV dev | " + " | ".join(names) + " |")
    print("|---" * (3 + len(names)) + "|")
    for target in TARGETS:
        bar = fit_detector(*dev, target=target).threshold
        held = cross_validate(*dev, target=target)
        cells = [_cell(_rates(cal, target, needs, dev), needs) for needs in split.values()]
        print(
            f"| {target:.1%} | {bar:.2f} | {held.recall:.0%} / {held.false_no_match:.1%} | "
            + " | ".join(cells)
            + " |"
        )


if __name__ == "__main__":
    main()

"""Agreement between the primary judges (J1–J5) and the second judges (K, K2) of the blind set.

Reports, over the needs both graded: Cohen's kappa on the 0/1/2 grades of every record
either judge graded (pooled candidates and extras), kappa on relevant / not relevant, the
nDCG@10 of the second judge's ranking (records sorted by its grades, ties in a fixed random
order) against the primary labels, and agreement on « no relevant record ».

Usage: python data/eval/blind_agreement.py [--json]
"""

from __future__ import annotations

import json
import math
import random
import sys
from collections import Counter
from collections.abc import Sequence

from build_blind import PRIMARY, load_judge


def kappa(pairs: Sequence[tuple[int, int]]) -> float:
    observed = sum(a == b for a, b in pairs) / len(pairs)
    first, second = Counter(a for a, _ in pairs), Counter(b for _, b in pairs)
    expected = sum(first[k] * second[k] for k in first) / len(pairs) ** 2
    return (observed - expected) / (1 - expected)


def dcg(gains: Sequence[int]) -> float:
    return sum((2**g - 1) / math.log2(i + 2) for i, g in enumerate(gains))


def agreement() -> dict:
    primary: dict[str, dict[str, int]] = {}
    for judge in PRIMARY:
        primary.update(load_judge(judge))
    second = {**load_judge("K"), **load_judge("K2")}
    pairs, ndcgs, rng = [], [], random.Random(0)
    none_both = none_first = none_second = 0
    for need, theirs in second.items():
        ours = primary[need]
        records = sorted(set(ours) | set(theirs))
        pairs += [(ours.get(r, 0), theirs.get(r, 0)) for r in records]
        first_none, second_none = max(ours.values()) == 0, max(theirs.values()) == 0
        none_first += first_none
        none_second += second_none
        none_both += first_none and second_none
        if not first_none:
            rng.shuffle(records)
            ranked = sorted(records, key=lambda r: -theirs.get(r, 0))
            ideal = dcg(sorted(ours.values(), reverse=True)[:10])
            ndcgs.append(dcg([ours.get(r, 0) for r in ranked[:10]]) / ideal)
    return {
        "needs": len(second),
        "graded_pairs": len(pairs),
        "raw_agreement": round(sum(a == b for a, b in pairs) / len(pairs), 3),
        "kappa_0_1_2": round(kappa(pairs), 3),
        "kappa_relevant": round(kappa([(a > 0, b > 0) for a, b in pairs]), 3),
        "ndcg10_second_vs_primary": round(sum(ndcgs) / len(ndcgs), 3),
        "ndcg_needs": len(ndcgs),
        "no_relevant": {"primary": none_first, "second": none_second, "both": none_both},
        "confusion": {f"{a}->{b}": n for (a, b), n in sorted(Counter(pairs).items())},
    }


def main() -> None:
    result = agreement()
    if "--json" in sys.argv:
        print(json.dumps(result, indent=1))
        return
    print(f"Besoins jugés deux fois : {result['needs']} ({result['graded_pairs']} fiches notées)")
    print(f"Accord brut : {result['raw_agreement']}")
    print(f"Kappa de Cohen (0/1/2) : {result['kappa_0_1_2']}")
    print(f"Kappa pertinent / non pertinent : {result['kappa_relevant']}")
    print(
        f"nDCG@10 du second juge contre le premier : {result['ndcg10_second_vs_primary']}"
        f" ({result['ndcg_needs']} besoins)"
    )
    n = result["no_relevant"]
    print(
        f"« Aucune fiche pertinente » : premier {n['primary']}, second {n['second']}, les deux {n['both']}"
    )


if __name__ == "__main__":
    main()

"""Build data/eval/blind.json from the blind evaluation's raw files (data/eval/blind/).

Roles were kept apart (docs/EVALUATION.md): a writer who never read the records wrote the
needs (needs.json); the pooled candidates of six rankers (rankings.json → pool.json,
shuffled, no system names) were graded 0/1/2 by judges J1–J5 who read whole records and
added relevant records missing from the pool ("extra"); judges K and K2 graded a sample
again (agreement: data/eval/blind_agreement.py). The dev/test split (split.json) was fixed
before any tuning. Labels come from the primary judges J1–J5 only.

Usage: python data/eval/build_blind.py  (rewrites data/eval/blind.json)
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).parent
RAW = HERE / "blind"
PRIMARY = ("J1", "J2", "J3", "J4", "J5")


def grades_of(entry: dict) -> dict[str, int]:
    """A judge's grades for one need: pooled candidates and extras, all records graded."""
    grades = {a: int(g) for a, g in entry["grades"].items()}
    grades.update({a: int(g) for a, g in (entry.get("extra") or {}).items()})
    return grades


def load_judge(name: str) -> dict[str, dict[str, int]]:
    data = json.loads((RAW / "judges" / f"grades_{name}.json").read_text(encoding="utf-8"))
    return {need: grades_of(entry) for need, entry in data.items()}


def build() -> list[dict]:
    needs = json.loads((RAW / "needs.json").read_text(encoding="utf-8"))
    split = json.loads((RAW / "split.json").read_text(encoding="utf-8"))
    labels: dict[str, dict[str, int]] = {}
    for judge in PRIMARY:
        labels.update(load_judge(judge))
    missing = [n["id"] for n in needs if n["id"] not in labels]
    if missing:
        raise SystemExit(f"besoins sans jugement : {', '.join(missing)}")
    out = []
    for need in needs:
        relevant = {a: g for a, g in sorted(labels[need["id"]].items()) if g > 0}
        out.append(
            {
                "id": need["id"],
                "query": need["text"],
                "relevant": relevant,
                "split": split[need["id"]],
                "kind": need["kind"],
            }
        )
    return out


def main() -> None:
    queries = build()
    target = HERE / "blind.json"
    target.write_text(json.dumps(queries, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    none = sum(1 for q in queries if not q["relevant"])
    print(f"{target} : {len(queries)} besoins, dont {none} sans action pertinente")


if __name__ == "__main__":
    main()

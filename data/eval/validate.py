"""Validation du jeu d'évaluation : ids existants, notes 1/2, comptes par split/kind."""

import collections
import json
import pathlib

here = pathlib.Path(__file__).resolve().parent
lines = (here.parent / "actions.jsonl").read_text(encoding="utf-8").splitlines()
ids = {json.loads(line)["id"] for line in lines if line.strip()}
Q = json.loads((here / "queries.json").read_text(encoding="utf-8"))
KINDS = {"long", "short", "typo", "nomatch", "acronym"}
errors = []
seen = set()
for i, q in enumerate(Q):
    if set(q) != {"query", "relevant", "split", "kind"}:
        errors.append(f"{i}: clés {sorted(q)}")
    if q["split"] not in ("dev", "test"):
        errors.append(f"{i}: split {q['split']}")
    if q["kind"] not in KINDS:
        errors.append(f"{i}: kind {q['kind']}")
    if q["query"] in seen:
        errors.append(f"{i}: requête dupliquée")
    seen.add(q["query"])
    for rid, g in q["relevant"].items():
        if rid not in ids:
            errors.append(f"{i}: id inconnu {rid}")
        if g not in (1, 2):
            errors.append(f"{i}: note {g} pour {rid}")
    if (q["kind"] == "nomatch") != (len(q["relevant"]) == 0):
        errors.append(f"{i}: incohérence nomatch/relevant")
print("erreurs:", errors or "aucune")
print("total requêtes:", len(Q), "| actions:", len(ids))
tab = collections.Counter((q["split"], q["kind"]) for q in Q)
kinds = ["long", "short", "typo", "acronym", "nomatch"]
print(f"{'split':6}" + "".join(f"{k:>9}" for k in kinds) + f"{'total':>8}")
for s in ("dev", "test"):
    print(
        f"{s:6}"
        + "".join(f"{tab[(s, k)]:>9}" for k in kinds)
        + f"{sum(tab[(s, k)] for k in kinds):>8}"
    )
for s in ("dev", "test", None):
    sub = [q for q in Q if (s is None or q["split"] == s) and q["kind"] != "nomatch"]
    n = [len(q["relevant"]) for q in sub]
    n2 = [sum(1 for g in q["relevant"].values() if g == 2) for q in sub]
    print(
        f"{s or 'all':5}: requêtes avec pertinents={len(sub)}  moy. pertinents={sum(n) / len(n):.2f}"
        f"  moy. grade2={sum(n2) / len(n2):.2f}  min/max={min(n)}/{max(n)}  sans grade2={sum(1 for x in n2 if x == 0)}"
    )
allrel = [len(q["relevant"]) for q in Q]
print(
    f"moyenne pertinents sur toutes les requêtes (nomatch inclus): {sum(allrel) / len(allrel):.2f}"
)
cov = {r for q in Q for r in q["relevant"]}
print(
    f"actions citées au moins une fois: {len(cov)}/{len(ids)}; jamais citées: {sorted(ids - cov)}"
)

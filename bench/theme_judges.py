"""The judges' agreement on the theme labels, and the revised taxonomy of
`bench.theme_classifier --merge` (two public themes as one)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from recommender.answers.taxonomy import KINDS, SYNTHESIS_DIR, Taxonomy

# The revised taxonomy of `--merge`: old key -> (new key, new label).
MERGE = {
    "mobilisation_public": ("mobiliser_garder_public", "Mobiliser et garder le public"),
    "engagement_participants": ("mobiliser_garder_public", "Mobiliser et garder le public"),
}


def merged_key(key: str) -> str:
    """A theme key of the current taxonomy as the revised one says it."""
    return MERGE[key][0] if key in MERGE else key


def merged(taxonomy: Taxonomy) -> Taxonomy:
    """`taxonomy` with the MERGE themes under one key and label (each keeps its definition
    and phrases, all as training points of the merged theme)."""
    themes = [
        replace(t, key=MERGE[t.key][0], label=MERGE[t.key][1]) if t.key in MERGE else t
        for t in taxonomy.themes
    ]
    return Taxonomy(tuple(themes))


def kappa(a: Sequence[str], b: Sequence[str]) -> float:
    """Cohen's kappa of two labellings of the same items."""
    observed = np.mean([x == y for x, y in zip(a, b, strict=True)])
    ca, cb = Counter(a), Counter(b)
    expected = sum(ca[c] * cb[c] for c in ca) / len(a) ** 2
    return float((observed - expected) / (1 - expected))


def judges_agreement(merge: bool) -> str:
    """The judges' kappa per side, on the current labels or after the MERGE mapping."""
    a, b = (
        json.loads((SYNTHESIS_DIR / f"labels_judge_{j}.json").read_text(encoding="utf-8"))
        for j in ("A", "B")
    )
    relabel = merged_key if merge else (lambda k: k)
    parts = []
    for kind in KINDS:
        ids = sorted(i for i in a if i.startswith(kind[0]) and i in b)
        score = kappa([relabel(a[i]) for i in ids], [relabel(b[i]) for i in ids])
        parts.append(f"{kind}s {score:.3f}")
    return ", ".join(parts)

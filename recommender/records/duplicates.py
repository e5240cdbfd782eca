"""Exact and near-exact duplicate detection between action records.

Exact copies share their content id. Near-exact copies (a typo fixed, a sentence added) are
found by the Jaccard similarity of word 3-shingles over the identifying fields.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from recommender.records.records import CONTENT_FIELDS, Action, DuplicateRef, fold

NEAR_DUPLICATE_THRESHOLD = 0.9


@dataclass(frozen=True)
class DuplicateGroup:
    canonical: Action
    others: tuple[Action, ...]


def shingles(action: Action, size: int = 3) -> frozenset[str]:
    words = " ".join(fold(getattr(action, name)) for name in CONTENT_FIELDS).split()
    if len(words) < size:
        return frozenset([" ".join(words)])
    return frozenset(" ".join(words[i : i + size]) for i in range(len(words) - size + 1))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


def _completeness(action: Action) -> tuple[int, int]:
    """More filled fields first, then more text: the best copy becomes canonical."""
    values = [v for v in action.to_dict().values() if v not in ("", [], 0, None)]
    return (len(values), sum(len(str(v)) for v in values))


def _group_indexes(actions: Sequence[Action], threshold: float) -> list[list[int]]:
    """Union-find over pairs that are exact or near-exact copies."""
    parent = list(range(len(actions)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    sets = [shingles(a) for a in actions]
    for i in range(len(actions)):
        for j in range(i + 1, len(actions)):
            same = actions[i].id == actions[j].id
            if same or jaccard(sets[i], sets[j]) >= threshold:
                parent[root(j)] = root(i)
    groups: dict[int, list[int]] = {}
    for i in range(len(actions)):
        groups.setdefault(root(i), []).append(i)
    return list(groups.values())


def find_duplicates(
    actions: Sequence[Action], threshold: float = NEAR_DUPLICATE_THRESHOLD
) -> tuple[list[Action], list[DuplicateGroup]]:
    """Return the canonical actions (first-seen order) and the duplicate groups.

    Each canonical action lists its other copies in `duplicates`.
    """
    canonical_at: dict[int, Action] = {}
    groups: list[DuplicateGroup] = []
    for members in _group_indexes(actions, threshold):
        ranked = sorted(members, key=lambda i: (-_completeness(actions[i])[0], i))
        best = ranked[0]
        keep_sets = shingles(actions[best])
        refs = tuple(
            DuplicateRef(
                id=actions[i].id,
                source_file=actions[i].source_file,
                source_line=actions[i].source_line,
                similarity=round(jaccard(keep_sets, shingles(actions[i])), 4),
            )
            for i in sorted(members)
            if i != best
        )
        canonical = replace(actions[best], duplicates=refs)
        canonical_at[min(members)] = canonical
        if refs:
            others = tuple(actions[i] for i in sorted(members) if i != best)
            groups.append(DuplicateGroup(canonical, others))
    return [canonical_at[i] for i in sorted(canonical_at)], groups

"""What the index derives from each record's words, reused from the last build when unchanged.

Per action: its passages (cut fields), its BM25 terms and its coverage stems. A rebuild after
a few edited records (20,000 actions) took 22 s, mostly re-deriving and rewriting these for
every record. Now each action's content key (index/columns.py) is looked up among the last
build's: a known key takes that action's rows from the previous index's files, and only the
other actions are cut and analysed. Merged rows equal rows built from scratch, bit for bit
(tests/test_incremental_build.py).
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from recommender.index.analysis import (
    StemTable,
    TokenCache,
    coverage_parts,
    folded_words,
    lexical_parts,
)
from recommender.index.chunks import chunk_actions
from recommender.index.columns import content_key
from recommender.index.passage_table import Passages, merge
from recommender.index.term_rows import TermRows, merge_rows
from recommender.records.records import Action

RECORDS = "records.npz"
PASSAGES = "passages.npz"
LEXICAL_TERMS = "lexical/terms.npz"
COVERAGE = "coverage.npz"
WORDS = "words.npz"


@dataclass(frozen=True)
class Derived:
    keys: tuple[str, ...]  # content key of each action
    passages: Passages
    lexical: TermRows  # each action's BM25 document
    stems: StemTable  # each action's distinct coverage stems
    words: TermRows  # each action's distinct coverage words, accents folded
    reused: int  # actions whose rows came from the previous index


@dataclass(frozen=True)
class _Previous:
    keys: list[str]
    passages: Passages
    lexical: TermRows
    stems: TermRows
    words: TermRows


def _read_previous(index_dir: Path, format_version: int, content_version: str) -> _Previous | None:
    """The last build's per-action rows, if it has this layout; else None (all anew)."""
    try:
        manifest = json.loads((index_dir / "manifest.json").read_text(encoding="utf-8"))
        if (manifest.get("format_version"), manifest.get("content_version")) != (
            format_version,
            content_version,
        ):
            return None
        with np.load(index_dir / RECORDS, allow_pickle=False) as data:
            keys = data["keys"].astype(str).tolist()
        previous = _Previous(
            keys,
            Passages.load(index_dir / PASSAGES, [""] * len(keys)),
            TermRows.load(index_dir / LEXICAL_TERMS),
            TermRows.load(index_dir / COVERAGE),
            TermRows.load(index_dir / WORDS),
        )
    except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile):
        return None
    if any(len(rows) != len(keys) for rows in (previous.lexical, previous.stems, previous.words)):
        return None
    return previous


def derive(
    actions: Sequence[Action],
    index_dir: Path,
    tokens: TokenCache,
    versions: tuple[int, str],
) -> Derived:
    """Each action's rows: the previous index's for a known content key, else made anew."""
    keys = tuple(content_key(a) for a in actions)
    ids = [a.id for a in actions]
    previous = _read_previous(index_dir, *versions) or _Previous(
        [], Passages.from_chunks([], []), *(TermRows.from_tokens([]) for _ in range(3))
    )
    position = {key: i for i, key in enumerate(previous.keys)}
    kept_from = np.array([position.get(key, -1) for key in keys], dtype=np.int64)
    fresh = [a for a, old in zip(actions, kept_from.tolist(), strict=True) if old < 0]
    lexical = TermRows.from_tokens([tokens.document(lexical_parts(a)) for a in fresh])
    stems = StemTable.build(tokens.document(coverage_parts(a)) for a in fresh).rows
    return Derived(
        keys,
        merge(previous.passages, kept_from, chunk_actions(fresh), ids),
        merge_rows(previous.lexical, kept_from, lexical),
        StemTable(merge_rows(previous.stems, kept_from, stems)),
        merge_rows(previous.words, kept_from, TermRows.from_tokens([folded_words(a) for a in fresh])),
        len(actions) - len(fresh),
    )

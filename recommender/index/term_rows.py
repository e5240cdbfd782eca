"""Per document, its distinct terms and their counts: what BM25 and coverage are built from.

Stored in the index (`lexical/terms.npz`, `coverage.npz`), so a rebuild copies the rows of
unchanged records and analyses only the changed ones. The vocabulary is sorted and holds
exactly the terms of the rows, so merging rows and building from scratch give the same
arrays, bit for bit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from recommender.index.columns import ranges


@dataclass(frozen=True, eq=False)
class TermRows:
    vocab: np.ndarray  # str, sorted, each term in at least one row
    indptr: np.ndarray  # int64: row i has terms[indptr[i]:indptr[i + 1]]
    terms: np.ndarray  # int32, increasing within a row
    counts: np.ndarray  # int32, occurrences of each term in its row

    @classmethod
    def from_tokens(cls, documents: Sequence[Sequence[str]]) -> TermRows:
        numbers: dict[str, int] = {}
        flat = [numbers.setdefault(t, len(numbers)) for doc in documents for t in doc]
        lengths = np.fromiter(map(len, documents), np.int64, len(documents))
        first = np.array(list(numbers), dtype=str)
        order = np.argsort(first, kind="stable")
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order))
        width = max(len(numbers), 1)
        keys = np.repeat(np.arange(len(documents), dtype=np.int64), lengths) * width
        keys += rank[np.asarray(flat, dtype=np.int64)]
        unique, counts = np.unique(keys, return_counts=True)
        indptr = np.searchsorted(unique // width, np.arange(len(documents) + 1))
        return cls._canonical(first[order], indptr, unique % width, counts)

    @classmethod
    def _canonical(cls, vocab, indptr, terms, counts) -> TermRows:
        return cls(
            np.array(np.asarray(vocab).tolist(), dtype=str).reshape(-1),
            np.asarray(indptr, dtype=np.int64),
            np.asarray(terms, dtype=np.int32),
            np.asarray(counts, dtype=np.int32),
        )

    def __len__(self) -> int:
        return len(self.indptr) - 1

    def lengths(self) -> np.ndarray:
        """Each row's number of tokens (sum of its counts)."""
        sums = np.concatenate([[0], np.cumsum(self.counts, dtype=np.int64)])
        return sums[self.indptr[1:]] - sums[self.indptr[:-1]]

    def owners(self) -> np.ndarray:
        return np.repeat(np.arange(len(self), dtype=np.int64), np.diff(self.indptr))

    def save(self, path: Path) -> None:
        with path.open("wb") as handle:
            np.savez(
                handle, vocab=self.vocab, indptr=self.indptr, terms=self.terms, counts=self.counts
            )

    @classmethod
    def load(cls, path: Path) -> TermRows:
        """ValueError when the arrays do not fit together."""
        with np.load(path, allow_pickle=False) as data:
            rows = cls(*(data[name] for name in ("vocab", "indptr", "terms", "counts")))
        n = len(rows.terms)
        if (
            rows.indptr.ndim != 1
            or len(rows.indptr) < 1
            or rows.indptr[0] != 0
            or rows.indptr[-1] != n
            or len(rows.counts) != n
            or np.any(np.diff(rows.indptr) < 0)
            or (n and (rows.terms.min() < 0 or rows.terms.max() >= len(rows.vocab)))
        ):
            raise ValueError(f"{path.name} : lignes de termes incohérentes")
        return rows


def merge_rows(previous: TermRows, kept_from: np.ndarray, fresh: TermRows) -> TermRows:
    """Row i is the previous row kept_from[i] when >= 0, else the next row of `fresh`."""
    kept = kept_from >= 0
    old = kept_from[kept]
    if int((~kept).sum()) != len(fresh):
        raise ValueError("merge_rows: one fresh row per row not kept")
    old_sizes = np.diff(previous.indptr)[old]
    old_entries = ranges(previous.indptr[old], old_sizes)
    old_terms = previous.terms[old_entries]
    used = np.bincount(old_terms, minlength=len(previous.vocab)) > 0
    vocab = np.union1d(previous.vocab[used], fresh.vocab)
    old_map = np.searchsorted(vocab, previous.vocab)
    sizes = np.zeros(len(kept_from), dtype=np.int64)
    sizes[kept], sizes[~kept] = old_sizes, np.diff(fresh.indptr)
    indptr = np.concatenate([[0], np.cumsum(sizes)])
    terms = np.zeros(int(indptr[-1]), dtype=np.int64)
    counts = np.zeros(int(indptr[-1]), dtype=np.int32)
    at_old = ranges(indptr[:-1][kept], old_sizes)
    at_new = ranges(indptr[:-1][~kept], sizes[~kept])
    terms[at_old], counts[at_old] = old_map[old_terms], previous.counts[old_entries]
    terms[at_new] = np.searchsorted(vocab, fresh.vocab)[fresh.terms]
    counts[at_new] = fresh.counts
    return TermRows._canonical(vocab, indptr, terms, counts)

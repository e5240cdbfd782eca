"""The index's passages as columns: one text blob and small arrays, one row per vector.

Reading 133,000 passages as JSON lines took about 2.5 s at each start (20,000 actions); as
columns, `np.load` and one decode. `Chunk` objects are made only for the rows asked for (the
passages shown on a card), and each action's passages are one contiguous run of rows, so a
rebuild copies the runs of unchanged actions instead of cutting their records again.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import overload

import numpy as np

from recommender.index.chunks import Chunk, ChunkField, field_embedding_text
from recommender.index.columns import check_ends, pack_strings, ranges

_FIELDS = tuple(ChunkField)
_CODE = {name: code for code, name in enumerate(_FIELDS)}


@dataclass(frozen=True, eq=False)
class Passages(Sequence[Chunk]):
    """Row r: `owner[r]` (the action's position), its field, window, start and text."""

    action_ids: tuple[str, ...]
    owner: np.ndarray  # int64, non-decreasing
    field: np.ndarray  # int8, code in ChunkField order
    window: np.ndarray  # int32
    start: np.ndarray  # int64
    text: str  # every passage's text, concatenated
    ends: np.ndarray  # int64, end offset of each passage's text in `text`

    @classmethod
    def from_chunks(cls, chunks: Sequence[Chunk], action_ids: Sequence[str]) -> Passages:
        position = {a: i for i, a in enumerate(action_ids)}
        texts = [c.text for c in chunks]
        return cls(
            tuple(action_ids),
            np.array([position[c.action_id] for c in chunks], dtype=np.int64),
            np.array([_CODE[c.field] for c in chunks], dtype=np.int8),
            np.array([c.window for c in chunks], dtype=np.int32),
            np.array([c.start for c in chunks], dtype=np.int64),
            "".join(texts),
            np.cumsum(np.fromiter(map(len, texts), np.int64, len(texts))),
        )

    def __len__(self) -> int:
        return len(self.owner)

    @overload
    def __getitem__(self, row: int) -> Chunk: ...
    @overload
    def __getitem__(self, row: slice) -> list[Chunk]: ...
    def __getitem__(self, row: int | slice) -> Chunk | list[Chunk]:
        if isinstance(row, slice):
            return [self[r] for r in range(*row.indices(len(self)))]
        row = int(row)
        if row < 0:
            row += len(self)
        if not 0 <= row < len(self):
            raise IndexError(row)
        begin = int(self.ends[row - 1]) if row else 0
        return Chunk(
            self.action_ids[int(self.owner[row])],
            _FIELDS[int(self.field[row])],
            int(self.window[row]),
            int(self.start[row]),
            self.text[begin : int(self.ends[row])],
        )

    def __iter__(self) -> Iterator[Chunk]:
        return (self[r] for r in range(len(self)))

    def texts(self) -> list[str]:
        bounds = self.char_bounds()
        return [self.text[a:b] for a, b in itertools.pairwise(bounds)]

    def char_bounds(self) -> list[int]:
        """Where each passage's text begins in `text`, then where the last one ends."""
        return [0, *self.ends.tolist()]

    def fields(self) -> list[ChunkField]:
        return [_FIELDS[code] for code in self.field.tolist()]

    def runs(self) -> np.ndarray:
        """First row of each action's passages (n_actions + 1 values)."""
        return np.searchsorted(self.owner, np.arange(len(self.action_ids) + 1))

    def save(self, path: Path) -> None:
        blob, _ = pack_strings([self.text])
        with path.open("wb") as handle:
            np.savez(
                handle,
                owner=self.owner,
                field=self.field,
                window=self.window,
                start=self.start,
                text=blob,
                ends=self.ends,
            )

    @classmethod
    def load(cls, path: Path, action_ids: Sequence[str]) -> Passages:
        """ValueError when the file does not describe passages of these actions."""
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in ("owner", "field", "window", "start", "ends")}
            text = data["text"].tobytes().decode("utf-8")
        check_ends(arrays["ends"], len(text))
        owner, field = arrays["owner"], arrays["field"]
        n = len(owner)
        if any(len(a) != n for a in arrays.values()) or (
            n and (owner[0] < 0 or owner[-1] >= len(action_ids) or np.any(np.diff(owner) < 0))
        ):
            raise ValueError("passages.npz : passages incohérents avec les actions")
        if n and (field.min() < 0 or field.max() >= len(_FIELDS)):
            raise ValueError("passages.npz : champ de passage inconnu")
        return cls(tuple(action_ids), text=text, **arrays)


def merge(
    previous: Passages, kept_from: np.ndarray, fresh: Sequence[Chunk], ids: Sequence[str]
) -> Passages:
    """The passages of `ids`: action i's are the previous action kept_from[i]'s when it is
    >= 0 (same content), else its chunks among `fresh` (grouped by action, in order)."""
    made = Passages.from_chunks(fresh, ids)
    runs = previous.runs()
    kept = kept_from >= 0
    old = kept_from[kept]
    counts = np.zeros(len(ids), dtype=np.int64)
    counts[kept] = runs[old + 1] - runs[old]
    counts[~kept] = np.bincount(made.owner, minlength=len(ids))[~kept]
    first = np.cumsum(counts) - counts
    old_rows = ranges(runs[old], counts[kept])
    new_rows = ranges(first[kept], counts[kept])
    fresh_rows = ranges(first[~kept], counts[~kept])
    columns = {}
    lengths = np.diff(previous.ends, prepend=0), np.diff(made.ends, prepend=0)
    for name, ours, theirs in [
        ("field", previous.field, made.field),
        ("window", previous.window, made.window),
        ("start", previous.start, made.start),
        ("length", *lengths),
    ]:
        column = np.zeros(int(counts.sum()), dtype=ours.dtype)
        column[new_rows], column[fresh_rows] = ours[old_rows], theirs
        columns[name] = column
    bounds, made_bounds = previous.char_bounds(), made.char_bounds()
    made_runs = made.runs()
    texts = [
        previous.text[bounds[runs[o]] : bounds[runs[o + 1]]]
        if o >= 0
        else made.text[made_bounds[made_runs[i]] : made_bounds[made_runs[i + 1]]]
        for i, o in enumerate(kept_from.tolist())
    ]
    return Passages(
        tuple(ids),
        np.repeat(np.arange(len(ids), dtype=np.int64), counts),
        columns["field"],
        columns["window"],
        columns["start"],
        "".join(texts),
        np.cumsum(columns["length"]),
    )


def passage_embedding_texts(passages: Passages, titles: Sequence[str]) -> list[str]:
    """`chunks.embedding_text` of every row (`titles`: one per action)."""
    rows = zip(passages.fields(), passages.texts(), passages.owner.tolist(), strict=True)
    return [field_embedding_text(field, text, titles[owner]) for field, text, owner in rows]

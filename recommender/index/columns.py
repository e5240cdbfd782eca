"""Columnar storage of the index's records: one blob of text per field, read without JSON.

20,000 actions as JSON lines take about 2 s to parse and hold the interpreter lock all along,
which the app's start pays while Gradio imports. Stored as columns (each field's values
concatenated, with their end offsets), they load in a fraction of that: `np.load`, one UTF-8
decode per column, then slices.

`content_key` identifies what an action's derived artefacts (passages, BM25 document, coverage
words) depend on, so a rebuild reuses them for the records whose key did not change.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import operator
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np

from recommender.records.records import LIST_FIELDS, Action, DuplicateRef

_FIELDS = tuple(Action.__dataclass_fields__)
# Everything searchable: not where the record was read nor its copies.
_SOURCE_FIELDS = ("source_file", "source_line", "duplicates")
_CONTENT_FIELDS = tuple(name for name in _FIELDS if name not in _SOURCE_FIELDS)
_content = operator.attrgetter(*_CONTENT_FIELDS)


def content_key(action: Action) -> str:
    """A digest of the searchable fields (their repr: no two different records share it)."""
    values = repr(_content(action))
    return hashlib.blake2b(values.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def pack_strings(values: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """(UTF-8 bytes of all values, their end offsets in characters)."""
    blob = np.frombuffer("".join(values).encode("utf-8"), dtype=np.uint8)
    ends = np.cumsum(np.fromiter(map(len, values), dtype=np.int64, count=len(values)))
    return blob, ends


def unpack_strings(blob: np.ndarray, ends: np.ndarray) -> list[str]:
    """The values packed by `pack_strings` (ValueError if the offsets do not fit the text)."""
    text = blob.tobytes().decode("utf-8")
    check_ends(ends, len(text))
    bounds = [0, *ends.tolist()]
    return [text[a:b] for a, b in itertools.pairwise(bounds)]


def ranges(begins: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The concatenation of arange(b, b + c) for each pair (vectorised)."""
    begins, counts = np.asarray(begins, np.int64), np.asarray(counts, np.int64)
    offsets = np.repeat(begins - np.cumsum(counts) + counts, counts)
    return offsets + np.arange(int(counts.sum()), dtype=np.int64)


def check_ends(ends: np.ndarray, length: int) -> None:
    if ends.ndim != 1 or (len(ends) and (ends[-1] != length or np.any(np.diff(ends) < 0))):
        raise ValueError("colonnes de texte incohérentes")
    if not len(ends) and length:
        raise ValueError("colonnes de texte incohérentes")


def _duplicates_text(action: Action) -> str:
    return json.dumps([asdict(d) for d in action.duplicates]) if action.duplicates else ""


def save_records(path: Path, actions: Sequence[Action], keys: Sequence[str]) -> None:
    """Write the actions (and their content keys) as columns into one .npz file."""
    arrays: dict[str, np.ndarray] = {"keys": np.array(list(keys), dtype="S32")}
    for name in _FIELDS:
        if name in LIST_FIELDS:
            lists = list(map(operator.attrgetter(name), actions))
            arrays[f"{name}.count"] = np.fromiter(map(len, lists), np.int32, len(lists))
            values: Iterable[str] = [v for values in lists for v in values]
        elif name == "source_line":
            arrays[name] = np.array([a.source_line for a in actions], dtype=np.int64)
            continue
        elif name == "duplicates":
            values = [_duplicates_text(a) for a in actions]
        else:
            values = list(map(operator.attrgetter(name), actions))
        arrays[f"{name}.text"], arrays[f"{name}.ends"] = pack_strings(list(values))
    with path.open("wb") as handle:
        np.savez(handle, **arrays)  # type: ignore[arg-type]


def load_records(path: Path) -> tuple[list[Action], list[str]]:
    """The actions and content keys written by `save_records`; ValueError if inconsistent."""
    with np.load(path, allow_pickle=False) as data:
        arrays = {name: data[name] for name in data.files}
    keys = arrays["keys"].astype(str).tolist()
    columns = []
    for name in _FIELDS:
        if name == "source_line":
            columns.append(arrays[name].tolist())
            continue
        values = unpack_strings(arrays[f"{name}.text"], arrays[f"{name}.ends"])
        if name in LIST_FIELDS:
            counts = arrays[f"{name}.count"]
            if counts.sum() != len(values) or len(counts) != len(keys):
                raise ValueError(f"colonne {name} incohérente")
            bounds = [0, *np.cumsum(counts).tolist()]
            columns.append([tuple(values[a:b]) for a, b in itertools.pairwise(bounds)])
        elif name == "duplicates":
            columns.append([_duplicates(text) for text in values])
        else:
            columns.append(values)
    if any(len(column) != len(keys) for column in columns):
        raise ValueError("colonnes des actions de longueurs différentes")
    return [Action(*row) for row in zip(*columns, strict=True)], keys


def _duplicates(text: str) -> tuple[DuplicateRef, ...]:
    return tuple(DuplicateRef(**d) for d in json.loads(text)) if text else ()

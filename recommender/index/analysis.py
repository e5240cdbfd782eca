"""Word analysis of the records, done at build time and cached between builds.

Two analyses of each action: its BM25 document (`lexical_document` in directory.py) and the
words search counts to tell how much of a need an action covers (`coverage_parts`). Both are
made of fields; `TokenCache` analyses each distinct field text once and keeps the tokens in
`cache/tokens-v1.json`, so a rebuild after a few changed records analyses only those. The
coverage words are stored in the index (`coverage.npz`, `StemTable`), so loading the engine
analyses nothing (20,000 actions: 15 s saved at each start).

`analyze` is additive over parts joined by a line break (a word never spans two lines), so
the tokens of a document are the concatenation of its parts' tokens.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from recommender.core.storage import atomic_write_bytes
from recommender.index.lexical import analyze
from recommender.records.records import Action

CACHE_NAME = "tokens-v1.json"
TABLE_NAME = "coverage.npz"


def coverage_parts(action: Action) -> list[str]:
    """The fields whose words count for coverage (title, tags, public, the texts)."""
    head = [action.title, *action.keywords, *action.public, action.summary, action.experience]
    return [*head, action.description, action.limits, action.perspectives]


def _key(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=12).hexdigest()


class TokenCache:
    """`analyze(text)` per distinct text, read from and written back to the cache folder
    (only the texts used by the last build are kept)."""

    def __init__(self, cache_dir: Path | None = None) -> None:
        self._path = cache_dir / CACHE_NAME if cache_dir else None
        self._stored: dict[str, str] = {}
        if self._path and self._path.is_file():
            try:
                loaded = json.loads(self._path.read_text(encoding="utf-8"))
                self._stored = loaded if isinstance(loaded, dict) else {}
            except (OSError, ValueError):
                self._stored = {}  # a damaged cache is only a slower build
        self._used: dict[str, str] = {}
        self._lists: dict[str, list[str]] = {}
        self.analysed = 0  # texts analysed by this build (not found in the cache)

    def tokens(self, text: str) -> list[str]:
        """The tokens of `text` (do not modify the list: it is shared)."""
        if not text:
            return []
        found = self._lists.get(text)  # titles and tags come back often within a build
        if found is not None:
            return found
        key = _key(text)
        joined = self._stored.get(key)
        if joined is None or not isinstance(joined, str):
            joined = " ".join(analyze(text))
            self.analysed += 1
        self._used[key] = joined
        found = self._lists[text] = joined.split()
        return found

    def document(self, parts: Iterable[str]) -> list[str]:
        return [t for part in parts for t in self.tokens(part)]

    def save(self) -> None:
        if self._path is None or (not self.analysed and len(self._used) == len(self._stored)):
            return
        self._path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(self._path, json.dumps(self._used, ensure_ascii=False).encode())


@dataclass(frozen=True)
class StemTable:
    """The distinct coverage stems of each action (compressed rows) and, per stem, the
    actions that have it (`postings`), for coverage and novelty without a loop over actions."""

    vocab: np.ndarray  # str, one per stem
    indptr: np.ndarray  # action i has vocab[indices[indptr[i]:indptr[i + 1]]]
    indices: np.ndarray
    postings: dict[str, np.ndarray] = field(compare=False, repr=False)
    df: dict[str, int] = field(compare=False, repr=False)

    @classmethod
    def build(cls, token_lists: Iterable[Sequence[str]]) -> StemTable:
        numbers: dict[str, int] = {}
        rows = [
            sorted(numbers.setdefault(t, len(numbers)) for t in dict.fromkeys(toks))
            for toks in token_lists
        ]
        indptr = np.zeros(len(rows) + 1, dtype=np.int64)
        indptr[1:] = np.cumsum([len(r) for r in rows])
        indices = np.fromiter((i for r in rows for i in r), dtype=np.int32, count=int(indptr[-1]))
        vocab = np.array(list(numbers) or [""], dtype=str)[: len(numbers)]
        return cls.from_arrays(vocab, indptr, indices)

    @classmethod
    def from_arrays(cls, vocab: np.ndarray, indptr: np.ndarray, indices: np.ndarray) -> StemTable:
        owners = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
        order = np.argsort(indices, kind="stable")
        bounds = np.searchsorted(indices[order], np.arange(len(vocab) + 1))
        stems = vocab.tolist()
        postings = {stem: owners[order[bounds[k] : bounds[k + 1]]] for k, stem in enumerate(stems)}
        df = {stem: len(rows) for stem, rows in postings.items()}
        return cls(vocab, indptr, indices, postings, df)

    def __len__(self) -> int:
        return len(self.indptr) - 1

    def row(self, i: int) -> frozenset[str]:
        return frozenset(self.vocab[self.indices[self.indptr[i] : self.indptr[i + 1]]].tolist())

    def save(self, path: Path) -> None:
        with path.open("wb") as handle:
            np.savez(handle, vocab=self.vocab, indptr=self.indptr, indices=self.indices)

    @classmethod
    def load(cls, path: Path) -> StemTable:
        with np.load(path, allow_pickle=False) as data:
            return cls.from_arrays(data["vocab"], data["indptr"], data["indices"])


def coverage_table(actions: Sequence[Action], cache: TokenCache | None = None) -> StemTable:
    cache = cache or TokenCache()
    return StemTable.build(cache.document(coverage_parts(a)) for a in actions)

"""Word analysis of the records, done at build time and cached between builds.

Two analyses of each action: its BM25 document (`lexical_parts`) and the
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
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np

from recommender.core.storage import atomic_write_bytes
from recommender.index.lexical import analyze, strip_accents, words
from recommender.index.term_rows import TermRows
from recommender.records.records import Action

CACHE_NAME = "tokens-v1.json"
TABLE_NAME = "coverage.npz"


def coverage_parts(action: Action) -> list[str]:
    """The fields whose words count for coverage (title, tags, public, the texts)."""
    head = [action.title, *action.keywords, *action.public, action.summary, action.experience]
    return [*head, action.description, action.limits, action.perspectives]


def folded_words(action: Action) -> list[str]:
    """The distinct words of an action's coverage fields, accents folded (the vocabulary
    that excuses a need's typo, search/novelty.py; stored in the index, `words.npz`)."""
    typed = {w for part in coverage_parts(action) for w in words(part or "")}
    return sorted({strip_accents(w) for w in typed})


def lexical_parts(action: Action) -> list[str]:
    """The fields of an action's BM25 document; repetition weights those that say what it is."""
    head = [action.title] * 3 + list(action.keywords) * 2 + list(action.public)
    body = [action.summary] * 2 + [
        action.experience,
        action.initiative_detail,
        action.description,
        action.result_territory,
        action.result_centre,
        action.result_inhabitants,
        action.limits,
        action.perspectives,
    ]
    return [part for part in head + body if part]


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


class _Postings(Mapping[str, np.ndarray]):
    """Per stem, the actions that have it: slices of one array, made when asked for."""

    def __init__(self, vocab: np.ndarray, owners: np.ndarray, bounds: np.ndarray) -> None:
        self._number = {stem: k for k, stem in enumerate(vocab.tolist())}
        self._owners, self._bounds = owners, bounds

    def __getitem__(self, stem: str) -> np.ndarray:
        k = self._number[stem]
        return self._owners[self._bounds[k] : self._bounds[k + 1]]

    def __iter__(self) -> Iterator[str]:
        return iter(self._number)

    def __len__(self) -> int:
        return len(self._number)


class _Counts(Mapping[str, int]):
    """Per stem, how many actions have it."""

    def __init__(self, postings: _Postings) -> None:
        self._postings = postings

    def __getitem__(self, stem: str) -> int:
        return len(self._postings[stem])

    def __iter__(self) -> Iterator[str]:
        return iter(self._postings)

    def __len__(self) -> int:
        return len(self._postings)


class StemTable:
    """The distinct coverage stems of each action (compressed rows, `TermRows`) and, per
    stem, the actions that have it (`postings`), for coverage and novelty without a loop
    over actions."""

    def __init__(self, rows: TermRows) -> None:
        self.rows = rows
        order = np.argsort(rows.terms, kind="stable")
        bounds = np.concatenate(
            [[0], np.cumsum(np.bincount(rows.terms, minlength=len(rows.vocab)))]
        )
        self.postings: Mapping[str, np.ndarray] = _Postings(
            rows.vocab, rows.owners()[order], bounds
        )
        self.df: Mapping[str, int] = _Counts(self.postings)

    @classmethod
    def build(cls, token_lists: Iterable[Sequence[str]]) -> StemTable:
        return cls(TermRows.from_tokens([list(dict.fromkeys(t)) for t in token_lists]))

    @property
    def vocab(self) -> np.ndarray:
        return self.rows.vocab

    def __len__(self) -> int:
        return len(self.rows)

    def row(self, i: int) -> frozenset[str]:
        rows = self.rows
        return frozenset(rows.vocab[rows.terms[rows.indptr[i] : rows.indptr[i + 1]]].tolist())

    def save(self, path: Path) -> None:
        self.rows.save(path)

    @classmethod
    def load(cls, path: Path) -> StemTable:
        return cls(TermRows.load(path))


def coverage_table(actions: Sequence[Action], cache: TokenCache | None = None) -> StemTable:
    cache = cache or TokenCache()
    return StemTable.build(cache.document(coverage_parts(a)) for a in actions)

"""`reco build`: records -> chunks -> vectors (cached) + lexical index, written atomically."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np
from tqdm import tqdm

from embeddings.base import Encoder, TextKind, passage_precision
from recommender.core.storage import atomic_directory
from recommender.index import vector_index
from recommender.index.analysis import TokenCache
from recommender.index.chunks import reference_need
from recommender.index.derived import derive
from recommender.index.directory import CONTENT_VERSION, FORMAT_VERSION, DenseBuild, write_index
from recommender.index.embed_cache import EmbeddingCache
from recommender.index.hubness import (
    NEIGHBOURS,
    closest_references,
    prior_of,
    update_closest,
)
from recommender.index.passage_table import passage_embedding_texts
from recommender.index.vector_index import IndexKind
from recommender.records.records import Action


@dataclass(frozen=True)
class EncoderStats:
    spec: str
    encoder_id: str
    embedded: int
    cached: int
    seconds: float


@dataclass(frozen=True)
class BuildStats:
    n_actions: int
    n_chunks: int
    encoders: tuple[EncoderStats, ...]
    seconds: float
    index_dir: Path
    reused: int = 0  # actions whose passages and words came from the previous index

    @property
    def embedded(self) -> int:
        return sum(e.embedded for e in self.encoders)

    @property
    def chunks_per_second(self) -> float:
        embed_seconds = sum(e.seconds for e in self.encoders)
        return self.embedded / embed_seconds if embed_seconds > 0 and self.embedded else 0.0


def _embed_all(
    spec: str,
    encoder: Encoder,
    texts: list[str],
    cache_dir: Path,
    show_progress: bool,
    kind: TextKind = TextKind.PASSAGE,
):
    started = time.perf_counter()
    # Queries and passages of the same text embed differently (e5 prompts): two caches; and
    # so do the precisions of the passage path (float32 vectors keep the plain key).
    precision = passage_precision(encoder)
    cache_id = encoder.id if precision == "float32" else f"{encoder.id}-{precision}"
    cache_id = cache_id if kind is TextKind.PASSAGE else f"{cache_id}-{kind.value}"
    cache = EmbeddingCache(cache_dir, cache_id, encoder.dim)
    keys = cache.keys(texts)
    missing = cache.count_missing(texts, keys)
    unique = len(set(texts))
    with tqdm(
        total=unique,
        desc=f"Encodage ({spec})" if kind is TextKind.PASSAGE else f"Besoins de référence ({spec})",
        unit="passage",
        disable=not show_progress,
        leave=True,
    ) as bar:
        bar.update(unique - missing)
        try:
            vectors, computed = cache.embed(
                texts, lambda batch: encoder.encode(batch, kind), on_batch=bar.update, keys=keys
            )
        finally:
            cache.save()  # keep finished work even when the build is interrupted
    stats = EncoderStats(
        spec, encoder.id, computed, len(texts) - computed, time.perf_counter() - started
    )
    return vectors, stats


def _previous_faiss(index_dir: Path, encoder_id: str) -> faiss.Index | None:
    """The last build's FAISS index for this encoder, if it is IVF (its trained lists are
    reused); anything unreadable is ignored (a cold build)."""
    try:
        manifest = json.loads((index_dir / "manifest.json").read_text(encoding="utf-8"))
        entry = next(e for e in manifest["encoders"] if e.get("id") == encoder_id)
        if entry.get("faiss_type") != vector_index.IndexKind.IVF.value:
            return None
        return vector_index.load(index_dir / entry["file"])
    except (OSError, ValueError, KeyError, TypeError, StopIteration, RuntimeError):
        return None


INCREMENTAL_SHARE = 0.02  # up to this share of records changed, the hub prior is updated
INCREMENTAL_FROM = 2_000  # below this many actions it is always computed anew (under 1 s)


def vector_keys(
    n_actions: int, owner: np.ndarray, texts: Sequence[str], references: Sequence[str]
) -> list[str]:
    """Per action, a digest of everything embedded for it (passages and reference need)."""
    digests = [hashlib.blake2b(r.encode(), digest_size=12) for r in references[:n_actions]]
    for text, position in zip(texts, owner.tolist(), strict=True):
        digests[position].update(b"\x1f" + text.encode())
    return [d.hexdigest() for d in digests]


def _previous_hub(index_dir: Path, encoder_id: str) -> dict[str, np.ndarray] | None:
    try:
        manifest = json.loads((index_dir / "manifest.json").read_text(encoding="utf-8"))
        number = next(i for i, e in enumerate(manifest["encoders"]) if e.get("id") == encoder_id)
        with np.load(index_dir / f"dense/{number}.hub_state.npz", allow_pickle=False) as data:
            return {name: data[name] for name in ("best", "source", "keys")}
    except (OSError, ValueError, KeyError, TypeError, StopIteration):
        return None


def _closest(
    previous: dict[str, np.ndarray] | None,
    keys: Sequence[str],
    queries: np.ndarray,
    index: faiss.Index,
    owner: np.ndarray,
    vectors: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """The closest references of every action: updated from the last build when few records
    changed (hubness.update_closest: 20,000 actions, seconds instead of a search per action),
    else computed anew."""
    n = len(keys)
    full = lambda: closest_references(queries, range(n), index, owner, n)  # noqa: E731
    if n < INCREMENTAL_FROM or previous is None or previous["best"].shape[1] != NEIGHBOURS:
        return full()
    old_position = {str(k): i for i, k in enumerate(previous["keys"].tolist())}
    kept_from = np.array([old_position.get(k, -1) for k in keys], dtype=np.int64)
    fresh = np.flatnonzero(kept_from < 0)
    removed = len(old_position) - (n - len(fresh))
    if len(fresh) + removed > max(20, INCREMENTAL_SHARE * n):
        return full()
    kept = np.flatnonzero(kept_from >= 0)
    new_position = np.full(len(previous["keys"]) + 1, -1, dtype=np.int64)  # last: « none »
    new_position[kept_from[kept]] = kept
    best = np.full((n, NEIGHBOURS), -np.inf)
    source = np.full((n, NEIGHBOURS), -1, dtype=np.int64)
    best[kept] = previous["best"][kept_from[kept]]
    source[kept] = new_position[previous["source"][kept_from[kept]]]
    best[source < 0] = -np.inf
    return update_closest(best, source, fresh, queries, index, owner, vectors)


def build_index(
    actions: Sequence[Action],
    encoders: Sequence[tuple[str, Encoder]],
    index_dir: Path,
    cache_dir: Path,
    *,
    kind: IndexKind = IndexKind.AUTO,
    show_progress: bool = True,
    data_digest: str | None = None,
) -> BuildStats:
    """Build the whole index into a temporary directory, then swap it in.

    An exception (or Ctrl-C) at any point leaves the previous index untouched. Unchanged
    records reuse the previous index's passages and words (index/derived.py), their vectors
    the embedding cache. `data_digest`: see `write_index`.
    """
    started = time.perf_counter()
    tokens = TokenCache(cache_dir)
    derived = derive(actions, index_dir, tokens, (FORMAT_VERSION, CONTENT_VERSION))
    passages = derived.passages
    texts = passage_embedding_texts(passages, [a.title for a in actions])
    references = [reference_need(a) for a in actions]
    owner = passages.owner
    keys = vector_keys(len(actions), owner, texts, references)
    with atomic_directory(index_dir) as work:
        channels = []
        all_stats = []
        for spec, encoder in encoders:
            vectors, stats = _embed_all(spec, encoder, texts, cache_dir, show_progress)
            previous = _previous_faiss(index_dir, encoder.id)
            faiss_index = vector_index.build_faiss(vectors, kind, previous=previous)
            queries, _ = _embed_all(
                spec, encoder, references, cache_dir, show_progress, TextKind.QUERY
            )
            previous_hub = _previous_hub(index_dir, encoder.id)
            best, source = _closest(previous_hub, keys, queries, faiss_index, owner, vectors)
            state = {"best": best, "source": source, "keys": np.array(keys, dtype=str)}
            channels.append(DenseBuild(spec, encoder, faiss_index, prior_of(best), state))
            all_stats.append(stats)
        write_index(work, actions, derived, channels, data_digest)
        tokens.save()
    return BuildStats(
        len(actions),
        len(passages),
        tuple(all_stats),
        time.perf_counter() - started,
        index_dir,
        derived.reused,
    )

"""Persistent cache of the slow approximate builds (1M vectors) under bench/.cache/.

A cached index is reused only when the corpus, the index code (recommender/index/vector_index.py)
and FAISS are the same; its build time and memory are the ones measured when it was built,
and the table says so.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import faiss
import numpy as np

from bench.common import rss_bytes
from recommender.index import vector_index
from recommender.index.vector_index import IndexKind

DEFAULT_DIR = Path(__file__).resolve().parent / ".cache"
Build = Callable[[], tuple[faiss.Index, float, int, str]]


def cache_key(corpus: np.ndarray, kind: IndexKind) -> str:
    digest = hashlib.sha256()
    digest.update(Path(vector_index.__file__).read_bytes())
    digest.update(f"{faiss.__version__}|{kind.value}|{corpus.shape}".encode())
    digest.update(np.ascontiguousarray(corpus[:: max(1, len(corpus) // 4096)]).tobytes())
    return f"{kind.value}-{len(corpus)}-{digest.hexdigest()[:16]}"


def cached(corpus: np.ndarray, kind: IndexKind, directory: Path) -> Build:
    """A build step that loads the index from the cache, or builds and stores it."""

    def build() -> tuple[faiss.Index, float, int, str]:
        key = cache_key(corpus, kind)
        path, meta_path = directory / f"{key}.faiss", directory / f"{key}.json"
        if path.is_file() and meta_path.is_file():
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            index = vector_index.load(path)
            note = f"le {meta['date']} (index repris de bench/.cache/)"
            return index, float(meta["build_s"]), int(meta["rss_delta"]), note
        before = rss_bytes()
        started = time.perf_counter()
        index = vector_index.build_faiss(corpus, kind)
        seconds = time.perf_counter() - started
        delta = rss_bytes() - before
        directory.mkdir(parents=True, exist_ok=True)
        vector_index.save(index, path)
        meta = {"build_s": seconds, "rss_delta": delta, "date": date.today().strftime("%d/%m/%Y")}
        meta_path.write_text(json.dumps(meta), encoding="utf-8")
        for old in directory.glob(f"{kind.value}-{len(corpus)}-*.faiss"):
            if old != path:  # an outdated build of the same size: free the disk space
                old.unlink(missing_ok=True)
                old.with_suffix(".json").unlink(missing_ok=True)
        return index, seconds, delta, "dans ce passage (index mis en cache)"

    return build

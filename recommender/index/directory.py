"""The persisted search index: one directory, checked by its manifest when loaded.

```
index/
  manifest.json        format version, encoders, dims, data hash, counts, creation time
  records.npz          the records the index was built from, as columns, with their
                       content keys (index/columns.py)
  passages.npz         one row per vector row: action, field, window, text (passage_table.py)
  dense/<n>.faiss      one FAISS index per encoder
  dense/<n>.hub.npy    each action's hub prior for that encoder (index/hubness.py)
  dense/<n>.hub_state.npz  the closest references behind it, for the next build (optional)
  lexical/             bm25s directory (one document per action), and terms.npz: each
                       action's terms and counts (index/term_rows.py), for the next build
  coverage.npz         each action's distinct stems (index/analysis.py)
  words.npz            each action's distinct words, accents folded (typos, search/novelty.py)
```

Format 2 (columns instead of JSON lines) loads 20,000 actions in a fraction of format 1's
time, and lets a rebuild reuse each unchanged record's rows (index/derived.py)."""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from importlib import metadata
from pathlib import Path

import faiss
import numpy as np

from embeddings.base import Encoder, passage_precision
from recommender.index import vector_index
from recommender.index.analysis import StemTable, lexical_parts
from recommender.index.chunks import MAX_CHARS, OVERLAP_CHARS, chunk_actions
from recommender.index.columns import content_key, load_records, save_records
from recommender.index.derived import COVERAGE, LEXICAL_TERMS, PASSAGES, RECORDS, WORDS, Derived
from recommender.index.lexical import LexicalIndex
from recommender.index.manifest import (
    CONTENT_VERSION,
    FIX,
    FORMAT_VERSION,
    EncoderEntry,
    IndexInvalid,
    Manifest,
    read_manifest,
)
from recommender.index.passage_table import Passages
from recommender.records.records import Action, load_actions

# What a damaged file raises while loading (np.load of a truncated .npz: BadZipFile, EOFError).
_DAMAGED = (OSError, ValueError, KeyError, RuntimeError, EOFError, zipfile.BadZipFile)


@dataclass(frozen=True)
class DenseChannel:
    encoder_id: str
    dim: int
    index: faiss.Index
    hub: np.ndarray  # one prior per action (index/hubness.py)


@dataclass(frozen=True)
class DenseBuild:
    """What `write_index` stores for one encoder."""

    spec: str
    encoder: Encoder
    index: faiss.Index
    hub: np.ndarray
    hub_state: dict[str, np.ndarray] | None = None  # what the next build updates (build.py)


@dataclass(frozen=True)
class LoadedIndex:
    manifest: Manifest
    actions: tuple[Action, ...]
    chunks: Passages  # a sequence of Chunk, one per vector row
    lexical: LexicalIndex
    dense: tuple[DenseChannel, ...]
    stems: StemTable | None = None
    record_words: frozenset[str] | None = None  # every record's words, accents folded

    def action(self, action_id: str) -> Action | None:
        return self.by_id.get(action_id)

    @cached_property
    def by_id(self) -> dict[str, Action]:
        return {a.id: a for a in self.actions}

    @property
    def chunk_owner(self) -> np.ndarray:
        """For each passage (vector row), the position of its action in `actions`."""
        return self.chunks.owner


def data_hash(actions: Sequence[Action]) -> str:
    """A digest of the records' searchable content, whatever their order."""
    return _sorted_hash(content_key(a) for a in actions)


def _sorted_hash(keys: Iterable[str]) -> str:
    digest = hashlib.sha256()
    for value in sorted(keys):
        digest.update(value.encode())
    return digest.hexdigest()


def package_version() -> str:
    try:
        return metadata.version("centres-sociaux-reco")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def lexical_document(action: Action) -> str:
    """One BM25 document per action; repetition weights the fields that say what it is."""
    return "\n".join(lexical_parts(action))


def write_index(
    work: Path,
    actions: Sequence[Action],
    derived: Derived,
    channels: Sequence[DenseBuild],
    data_digest: str | None = None,
) -> Manifest:
    """Write all index files into `work` (a temporary directory) and return the manifest.
    `data_digest`: sha256 of the data file the actions were read from, if any (a data file
    with these bytes is then not parsed a second time at load)."""
    save_records(work / RECORDS, actions, derived.keys)
    derived.passages.save(work / PASSAGES)
    LexicalIndex.from_rows(derived.lexical).save(work / "lexical")
    derived.lexical.save(work / LEXICAL_TERMS)
    derived.stems.save(work / COVERAGE)
    derived.words.save(work / WORDS)
    (work / "dense").mkdir()
    encoders: list[EncoderEntry] = []
    for number, channel in enumerate(channels):
        name = f"dense/{number}.faiss"
        vector_index.save(channel.index, work / name)
        np.save(work / f"dense/{number}.hub.npy", channel.hub.astype(np.float32))
        if channel.hub_state is not None:
            with (work / f"dense/{number}.hub_state.npz").open("wb") as handle:
                state = channel.hub_state
                np.savez(handle, best=state["best"], source=state["source"], keys=state["keys"])
        encoders.append(
            {
                "spec": channel.spec,
                "id": channel.encoder.id,
                "dim": channel.encoder.dim,
                "file": name,
                "hub_file": f"dense/{number}.hub.npy",
                "faiss_type": vector_index.kind_of(channel.index).value,
                "ntotal": int(channel.index.ntotal),
                "precision": passage_precision(channel.encoder),
            }
        )
    manifest: Manifest = {
        "format_version": FORMAT_VERSION,
        "content_version": CONTENT_VERSION,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "package_version": package_version(),
        "data_sha256": _sorted_hash(derived.keys),
        "n_actions": len(actions),
        "n_chunks": len(derived.passages),
        "chunking": {"max_chars": MAX_CHARS, "overlap": OVERLAP_CHARS},
        "encoders": encoders,
    }
    if data_digest is not None:
        manifest["actions_file_sha256"] = data_digest
    (work / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return manifest


def check_manifest(
    manifest: Manifest, actions: Sequence[Action] | None, encoder_ids: Sequence[str] | None
) -> None:
    if actions is not None and manifest.get("data_sha256") != data_hash(actions):
        raise IndexInvalid(
            "les données (data/actions.jsonl) ont changé depuis la construction de l'index : "
            f"{FIX}."
        )
    built = [e.get("id") for e in manifest.get("encoders", [])]
    if encoder_ids is not None and list(encoder_ids) != built:
        raise IndexInvalid(
            f"l'index a été construit avec les encodeurs {built}, pas {list(encoder_ids)} : {FIX}."
        )


def load_index(
    index_dir: Path,
    actions: Sequence[Action] | None = None,
    encoder_ids: Sequence[str] | None = None,
    mmap: bool = False,
) -> LoadedIndex:
    """Load and verify an index; any problem becomes `IndexInvalid` with the fix to apply.

    `mmap=True` is for one-shot commands only: a long-running process (the app) must load
    everything into memory, as a memory-mapped file truncated or rewritten in place under it
    kills the process (SIGBUS with bm25s arrays), where a copy in memory keeps serving.
    """
    manifest = read_manifest(index_dir)
    check_manifest(manifest, actions, encoder_ids)
    try:
        return _load_files(index_dir, manifest, mmap)
    except _DAMAGED as exc:
        raise IndexInvalid(f"un fichier de l'index est endommagé ({exc}) : {FIX}.") from exc


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_index_for(
    index_dir: Path, data_path: Path, encoder_ids: Sequence[str] | None = None
) -> LoadedIndex:
    """`load_index` checked against the data file. When the data file is byte for byte the
    index's own copy (the manifest keeps its digest), its records are not parsed nor hashed
    a second time (20,000 actions: several seconds at each start); otherwise as before.
    Raises ValueError for an unreadable data file, FileNotFoundError when it is missing."""
    digest = file_sha256(data_path)
    try:
        manifest: Manifest | None = read_manifest(index_dir)
    except IndexInvalid:  # said after the data file's own problems, as before
        manifest = None
    if manifest is not None and manifest.get("actions_file_sha256") == digest:
        check_manifest(manifest, None, encoder_ids)
        try:
            return _load_files(index_dir, manifest, False, trusted=True)
        except _DAMAGED as exc:
            raise IndexInvalid(f"un fichier de l'index est endommagé ({exc}) : {FIX}.") from exc
    return load_index(index_dir, load_actions(data_path), encoder_ids)


def _load_files(
    index_dir: Path, manifest: Manifest, mmap: bool, trusted: bool = False
) -> LoadedIndex:
    """`trusted`: the caller read a data file whose bytes are those the index was built from
    (the manifest's digest), so the records' content is not hashed again."""
    actions, _ = load_records(index_dir / RECORDS)
    if len(actions) != manifest["n_actions"]:
        raise ValueError("nombre d'actions différent du manifeste")
    if not trusted and data_hash(actions) != manifest["data_sha256"]:
        raise ValueError(f"{RECORDS} de l'index ne correspond pas au manifeste")
    chunks = Passages.load(index_dir / PASSAGES, [a.id for a in actions])
    if len(chunks) != manifest["n_chunks"]:
        raise ValueError("nombre de passages différent du manifeste")
    lexical = LexicalIndex.load(index_dir / "lexical", mmap=mmap)
    if lexical.n_docs != len(actions):
        raise ValueError("index lexical incohérent")
    dense = []
    for entry in manifest["encoders"]:
        faiss_index = vector_index.load(index_dir / entry["file"], mmap=mmap)
        if faiss_index.ntotal != len(chunks) or faiss_index.d != entry["dim"]:
            raise ValueError(
                f"{entry['file']} : {faiss_index.ntotal} vecteurs de dim "
                f"{faiss_index.d}, attendu {len(chunks)} de dim {entry['dim']}"
            )
        hub = np.load(index_dir / entry["hub_file"], allow_pickle=False)
        if hub.shape != (len(actions),):
            raise ValueError(f"{entry['hub_file']} : {hub.shape}, attendu ({len(actions)},)")
        dense.append(DenseChannel(entry["id"], entry["dim"], faiss_index, hub))
    stems = StemTable.load(index_dir / COVERAGE)
    if len(stems) != len(actions):
        raise ValueError(f"{COVERAGE} : {len(stems)} actions, attendu {len(actions)}")
    with np.load(index_dir / WORDS, allow_pickle=False) as data:
        record_words = frozenset(data["vocab"].tolist())
    return LoadedIndex(
        manifest, tuple(actions), chunks, lexical, tuple(dense), stems, record_words
    )


ProgressFactory = Callable[[int, str], Callable[[int], None]]
__all__ = ["IndexInvalid", "LoadedIndex", "chunk_actions", "load_index", "write_index"]

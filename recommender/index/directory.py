"""The persisted search index: one directory, checked by its manifest when loaded.

```
index/
  manifest.json        format version, encoders, dims, data hash, counts, creation time
  actions.jsonl        the records the index was built from
  chunks.jsonl         one line per vector row
  dense/<n>.faiss      one FAISS index per encoder
  dense/<n>.hub.npy    each action's hub prior for that encoder (index/hubness.py)
  dense/<n>.hub_state.npz  the closest references behind it, for the next build (optional)
  lexical/             bm25s directory (one document per action)
  coverage.npz         each action's distinct stems (index/analysis.py; optional)
```
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from importlib import metadata
from pathlib import Path
from typing import cast

import faiss
import numpy as np

from embeddings.base import Encoder, passage_precision
from recommender.core.storage import atomic_write_lines, pid_alive
from recommender.index import vector_index
from recommender.index.analysis import TABLE_NAME, StemTable, TokenCache, coverage_table
from recommender.index.chunks import MAX_CHARS, OVERLAP_CHARS, Chunk, chunk_actions
from recommender.index.lexical import LexicalIndex
from recommender.index.manifest import EncoderEntry, Manifest
from recommender.records.records import Action, load_actions, record_hash, save_actions

FORMAT_VERSION = 1
# Bump when what is embedded or indexed changes, so old indexes are rebuilt.
CONTENT_VERSION = "chunks-v1;lexical-v2;hub-v1"
FIX = "lancez `reco build` pour reconstruire l'index"


class IndexInvalid(RuntimeError):
    """The index is missing, damaged or built for other data/encoders (message in French)."""


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
    chunks: tuple[Chunk, ...]
    lexical: LexicalIndex
    dense: tuple[DenseChannel, ...]
    stems: StemTable | None = None  # None: an index written before coverage.npz existed

    def action(self, action_id: str) -> Action | None:
        return self.by_id.get(action_id)

    @cached_property
    def by_id(self) -> dict[str, Action]:
        return {a.id: a for a in self.actions}


def data_hash(actions: Sequence[Action]) -> str:
    digest = hashlib.sha256()
    for value in sorted(record_hash(a) for a in actions):
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


def lexical_parts(action: Action) -> list[str]:
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


def _write_jsonl(path: Path, rows: Sequence[dict]) -> None:
    atomic_write_lines(path, (json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


def write_index(
    work: Path,
    actions: Sequence[Action],
    chunks: Sequence[Chunk],
    channels: Sequence[DenseBuild],
    tokens: TokenCache | None = None,
) -> Manifest:
    """Write all index files into `work` (a temporary directory) and return the manifest."""
    tokens = tokens or TokenCache()
    save_actions(work / "actions.jsonl", actions)
    _write_jsonl(work / "chunks.jsonl", [c.to_dict() for c in chunks])
    documents = [tokens.document(lexical_parts(a)) for a in actions]
    LexicalIndex.from_tokens(documents).save(work / "lexical")
    coverage_table(actions, tokens).save(work / TABLE_NAME)
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
        "data_sha256": data_hash(actions),
        "actions_file_sha256": file_sha256(work / "actions.jsonl"),
        "n_actions": len(actions),
        "n_chunks": len(chunks),
        "chunking": {"max_chars": MAX_CHARS, "overlap": OVERLAP_CHARS},
        "encoders": encoders,
    }
    (work / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return manifest


def _restore_aside(index_dir: Path) -> None:
    """Bring back an index left aside by a build killed during its final swap.

    An aside whose build is still running is left alone: the index is missing only for the
    instant between its two renames, and taking the aside back would make the build fail.
    """
    if index_dir.exists():
        return
    for aside in sorted(index_dir.parent.glob(f".{index_dir.name}.old-*")):
        pid = aside.name.removeprefix(f".{index_dir.name}.old-")
        if pid.isdigit() and pid_alive(int(pid)):
            continue
        if (aside / "manifest.json").is_file():
            aside.rename(index_dir)
            return


def _is_encoder_entry(entry: object) -> bool:
    if not isinstance(entry, dict):
        return False
    types = {"id": str, "file": str, "hub_file": str, "dim": int}
    return all(isinstance(entry.get(key), kind) for key, kind in types.items())


def read_manifest(index_dir: Path) -> Manifest:
    _restore_aside(index_dir)
    path = index_dir / "manifest.json"
    if not path.is_file():
        raise IndexInvalid(f"aucun index dans « {index_dir} » : {FIX}.")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexInvalid(f"le manifeste de l'index est illisible ({exc}) : {FIX}.") from exc
    if not isinstance(manifest, dict):
        raise IndexInvalid(f"le manifeste de l'index n'est pas un objet JSON : {FIX}.")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise IndexInvalid(
            f"index au format {manifest.get('format_version')}, attendu {FORMAT_VERSION} : {FIX}."
        )
    if manifest.get("content_version") != CONTENT_VERSION:
        raise IndexInvalid(f"index construit par une autre version du découpage : {FIX}.")
    encoders = manifest.get("encoders")
    if not isinstance(encoders, list) or not all(_is_encoder_entry(e) for e in encoders):
        raise IndexInvalid(f"le manifeste de l'index ne décrit pas ses encodeurs : {FIX}.")
    counts = (manifest.get("n_actions"), manifest.get("n_chunks"))
    if not all(isinstance(n, int) for n in counts):
        raise IndexInvalid(f"le manifeste de l'index ne donne pas ses effectifs : {FIX}.")
    return cast(Manifest, manifest)


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
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise IndexInvalid(f"un fichier de l'index est endommagé ({exc}) : {FIX}.") from exc


def _read_chunk(line: str) -> Chunk:
    """One line of chunks.jsonl; a damaged line raises ValueError (never a bare TypeError)."""
    data = json.loads(line)
    if not isinstance(data, dict):
        raise ValueError("chunks.jsonl : une ligne n'est pas un objet JSON")
    try:
        return Chunk.from_dict(data)
    except TypeError as exc:  # a value of the wrong type in the file (None, a list…)
        raise ValueError(f"chunks.jsonl : passage mal formé ({exc})") from exc


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
        except (OSError, ValueError, KeyError, RuntimeError) as exc:
            raise IndexInvalid(f"un fichier de l'index est endommagé ({exc}) : {FIX}.") from exc
    return load_index(index_dir, load_actions(data_path), encoder_ids)


def _load_files(
    index_dir: Path, manifest: Manifest, mmap: bool, trusted: bool = False
) -> LoadedIndex:
    """`trusted`: the caller knows actions.jsonl's bytes match the manifest's digest."""
    if trusted and file_sha256(index_dir / "actions.jsonl") != manifest["actions_file_sha256"]:
        raise ValueError("actions.jsonl de l'index ne correspond pas au manifeste")
    loaded_actions = tuple(load_actions(index_dir / "actions.jsonl"))
    with (index_dir / "chunks.jsonl").open(encoding="utf-8") as handle:
        chunks = tuple(_read_chunk(line) for line in handle if line.strip())
    if len(loaded_actions) != manifest["n_actions"] or len(chunks) != manifest["n_chunks"]:
        raise ValueError("nombre d'actions ou de passages différent du manifeste")
    if not trusted and data_hash(loaded_actions) != manifest["data_sha256"]:
        raise ValueError("actions.jsonl de l'index ne correspond pas au manifeste")
    lexical = LexicalIndex.load(index_dir / "lexical", mmap=mmap)
    if lexical.n_docs != len(loaded_actions):
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
        if hub.shape != (len(loaded_actions),):
            raise ValueError(f"{entry['hub_file']} : {hub.shape}, attendu ({len(loaded_actions)},)")
        dense.append(DenseChannel(entry["id"], entry["dim"], faiss_index, hub))
    stems = StemTable.load(index_dir / TABLE_NAME) if (index_dir / TABLE_NAME).is_file() else None
    if stems is not None and len(stems) != len(loaded_actions):
        raise ValueError(f"{TABLE_NAME} : {len(stems)} actions, attendu {len(loaded_actions)}")
    return LoadedIndex(manifest, loaded_actions, chunks, lexical, tuple(dense), stems)


ProgressFactory = Callable[[int, str], Callable[[int], None]]
__all__ = ["IndexInvalid", "LoadedIndex", "chunk_actions", "load_index", "write_index"]

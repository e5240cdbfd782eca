"""An index's manifest.json: its shape, as written by `write_index`, and its reading, checked
before any other file of the index is opened."""

from __future__ import annotations

import json
from pathlib import Path
from typing import NotRequired, TypedDict, cast

from recommender.core.storage import pid_alive

FORMAT_VERSION = 2
# Bump when what is embedded or indexed changes, so old indexes are rebuilt.
CONTENT_VERSION = "chunks-v1;lexical-v2;hub-v1"
FIX = "lancez `reco build` pour reconstruire l'index"


class IndexInvalid(RuntimeError):
    """The index is missing, damaged or built for other data/encoders (message in French)."""


class EncoderEntry(TypedDict):
    spec: str  # as given by the user (« e5-st »)
    id: str  # changes whenever the model or its settings change
    dim: int
    file: str  # FAISS file, relative to the index directory
    hub_file: str  # hub prior per action (.npy), relative to the index directory
    faiss_type: str
    ntotal: int
    # float32, bfloat16 or int8 (embeddings/precision.py); absent from older indexes
    precision: NotRequired[str]


class Chunking(TypedDict):
    max_chars: int
    overlap: int


class Manifest(TypedDict):
    format_version: int
    content_version: str
    created: str  # ISO date and time, UTC
    package_version: str
    data_sha256: str
    # sha256 of the bytes of the index's actions.jsonl (a data file equal to it is not
    # parsed twice at load); absent from older indexes
    actions_file_sha256: NotRequired[str]
    n_actions: int
    n_chunks: int
    chunking: Chunking
    encoders: list[EncoderEntry]


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

"""The shape of an index's manifest.json, as written by `write_index` and checked on load."""

from __future__ import annotations

from typing import NotRequired, TypedDict


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

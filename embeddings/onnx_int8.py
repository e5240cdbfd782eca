"""`reco model export --int8`: the ONNX export quantised to int8 (ONNX Runtime, dynamic).

Writes `<folder>/onnx/model.int8.onnx` (weights int8 per channel, activations quantised on
the fly: 118 MB instead of 470) and `<folder>/onnx/int8.json`, its stamp: the float32 export
it was made from and the cosines to it measured on a few French texts. Reduced precision
moves the vectors (mean cosine ≈ 0.98 on the records, BENCHMARKS.md): never chosen by
itself (embeddings/precision.py), refused below MIN_COSINE. Written beside, then renamed.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from embeddings.base import TextKind
from embeddings.onnx import INT8_FILE, MODEL_FILE, ONNX_DIR, OnnxEncoder, read_stamp

INT8_STAMP = "int8.json"
MIN_COSINE = 0.90  # a floor against a broken quantisation, not a promise of quality
CHECK_TEXTS = (
    "les mamans avec des bébés restent seules chez elles",
    "aide aux devoirs pour les collégiens du quartier",
    "Un jardin partagé au pied des immeubles, animé avec les habitants et l'école voisine.",
    "Atelier de français pour adultes : lire un courrier, prendre rendez-vous chez le médecin.",
)


class QuantiseError(RuntimeError):
    """The int8 export cannot be made or was refused (French message)."""


@dataclass(frozen=True)
class QuantiseResult:
    skipped: bool
    seconds: float = 0.0
    min_cosine: float = 1.0
    mean_cosine: float = 1.0
    size_bytes: int = 0


def int8_problem(folder: Path, onnx_dir: Path | None = None) -> str | None:
    """Why `<folder>/onnx/model.int8.onnx` cannot be used (French), or None."""
    onnx_dir = onnx_dir or folder / ONNX_DIR
    source, stamp = read_stamp(onnx_dir), _read(onnx_dir / INT8_STAMP)
    if source is None or stamp is None or not (onnx_dir / INT8_FILE).is_file():
        return f"pas d'export int8 dans {folder} (lancez `reco model export --int8`)"
    if stamp.get("source") != _source_key(source):
        return f"export int8 périmé dans {folder} (lancez `reco model export --int8`)"
    return None


def quantise_export(
    folder: Path, *, onnx_dir: Path | None = None, force: bool = False
) -> QuantiseResult:
    """Quantise the float32 export of `folder` (in `onnx_dir`) unless already done."""
    onnx_dir = onnx_dir or folder / ONNX_DIR
    source = read_stamp(onnx_dir)
    if source is None or not (onnx_dir / MODEL_FILE).is_file():
        raise QuantiseError(f"pas d'export ONNX dans {folder} : lancez `reco model export`")
    if not force and int8_problem(folder, onnx_dir) is None:
        return QuantiseResult(skipped=True)
    started = time.perf_counter()
    partial = onnx_dir / f".{INT8_FILE}.{os.getpid()}"
    try:
        _quantise(onnx_dir / MODEL_FILE, partial)
        os.replace(partial, onnx_dir / INT8_FILE)
    finally:
        partial.unlink(missing_ok=True)
    low, mean = _check(folder, onnx_dir)
    if low < MIN_COSINE:
        (onnx_dir / INT8_FILE).unlink()
        raise QuantiseError(f"export int8 refusé : cosinus minimal {low:.3f} < {MIN_COSINE}")
    stamp = {
        "source": _source_key(source),
        "per_channel": True,
        "weight_type": "int8",
        "min_cosine": round(low, 5),
        "mean_cosine": round(mean, 5),
        "made_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    text = json.dumps(stamp, ensure_ascii=False, indent=2) + "\n"
    (onnx_dir / f".{INT8_STAMP}.{os.getpid()}").write_text(text, encoding="utf-8")
    os.replace(onnx_dir / f".{INT8_STAMP}.{os.getpid()}", onnx_dir / INT8_STAMP)
    size = (onnx_dir / INT8_FILE).stat().st_size
    return QuantiseResult(False, time.perf_counter() - started, low, mean, size)


def _quantise(source: Path, target: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quiet = logging.getLogger()
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # « consider pre-processing »: shapes are dynamic here
    try:
        quantize_dynamic(source, target, weight_type=QuantType.QInt8, per_channel=True)
    finally:
        quiet.setLevel(level)


def _check(folder: Path, onnx_dir: Path) -> tuple[float, float]:
    """Smallest and mean cosine of the int8 vectors to the float32 export's."""
    reference = OnnxEncoder(folder, onnx_dir=onnx_dir)
    candidate = OnnxEncoder(folder, onnx_dir=onnx_dir, model_file=INT8_FILE)
    cosines = np.concatenate(
        [
            np.sum(reference.encode(CHECK_TEXTS, kind) * candidate.encode(CHECK_TEXTS, kind), 1)
            for kind in (TextKind.QUERY, TextKind.PASSAGE)
        ]
    )
    return float(np.min(cosines)), float(np.mean(cosines))


def _source_key(stamp: dict[str, Any]) -> str:
    return f"{stamp.get('folder_fingerprint')}@{stamp.get('exported_at')}"


def _read(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None

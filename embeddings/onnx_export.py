"""`reco model export`: a local sentence-transformers folder's transformer as ONNX.

Writes `<folder>/onnx/model.onnx` (inputs `input_ids`, `attention_mask` and, when the model
takes it, `token_type_ids`; output the token embeddings; batch and sequence axes dynamic)
and `<folder>/onnx/export.json`, the stamp: the folder fingerprint it was exported from,
the torch / onnx versions, and the largest cosine gap to the torch path measured right
after the export on a few French texts. An export that drifts (cosine < MIN_COSINE) is
refused and nothing is written. `torch.onnx.export` (TorchScript tracing) is used directly:
optimum breaks sentence-transformers in this environment.
"""

from __future__ import annotations

import inspect
import json
import time
import warnings
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from embeddings.base import TextKind
from embeddings.onnx import (
    MODEL_FILE,
    ONNX_DIR,
    STAMP_FILE,
    STAMP_VERSION,
    OnnxEncoder,
    export_problem,
)
from embeddings.st import SentenceTransformerEncoder, folder_fingerprint
from embeddings.staging import staged_directory

MIN_COSINE = 0.999
OPSET = 17  # supported by every onnxruntime >= 1.14
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
CHECK_QUERIES = (
    "les mamans avec des bébés restent seules chez elles",
    "aide aux devoirs pour les collégiens du quartier",
    "des ados qui traînent le soir en bas des immeubles",
    "personnes âgées isolées, fracture numérique",
)
CHECK_PASSAGES = (
    "Un jardin partagé au pied des immeubles, animé avec les habitants et l'école voisine.",
    "Atelier de français pour adultes : lire un courrier, prendre rendez-vous chez le médecin.",
)
# Longer than any model's window: checks the windowing and the averaging too.
CHECK_LONG = "Les familles du quartier se retrouvent au centre social chaque mercredi. " * 90


class ExportError(RuntimeError):
    """The export cannot run or was refused; the French message says what to do."""


@dataclass(frozen=True)
class ExportResult:
    folder: Path
    skipped: bool
    seconds: float = 0.0
    min_cosine: float = 1.0
    size_bytes: int = 0


def export_onnx(folder: Path, *, force: bool = False, opset: int = OPSET) -> ExportResult:
    """Export `folder` to `<folder>/onnx/` unless its stamp already matches (`force` redoes).

    Written in a folder beside `<folder>/onnx`, then renamed: a failed or refused export
    leaves the previous one as it was.
    """
    if not (folder / "modules.json").is_file():
        raise ExportError(
            f"le modèle {folder} n'existe pas (ou n'est pas un dossier sentence-transformers) : "
            "lancez `reco model adapt`"
        )
    if not force and export_problem(folder) is None:
        return ExportResult(folder, skipped=True)
    started = time.perf_counter()
    fingerprint = folder_fingerprint(folder)
    torch_encoder = SentenceTransformerEncoder(str(folder))
    model = torch_encoder.model()
    with staged_directory(folder / ONNX_DIR) as work:
        inputs = _export_graph(model, work / MODEL_FILE, opset)
        stamp = _stamp(fingerprint, model, inputs, opset)
        _write_stamp(work, stamp)
        min_cosine = _check(torch_encoder, OnnxEncoder(folder, onnx_dir=work))
        if min_cosine < MIN_COSINE:
            raise ExportError(
                f"export ONNX refusé : il s'écarte du modèle torch (cosinus minimal "
                f"{min_cosine:.4f} < {MIN_COSINE}) ; rien n'a été écrit dans {folder / ONNX_DIR}"
            )
        stamp.update(min_cosine=round(min_cosine, 6), max_cosine_gap=round(1 - min_cosine, 6))
        _write_stamp(work, stamp)
        size = (work / MODEL_FILE).stat().st_size
    return ExportResult(folder, False, time.perf_counter() - started, min_cosine, size)


def _export_graph(model: Any, path: Path, opset: int) -> list[str]:
    """Trace the transformer to `path`; return the input names the graph takes."""
    import torch

    transformer = model[0].auto_model.eval()
    accepted = inspect.signature(transformer.forward).parameters
    names = [name for name in INPUTS if name in accepted]

    class LastHidden(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
            return self.transformer(**dict(zip(names, tensors, strict=True))).last_hidden_state

    ids = torch.tensor([[5, 6, 7, 8, 9, 10, 11, 12], [5, 6, 7, 8, 9, 0, 0, 0]])
    examples = {
        "input_ids": ids,
        "attention_mask": (ids > 0).long(),
        "token_type_ids": torch.zeros_like(ids),
    }
    axes = {name: {0: "batch", 1: "sequence"} for name in [*names, "last_hidden_state"]}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer warnings about Python branches on shapes
        torch.onnx.export(
            LastHidden(),
            tuple(examples[name] for name in names),
            str(path),
            input_names=names,
            output_names=["last_hidden_state"],
            dynamic_axes=axes,
            opset_version=opset,
            dynamo=False,
        )
    return names


def _check(torch_encoder: SentenceTransformerEncoder, onnx_encoder: OnnxEncoder) -> float:
    """The smallest cosine between the two paths over queries, passages and a long text."""
    cosines: list[np.ndarray] = []
    for texts, kind in (
        (CHECK_QUERIES, TextKind.QUERY),
        ((*CHECK_PASSAGES, CHECK_LONG), TextKind.PASSAGE),
    ):
        reference = torch_encoder.encode(texts, kind)
        candidate = onnx_encoder.encode(texts, kind)
        cosines.append(np.sum(reference * candidate, axis=1))
    return float(np.min(np.concatenate(cosines)))


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "absent"


def _stamp(fingerprint: str, model: Any, inputs: list[str], opset: int) -> dict[str, Any]:
    return {
        "format_version": STAMP_VERSION,
        "folder_fingerprint": fingerprint,
        "torch": _version("torch"),
        "onnx": _version("onnx"),
        "onnxruntime": _version("onnxruntime"),
        "opset": opset,
        "inputs": inputs,
        "max_seq_length": int(model.max_seq_length),
        "exported_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def _write_stamp(directory: Path, stamp: dict[str, Any]) -> None:
    text = json.dumps(stamp, ensure_ascii=False, indent=2) + "\n"
    (directory / STAMP_FILE).write_text(text, encoding="utf-8")

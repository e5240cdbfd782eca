"""Which path encodes passages in batches (index builds, reports), chosen from the CPU.

bench/encoder_paths.py measures the paths side by side (BENCHMARKS.md, « Encodeur »):
- torch bfloat16 is fast only where the CPU computes in BF16 (AVX512-BF16 or AMX, Intel
  Xeon since Cooper Lake / Sapphire Rapids); elsewhere torch emulates it, many times slower;
- ONNX Runtime float32 gives the torch float32 vectors (cosine 1.0000) but, on an AVX2
  machine (AMD EPYC, 2 cores), 0.8x torch's passages/s with 1.7x its memory: on request;
- ONNX Runtime int8 (dynamic quantisation) is the fastest there (3.7x, sorted) but moves
  the vectors (mean cosine 0.983, nDCG@10 down by up to 0.011) and makes each vector depend
  on its batch mates (activations quantised per batch): on request only.
`auto` takes bfloat16 where native, else torch float32. Either way the build sorts texts by
length first (recommender/index/embed_cache.py: 2x, same vectors). An explicit request the
machine cannot serve falls back to float32, with a reason. The precision is recorded in the
index manifest and keys the embedding cache.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})  # /proc/cpuinfo names
CPUINFO = Path("/proc/cpuinfo")


class PassagePath(StrEnum):
    TORCH_FLOAT32 = "torch-float32"
    TORCH_BFLOAT16 = "torch-bfloat16"
    ONNX_FLOAT32 = "onnx-float32"
    ONNX_INT8 = "onnx-int8"

    @property
    def engine(self) -> str:
        return self.value.split("-", 1)[0]

    @property
    def precision(self) -> str:
        """float32, bfloat16 or int8: what the index manifest records."""
        return self.value.split("-", 1)[1]


AUTO = "auto"
CHOICES = (AUTO, *(p.value for p in PassagePath))


def cpu_flags(cpuinfo: Path = CPUINFO) -> frozenset[str]:
    """The CPU's feature flags (Linux); empty where /proc/cpuinfo cannot be read."""
    try:
        text = cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return frozenset()
    for line in text.splitlines():
        if line.startswith("flags"):
            return frozenset(line.split(":", 1)[1].split())
    return frozenset()


def bf16_native(flags: frozenset[str] | None = None) -> bool:
    """True when the CPU computes in bfloat16 (AVX512-BF16 or AMX-BF16)."""
    return bool((cpu_flags() if flags is None else flags) & BF16_FLAGS)


def choose_passage_path(
    requested: str = AUTO,
    *,
    flags: frozenset[str] | None = None,
    onnx_ready: bool = True,
    int8_ready: bool = False,
) -> tuple[PassagePath, str | None]:
    """The path for passages, and a French reason when the request had to fall back."""
    native = bf16_native(flags)
    float32 = PassagePath.TORCH_FLOAT32
    if requested == AUTO:
        return (PassagePath.TORCH_BFLOAT16 if native else float32), None
    try:
        path = PassagePath(requested)
    except ValueError:
        return float32, f"chemin « {requested} » inconnu (choix : {', '.join(CHOICES)})"
    if path is PassagePath.TORCH_BFLOAT16 and not native:
        return float32, "ce processeur ne calcule pas en bfloat16 (ni AVX512-BF16 ni AMX)"
    if path is PassagePath.ONNX_FLOAT32 and not onnx_ready:
        return float32, "pas d'export ONNX à jour (lancez `reco model export`)"
    if path is PassagePath.ONNX_INT8 and not int8_ready:
        return float32, "pas d'export int8 à jour (lancez `reco model export --int8`)"
    return path, None

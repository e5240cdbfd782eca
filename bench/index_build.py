"""Figure 2: index build, cold (empty cache) and warm (cache full, one record changed).

Everything happens in a temporary directory: the project's index/ and cache/ are never
touched. The last build of each encoder (original records, all cached) is kept for the
latency and app figures.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from bench.common import Section, percentile, summary_ms
from embeddings import get_encoder
from embeddings.base import Encoder, TextKind
from recommender.index.build import BuildStats, build_index
from recommender.records.records import Action, save_actions

REPO = Path(__file__).resolve().parent.parent
TARGET_WARM_S = 2.0
COLUMNS = [
    "encodeur",
    "passages",
    "à froid p50 (s)",
    "à froid p95 (s)",
    "passages/s (à froid)",
    "à chaud p50 (s)",
    "à chaud p95 (s)",
    "passages ré-encodés (à chaud)",
    "`reco build` à chaud p50 (s)",
    "objectif à chaud ≤ 2 s",
]


_QUIET = {"show_progress": False}


@dataclass(frozen=True)
class Built:
    """Where one encoder's benchmark index lives (original records, ready to load)."""

    spec: str
    index_dir: Path
    cache_dir: Path

    @property
    def dirs(self) -> tuple[Path, Path]:
        return self.index_dir, self.cache_dir


def changed(actions: Sequence[Action], turn: int) -> list[Action]:
    """The same records with one of them edited (a different one at each turn)."""
    out = list(actions)
    i = (turn * 7) % len(out)
    out[i] = replace(out[i], summary=f"{out[i].summary} Mise à jour n° {turn + 1}.")
    return out


def cold_builds(
    spec: str, encoder: Encoder, actions: Sequence[Action], work: Path, repeats: int
) -> list[BuildStats]:
    """Each build starts from a fresh, empty cache; the last one fills work/cache."""
    runs = []
    for turn in range(repeats):
        cache = work / ("cache" if turn == repeats - 1 else f"cold-cache-{turn}")
        runs.append(build_index(actions, [(spec, encoder)], work / "index", cache, **_QUIET))
    return runs


def warm_builds(
    spec: str, encoder: Encoder, actions: Sequence[Action], built: Built, repeats: int
) -> list[BuildStats]:
    runs = []
    for turn in range(repeats):
        edited = changed(actions, turn)
        runs.append(build_index(edited, [(spec, encoder)], *built.dirs, **_QUIET))
    # Back to the original records (all cached): the index the other figures load.
    build_index(actions, [(spec, encoder)], *built.dirs, **_QUIET)
    return runs


def cli_warm_builds(spec: str, actions: Sequence[Action], work: Path, repeats: int) -> list[float]:
    """`reco build` in a new process (imports and model loading included), one record changed."""
    times = []
    data = work / "actions.jsonl"
    for turn in range(repeats):
        save_actions(data, changed(actions, 100 + turn))
        env = {
            **os.environ,
            "RECO_DATA": str(data),
            "RECO_INDEX": str(work / "cli-index"),
            "RECO_CACHE": str(work / "cache"),
            "RECO_ENCODERS": spec,
        }
        command = [sys.executable, "-m", "recommender", "build", "--quiet"]
        started = time.perf_counter()
        subprocess.run(command, env=env, cwd=REPO, check=True, capture_output=True, timeout=600)
        times.append(time.perf_counter() - started)
    return times


def load_encoder(spec: str, models_dir: Path) -> Encoder:
    encoder = get_encoder(spec, models_dir=models_dir)
    encoder.encode(["échauffement du modèle"], TextKind.PASSAGE)  # model loading not timed
    return encoder


def bench_encoder(
    spec: str,
    actions: Sequence[Action],
    work: Path,
    models_dir: Path,
    repeats: tuple[int, int, int],
) -> tuple[dict, Built]:
    """Cold, warm and `reco build` warm timings of one encoder (repeats in that order)."""
    encoder = load_encoder(spec, models_dir)
    work.mkdir(parents=True, exist_ok=True)
    cold = cold_builds(spec, encoder, actions, work, repeats[0])
    built = Built(spec, work / "index", work / "cache")
    warm = warm_builds(spec, encoder, actions, built, repeats[1])
    cli = cli_warm_builds(spec, actions, work, repeats[2])
    cold_s = [r.seconds for r in cold]
    warm_s = [r.seconds for r in warm]
    values = [
        spec,
        cold[0].n_chunks,
        *(t / 1000 for t in summary_ms(cold_s)),
        sorted(r.chunks_per_second for r in cold)[len(cold) // 2],
        *(t / 1000 for t in summary_ms(warm_s)),
        max(r.embedded for r in warm),
        percentile(cli, 50) if cli else "—",
        "oui" if percentile(warm_s, 50) <= TARGET_WARM_S else "non",
    ]
    return dict(zip(COLUMNS, values, strict=True)), built


def run(
    specs: Sequence[str], actions: Sequence[Action], work: Path, models_dir: Path, quick: bool
) -> tuple[Section, dict[str, Built]]:
    repeats = (1, 2, 0) if quick else (2, 5, 2)
    section = Section("build", f"Construction de l'index ({len(actions)} fiches)", COLUMNS)
    built: dict[str, Built] = {}
    for number, spec in enumerate(specs):
        # Cold builds take minutes under load: repeated for the default encoder only.
        plan = repeats if number == 0 else (1, *repeats[1:])
        values, built[spec] = bench_encoder(spec, actions, work / _slug(spec), models_dir, plan)
        section.rows.append(values)
    section.notes += [
        f"À froid : cache d'encodage vide, {repeats[0]} construction(s) pour l'encodeur par "
        "défaut (la première ligne), 1 pour les autres (plusieurs minutes chacune) ; à chaud : "
        f"cache plein et une fiche modifiée, {repeats[1]} construction(s) (une fiche différente "
        "à chaque fois) ; modèle déjà chargé, dans le même processus (`build_index`).",
        "« `reco build` à chaud » : la commande dans un nouveau processus (démarrage de Python, "
        f"imports et chargement du modèle compris), {repeats[2]} mesure(s), médiane.",
        "Dossiers temporaires uniquement : index/ et cache/ du projet ne sont pas touchés.",
    ]
    return section, built


def _slug(spec: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in spec)

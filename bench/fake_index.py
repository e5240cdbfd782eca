"""A small index of the committed actions with the deterministic fake encoder (about 1 s).

Used by the quick modes of the benchmarks and load test and by the tests: no model needed.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from embeddings import get_encoder
from recommender.core.config import Settings
from recommender.index.build import build_index
from recommender.records.records import load_actions

REPO = Path(__file__).resolve().parent.parent


def fake_env(root: Path) -> dict[str, str]:
    """RECO_* variables for a fake-encoder index under `root` (see build_fake_index)."""
    return {
        "RECO_DATA": str(root / "actions.jsonl"),
        "RECO_INDEX": str(root / "index"),
        "RECO_CACHE": str(root / "cache"),
        "RECO_ENCODERS": "fake",
        "RECO_GLOSSARY": str(REPO / "data" / "glossary.tsv"),
        "RECO_MODELS": str(root / "models"),
    }


def build_fake_index(root: Path) -> dict[str, str]:
    """Copy the committed actions into `root`, index them with the fake encoder; the env."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(REPO / "data" / "actions.jsonl", root / "actions.jsonl")
    env = fake_env(root)
    settings = Settings.from_env(env)
    actions = load_actions(settings.data_path)
    encoders = [("fake", get_encoder("fake"))]
    build_index(actions, encoders, settings.index_dir, settings.cache_dir, show_progress=False)
    return env

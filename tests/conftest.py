"""Shared fixtures: the repository's data (found from this file, not the cwd), a small engine."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from recommender.search.service import Engine

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The repository's `data/` directory (committed actions.jsonl and raw exports)."""
    return REPO_ROOT / "data"


@pytest.fixture(scope="session")
def raw_dir(data_dir: Path) -> Path:
    """The four real seed exports, `data/raw/000_…` to `003_…`."""
    return data_dir / "raw"


@pytest.fixture(scope="module")
def fake_engine(tmp_path_factory) -> Engine:
    """A real `Engine` over the committed actions, with a fake-encoder index (~1 s per module)."""
    from bench.fake_index import build_fake_index
    from recommender.core.config import Settings
    from recommender.search.service import Engine

    env = build_fake_index(tmp_path_factory.mktemp("fake-engine"))
    return Engine.load(Settings.from_env(env))

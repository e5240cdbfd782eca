"""Shared fixtures: where the repository's data lives (found from this file, not the cwd)."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The repository's `data/` directory (committed actions.jsonl and raw exports)."""
    return REPO_ROOT / "data"


@pytest.fixture(scope="session")
def raw_dir(data_dir: Path) -> Path:
    """The four real seed exports, `data/raw/000_…` to `003_…`."""
    return data_dir / "raw"

"""Settings shared by the faces (CLI, app). Only faces read the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

# Chosen on the blind evaluation's dev split (docs/EVALUATION.md): the model adapted to the
# records and to needs written for them (`reco model adapt`, made by `make run`) lifts the
# hybrid's nDCG@10 by 0.15 over e5-st; its queries go through ONNX Runtime
# (embeddings/adapted.py).
DEFAULT_ENCODERS: tuple[str, ...] = ("e5-adapted",)


@dataclass(frozen=True)
class Settings:
    data_path: Path = Path("data/actions.jsonl")
    index_dir: Path = Path("index")
    cache_dir: Path = Path("cache/embeddings")
    models_dir: Path = Path("models")
    glossary_path: Path = Path("data/glossary.tsv")
    encoders: tuple[str, ...] = DEFAULT_ENCODERS

    @property
    def statements_cache(self) -> Path:
        """Vectors of limit and perspective statements (answers/themes.py), per encoder."""
        return self.cache_dir.parent / "statements"

    @property
    def written_needs(self) -> Path:
        """Needs written for the records, for `reco model adapt` (training/pairs.py)."""
        return self.data_path.parent / "adapt" / "needs.json"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read RECO_* variables (paths, encoders); unset ones keep their defaults."""
        env = os.environ if env is None else env
        settings = cls()
        paths = {
            "RECO_DATA": "data_path",
            "RECO_INDEX": "index_dir",
            "RECO_CACHE": "cache_dir",
            "RECO_MODELS": "models_dir",
            "RECO_GLOSSARY": "glossary_path",
        }
        chosen: dict[str, Any] = {
            name: Path(env[variable]) for variable, name in paths.items() if env.get(variable)
        }
        settings = replace(settings, **chosen)
        if env.get("RECO_ENCODERS"):
            specs = tuple(s.strip() for s in env["RECO_ENCODERS"].split(",") if s.strip())
            settings = replace(settings, encoders=specs)
        return settings

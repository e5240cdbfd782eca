"""Build a folder beside its target, then rename it into place (the model folder).

A failed or interrupted build leaves the previous folder untouched. The encoders package
depends on nothing from `recommender`, so it keeps this small rule of its own
(`recommender.core.storage` does the same for the index, and also sweeps killed builds).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

DIR_MODE = 0o755  # readable by a service running as another user


@contextlib.contextmanager
def staged_directory(target: Path) -> Iterator[Path]:
    """Yield a fresh directory beside `target`; on success it replaces `target`."""
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.building-"))
    os.chmod(work, DIR_MODE)
    try:
        yield work
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    old = target.parent / f".{target.name}.old-{os.getpid()}"
    if target.exists():
        os.replace(target, old)
    os.replace(work, target)
    shutil.rmtree(old, ignore_errors=True)

"""Atomic writes: build beside the target, then rename, so a crash never leaves half a file."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

# mkstemp/mkdtemp create private files (0600/0700); the index must stay readable by a
# service running as another user, like any file the tool writes.
FILE_MODE = 0o644
DIR_MODE = 0o755


@contextlib.contextmanager
def _atomic_file(path: Path, mode: str) -> Iterator[IO]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        encoding = None if "b" in mode else "utf-8"
        with os.fdopen(fd, mode, encoding=encoding) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, FILE_MODE)
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def atomic_write_lines(path: Path, lines: Iterable[str]) -> None:
    """Write text lines to `path` atomically (old content kept if anything fails)."""
    with _atomic_file(path, "w") as handle:
        for line in lines:
            handle.write(line)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    with _atomic_file(path, "wb") as handle:
        handle.write(data)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_orphans(target: Path) -> None:
    """Delete half-built directories left by a build that was killed (SIGKILL, power cut)."""
    for leftover in target.parent.glob(f".{target.name}.building-*"):
        pid = leftover.name.removeprefix(f".{target.name}.building-").split("-", 1)[0]
        if not pid.isdigit() or not pid_alive(int(pid)):
            shutil.rmtree(leftover, ignore_errors=True)


@contextlib.contextmanager
def atomic_directory(target: Path) -> Iterator[Path]:
    """Yield a fresh temporary directory; on success it replaces `target`.

    On failure (exception, KeyboardInterrupt) the temporary directory is removed and the
    previous `target` is untouched. The swap renames the old directory aside first, so at
    every instant either the old or the new directory sits at `target`'s path or aside.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_orphans(target)
    prefix = f".{target.name}.building-{os.getpid()}-"
    work = Path(tempfile.mkdtemp(dir=target.parent, prefix=prefix))
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

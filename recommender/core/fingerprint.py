"""A cheap identity of the files an engine was loaded from, to notice when they change.

One `stat` per file or directory (path, type, size, mtime_ns, device, inode): about ten
calls for an index, tens of microseconds. It sees files replaced (`reco build` swaps a new
directory in: new inodes), deleted, truncated or rewritten in place (size or mtime). It
reads no content: a same-size rewrite within the file system's clock tick (a few ms) would
go unnoticed until the next change.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator, Sequence
from pathlib import Path

# (path, kind, size, mtime_ns, device, inode); kind "absent" or "error:<errno>" for a path
# that cannot be read, so its appearance or repair changes the fingerprint too.
Stamp = tuple[str, str, int, int, int, int]
Fingerprint = tuple[Stamp, ...]


def fingerprint(paths: Sequence[Path]) -> Fingerprint:
    """Stamps of `paths` and, for directories, of everything under them (sorted)."""
    return tuple(stamp for path in paths for stamp in _stamps(str(path)))


def _stamp(path: str) -> tuple[Stamp, bool]:
    """The stamp of one path and whether it is a directory to descend into."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return (path, "absent", 0, 0, 0, 0), False
    except OSError as exc:  # unreadable: part of the identity, the load will say why
        return (path, f"error:{exc.errno}", 0, 0, 0, 0), False
    is_dir = stat.S_ISDIR(info.st_mode)
    kind = "dir" if is_dir else "file"
    return (path, kind, info.st_size, info.st_mtime_ns, info.st_dev, info.st_ino), is_dir


def _stamps(path: str) -> Iterator[Stamp]:
    stamp, is_dir = _stamp(path)
    yield stamp
    if not is_dir:
        return
    try:
        with os.scandir(path) as entries:
            names = sorted(entry.name for entry in entries)
    except OSError as exc:  # deleted or made unreadable between the two calls
        yield (path, f"error:{exc.errno}", 0, 0, 0, 0)
        return
    for name in names:
        yield from _stamps(os.path.join(path, name))

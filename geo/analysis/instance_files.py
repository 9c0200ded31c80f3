"""Arrays kept on disk between processes: a siting instance built once per machine, not per process.

Building Jiujiang's 爱心驿站 instance takes ~3 s (the candidates' reach over 210 000 cells), every
time a process starts: each solver process of each web worker, and every ``unionmap plan``. The
arrays depend only on the grid version, the type's radii and the candidate resolution, so the
first process to build them writes them here (one ``.npy`` file per array, in a folder named by
that key) and every later one maps them read-only (``numpy.load(mmap_mode="r")``): loading takes
milliseconds, and the pages are shared through the page cache by every process that maps them,
so N solver processes hold one copy of the matrix, not N.

Writes are atomic (a temporary folder renamed into place), so a reader never sees half a set; a
folder that cannot be read is treated as missing and rebuilt. Older keys are pruned past
``KEEP``. Nothing here is a source of truth: deleting the folder only costs the next build.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import shutil
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

import numpy as np

# Bump when what is stored, or how, changes: old folders are then never read.
FORMAT = 1
# Entries kept per directory (instances ~170 MB and models ~24 MB each on Jiujiang: at most ~1.4 GB).
KEEP = 8
# ... and at most this many bytes of them (the most recently used entry is always kept).
MAX_BYTES = 3 * 2**30
# A temporary folder older than this is a write that died (one in progress takes seconds).
STALE_WRITE_S = 600.0


def key_of(*parts: object) -> str:
    """A folder name for the arrays built from ``parts`` (their ``repr`` is the identity)."""
    return hashlib.sha1(repr((FORMAT, *parts)).encode()).hexdigest()[:20]


def load(directory: Path, key: str, names: tuple[str, ...]) -> dict[str, np.ndarray] | None:
    """The arrays ``names`` stored under ``key``, mapped read-only; None if any is missing or unreadable."""
    folder = directory / key
    try:
        arrays = {name: np.load(folder / f"{name}.npy", mmap_mode="r", allow_pickle=False) for name in names}
    except (OSError, ValueError):
        return None
    with contextlib.suppress(OSError):
        os.utime(folder)  # recently used: pruned last
    return arrays


def save(directory: Path, key: str, arrays: Mapping[str, np.ndarray]) -> bool:
    """Store ``arrays`` under ``key`` (atomically); False, and nothing stored, if the disk refuses.

    A folder already there under ``key`` is one :func:`load` could not read (the caller saves
    only after a failed load): damaged or from an older layout, it is replaced, not kept.
    A plan must not fail because the cache cannot be written (a read-only checkout, a full disk),
    so errors are swallowed here and the caller keeps what it built in memory.
    """
    try:
        directory.mkdir(parents=True, exist_ok=True)
        if (directory / key).is_dir() and load(directory, key, tuple(arrays)) is None:
            discard(directory / key)
        if (directory / key).is_dir():
            return True  # another process stored it meanwhile
        staging = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=directory))
        try:
            for name, array in arrays.items():
                np.save(staging / f"{name}.npy", np.ascontiguousarray(array), allow_pickle=False)
            staging.chmod(0o755)  # mkdtemp's 0700 would hide it from other users' processes
            staging.rename(directory / key)
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)
            return (directory / key).is_dir()  # another process got there first
        prune(directory)
        return True
    except OSError:
        return False


def load_object(directory: Path, key: str) -> object | None:
    """The object :func:`save_object` stored under ``key``; None if missing or unreadable.

    Pickle, so only for files this checkout wrote itself (its own state folder): whoever can
    write there can already change the code.
    """
    try:
        with (directory / f"{key}.pickle").open("rb") as file:
            value: object = pickle.load(file)  # noqa: S301 - our own cache file, see above
            return value
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
        return None


def save_object(directory: Path, key: str, value: object) -> bool:
    """Store ``value`` under ``key`` (atomically); False if the disk refuses (see :func:`save`)."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=directory, prefix=f".{key}-", delete=False) as file:
            pickle.dump(value, file, protocol=pickle.HIGHEST_PROTOCOL)
        Path(file.name).chmod(0o644)  # NamedTemporaryFile's 0600 would hide it from other users' processes
        Path(file.name).rename(directory / f"{key}.pickle")
        prune(directory)
        return True
    except OSError:
        return False


def discard(path: Path) -> None:
    """Remove a stored entry: renamed out of the way first, so no reader finds it half deleted
    (a process that maps its files keeps them until it lets go)."""
    with contextlib.suppress(OSError):
        gone = path.with_name(f".gone-{path.name}-{os.getpid()}-{time.monotonic_ns()}")
        path.rename(gone)
        if gone.is_dir():
            shutil.rmtree(gone, ignore_errors=True)
        else:
            gone.unlink(missing_ok=True)


def size_of(path: Path) -> int:
    """Bytes an entry holds on disk (a folder's files, or one file)."""
    with contextlib.suppress(OSError):
        return sum(item.stat().st_size for item in path.iterdir()) if path.is_dir() else path.stat().st_size
    return 0


def prune(directory: Path, keep: int = KEEP, max_bytes: int = MAX_BYTES) -> None:
    """Keep the ``keep`` most recently used entries, and fewer if they hold more than
    ``max_bytes``; remove the rest and the leftovers of failed writes."""
    now = time.time()
    entries = list(directory.iterdir())
    stale = [path for path in entries if path.name.startswith(".") and now - path.stat().st_mtime > STALE_WRITE_S]
    current = sorted((path for path in entries if not path.name.startswith(".")),
                     key=lambda path: path.stat().st_mtime, reverse=True)
    kept, total = 0, 0
    for path in current:
        total += size_of(path)
        if kept >= keep or (kept > 0 and total > max_bytes):
            stale.append(path)
        else:
            kept += 1
    for path in stale:
        if not path.name.startswith("."):
            discard(path)
        elif path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)

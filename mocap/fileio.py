"""Atomic output: every file is written under a temporary name and renamed into place, so a
run killed at any moment leaves either the complete file or none.

Temporary files are hidden (``.<stem>.<random>.part<suffix>``) and created with mode
``0666`` as ``open()`` would, so the user's umask decides their mode (no process-wide umask
is read or changed).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from mocap.errors import OutputError

#: Marks the temporary files of a write in progress.
PART = ".part"
# The names temp_path gives (and mkstemp gave before): ".<stem>.<8 chars>.part[.<ext>]".
_STALE = re.compile(r"^\..+\.[A-Za-z0-9_]{8}\.part(\.[A-Za-z0-9]+)?$")


def remove_stale_temporaries(directory: str | os.PathLike) -> list[Path]:
    """Remove the temporary files a killed run left in ``directory`` (call it while holding
    the directory's lock, so no live run's files are touched); returns what was removed."""
    removed = []
    with contextlib.suppress(OSError):
        for p in Path(directory).iterdir():
            if _STALE.match(p.name) and p.is_file() and not p.is_symlink():
                with contextlib.suppress(OSError):
                    p.unlink()
                    removed.append(p)
    return removed


def temp_path(directory: str | os.PathLike, name: str, suffix: str | None = None) -> Path:
    """Create an empty hidden temporary file in ``directory`` for the final file ``name``.

    Args:
        directory: where the final file will be (renames stay on one file system).
        name: the final file name.
        suffix: the temporary name's ending (default: ``name``'s suffix), since writers such
            as OpenCV or Blender's exporters pick the format from it.

    Raises:
        OSError: the file cannot be created.
    """
    stem, end = Path(name).stem, Path(name).suffix if suffix is None else suffix
    for _ in range(100):
        path = Path(directory) / f".{stem}.{secrets.token_hex(4)}{PART}{end}"
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        return path
    raise FileExistsError(f"no free temporary name in {directory}")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it onto ``path``.

    The temporary name ends in ``suffix`` (default: ``path``'s own suffix). On any
    exception the temporary file is removed and ``path`` is left untouched.

    Raises:
        OutputError: the directory cannot be created or written.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = temp_path(path.parent, path.name, suffix)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        yield tmp
        os.replace(tmp, path)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        tmp.unlink(missing_ok=True)


def write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8", newline="\n")


def write_json(path: str | os.PathLike, obj) -> None:
    write_text(path, json.dumps(obj, indent=1) + "\n")


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


class OutputDir:
    """Stage files in an output directory and publish them all at once.

    Files are written to hidden temporary names in ``directory``; :meth:`commit` renames
    them into place, :meth:`abort` (or leaving the ``with`` block by an exception) removes
    them, and removes ``directory`` too if this object created it and it is empty.

    Raises:
        OutputError: the directory cannot be created or written (checked on construction,
            before any work).
    """

    def __init__(self, directory: str | os.PathLike) -> None:
        self.directory = Path(directory)
        self._created = not self.directory.exists()
        self._lock: int | None = None
        self._staged: list[tuple[Path, Path]] = []
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            temp_path(self.directory, "mocap-probe").unlink()
            self._acquire()
        except OSError as exc:
            self._cleanup_dir()
            raise OutputError(f"cannot write to {self.directory}: "
                              f"{exc.strerror or exc}") from None
        except OutputError:
            self._cleanup_dir()
            raise
        remove_stale_temporaries(self.directory)  # a killed run's, now that we hold the lock

    def _acquire(self) -> None:
        """Hold an advisory ``flock`` on the directory itself for this run: a second run
        into the same directory fails at once instead of mixing two runs' files. The kernel
        drops the lock when the process ends, however it ends, and no lock file is left."""
        try:
            import fcntl
        except ImportError:  # no flock (Windows): no lock
            return
        fd = os.open(self.directory, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise OutputError(f"{self.directory} is in use by another mocap run; wait for it "
                              "to finish or choose another directory") from None
        self._lock = fd

    @property
    def locked(self) -> bool:
        """Whether this object holds the directory's lock."""
        return self._lock is not None

    def close(self) -> None:
        """Release the directory's lock."""
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None

    def path(self, name: str) -> Path:
        """A temporary path that :meth:`commit` will rename to ``directory/name``."""
        tmp = temp_path(self.directory, name)
        self._staged.append((tmp, self.directory / name))
        return tmp

    def commit(self) -> list[Path]:
        """Rename every staged file into place (all or, on failure, none of them)."""
        done = []
        try:
            for tmp, final in self._staged:
                os.replace(tmp, final)
                done.append(final)
        except OSError as exc:
            for p in done:
                p.unlink(missing_ok=True)
            self.abort()
            raise OutputError(f"cannot write {final}: {exc.strerror or exc}") from None
        self._staged = []
        return done

    def abort(self) -> None:
        for tmp, _ in self._staged:
            tmp.unlink(missing_ok=True)
        self._staged = []
        self._cleanup_dir()

    def _cleanup_dir(self) -> None:
        self.close()
        if self._created and self.directory.is_dir() and not any(self.directory.iterdir()):
            self.directory.rmdir()

    def __enter__(self) -> OutputDir:
        return self

    def __exit__(self, exc_type, *exc) -> None:
        if exc_type is not None:
            self.abort()
        self._cleanup_dir()  # releases the lock; removes a directory this run left empty


def json_array(a, digits: int = 4):
    """``a`` as nested JSON lists: floats rounded to ``digits`` (as float64: a rounded
    float32 would print with all its binary digits), NaN and infinities as ``null`` (JSON
    has no NaN), integers and booleans as they are."""
    a = np.asarray(a)
    if a.dtype == bool or np.issubdtype(a.dtype, np.integer):
        return a.tolist()
    r = np.round(a.astype(np.float64), digits)
    bad = ~np.isfinite(r)
    if not bad.any():
        return r.tolist()
    out = r.astype(object)
    out[bad] = None
    return out.tolist()

"""Atomic output: every file is written under a temporary name and renamed into place, so a
run killed at any moment leaves either the complete file or none."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from mocap.errors import OutputError


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it onto ``path``.

    The temporary name ends in ``suffix`` (default: ``path``'s own suffix), since writers
    such as OpenCV or Blender's exporters pick the format from it, or replace it.
    The file is published with the usual mode (``0666 & ~umask``).
    On any exception the temporary file is removed and ``path`` is left untouched.

    Raises:
        OutputError: the directory cannot be created or written.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        end = path.suffix if suffix is None else suffix
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".part{end}",
                                   dir=path.parent)
        os.close(fd)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_path, 0o666 & ~umask)  # mkstemp makes 0600; publish as open() would
        os.replace(tmp_path, path)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        tmp_path.unlink(missing_ok=True)


def write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


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
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            fd, probe = tempfile.mkstemp(prefix=".mocap-probe-", dir=self.directory)
            os.close(fd)
            os.unlink(probe)
        except OSError as exc:
            self._cleanup_dir()
            raise OutputError(f"cannot write to {self.directory}: "
                              f"{exc.strerror or exc}") from None
        self._staged: list[tuple[Path, Path]] = []

    def path(self, name: str) -> Path:
        """A temporary path that :meth:`commit` will rename to ``directory/name``."""
        suffix = Path(name).suffix
        fd, tmp = tempfile.mkstemp(prefix=f".{Path(name).stem}.", suffix=f".part{suffix}",
                                   dir=self.directory)
        os.close(fd)
        self._staged.append((Path(tmp), self.directory / name))
        return Path(tmp)

    def commit(self) -> list[Path]:
        done = []
        umask = os.umask(0)
        os.umask(umask)
        try:
            for tmp, final in self._staged:
                os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; publish like open() would
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
        if self._created and self.directory.is_dir() and not any(self.directory.iterdir()):
            self.directory.rmdir()

    def __enter__(self) -> OutputDir:
        return self

    def __exit__(self, exc_type, *exc) -> None:
        if exc_type is not None:
            self.abort()

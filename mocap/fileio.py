"""Atomic output: every file is written under a temporary name and renamed into place, so a
run killed at any moment leaves either the complete file or none. And the one rule for input
files (:func:`read_input`): a regular file of a bounded size, never a device, pipe or socket
(reading ``/dev/zero`` never ends; opening a FIFO blocks until someone writes to it).

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
import stat
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from mocap.errors import InputError, Interrupted, OutputError

#: Each kind of input file mocap reads: how messages name it, and the largest such file
#: mocap reads (bytes; far above any real one).
INPUT_KINDS = {"bvh": ("a BVH file", 1 << 30), "rig": ("a rig file", 64 << 20),
               "image": ("an image", 1 << 30), "video": ("a video file", 1 << 50)}


def check_input(path: str | os.PathLike, kind: str) -> int:
    """Check that ``path`` names a regular file mocap may read as ``kind`` (a key of
    :data:`INPUT_KINDS`) without opening it; return its size in bytes.

    Raises:
        InputError: missing, a directory, a device, pipe or socket, or over the size cap;
            one line naming the file.
    """
    p = Path(path)
    try:
        info = os.stat(p)
    except FileNotFoundError:
        raise InputError(f"{p}: no such file") from None
    except OSError as exc:
        raise InputError(f"{p}: cannot read ({exc.strerror or exc})") from None
    return _check_mode(p, info, kind)


def _check_mode(p: Path, info: os.stat_result, kind: str) -> int:
    noun, cap = INPUT_KINDS[kind]
    mode = info.st_mode
    if stat.S_ISDIR(mode):
        raise InputError(f"{p}: is a directory, not {noun}")
    if not stat.S_ISREG(mode):
        what = ("a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else
                "a pipe (FIFO)" if stat.S_ISFIFO(mode) else
                "a socket" if stat.S_ISSOCK(mode) else "a special file")
        raise InputError(f"{p}: is {what}, not {noun}; give a regular file")
    if info.st_size > cap:
        raise InputError(f"{p}: {info.st_size} bytes, larger than any {kind} file mocap "
                         f"reads ({cap} bytes)")
    return int(info.st_size)


def read_input(path: str | os.PathLike, kind: str) -> bytes:
    """The bytes of a regular input file, checked as :func:`check_input` does, on the very
    file opened (opened without blocking, then inspected, so a pipe put in its place
    between the check and the read is refused too) and read up to the cap only.

    Raises:
        InputError: as :func:`check_input`, or the read failed; one line.
    """
    p = Path(path)
    try:
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        raise InputError(f"{p}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{p}: is a directory, not {INPUT_KINDS[kind][0]}") from None
    except OSError as exc:  # a socket cannot be opened (ENXIO): say what it is
        check_input(p, kind)
        raise InputError(f"{p}: cannot read ({exc.strerror or exc})") from None
    cap = INPUT_KINDS[kind][1]
    try:
        _check_mode(p, os.fstat(fd), kind)
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read(cap + 1)
    except OSError as exc:
        raise InputError(f"{p}: cannot read ({exc.strerror or exc})") from None
    finally:
        os.close(fd)
    if len(data) > cap:  # it grew while we read
        raise InputError(f"{p}: larger than any {kind} file mocap reads ({cap} bytes)")
    return data


#: Marks the temporary files of a write in progress.
PART = ".part"
# The names temp_path gives (and mkstemp gave before): ".<stem>.<8 chars>.part[.<ext>]".
_STALE = re.compile(r"^\..+\.[A-Za-z0-9_]{8}\.part(\.[A-Za-z0-9]+)?$")
#: A file moved aside while a set is published: ".<name>.<8 hex>.old".
_BACKUP = re.compile(r"^\.(?P<name>.+)\.[0-9a-f]{8}\.old$")


def _backup_path(final: Path) -> Path:
    for _ in range(100):
        path = final.with_name(f".{final.name}.{secrets.token_hex(4)}.old")
        if not os.path.lexists(path):
            return path
    raise FileExistsError(f"no free backup name beside {final}")


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
            elif (m := _BACKUP.match(p.name)) and p.is_file() and not p.is_symlink():
                # a publish killed half way: the earlier file goes back where it was,
                # unless the new one made it into place
                final = p.with_name(m["name"])
                with contextlib.suppress(OSError):
                    if os.path.lexists(final):
                        p.unlink()
                        removed.append(p)
                    else:
                        os.replace(p, final)
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


#: The signals a run ends on (the CLI turns them into :class:`mocap.errors.Interrupted`).
STOP_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP")
# Stop signals received by this process's run (the CLI's handler notes each): a publish
# never goes ahead after one, even where the Interrupted it raised was swallowed on the way.
_STOPS: list[int] = []


def note_stop(signum: int) -> None:
    """Record that a stop signal arrived (called by the CLI's signal handler)."""
    _STOPS.append(int(signum))


def clear_stops() -> None:
    """Forget earlier stop signals (at the start of a run)."""
    _STOPS.clear()


def stop_requested() -> bool:
    """Whether a stop signal arrived since :func:`clear_stops`."""
    return bool(_STOPS)


@contextlib.contextmanager
def deferred_signals() -> Iterator[None]:
    """Hold Ctrl-C, SIGTERM and SIGHUP off for a short critical section (publishing a set
    of files): a signal arriving inside is delivered, to the handler that was installed,
    when the section ends, whether it ends normally or by an exception. Only the main
    thread can do this (Python runs signal handlers there); elsewhere it does nothing."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    saved = {}
    for name in STOP_SIGNALS:
        sig = getattr(signal, name, None)
        if sig is not None:
            with contextlib.suppress(ValueError, OSError):
                saved[sig] = signal.signal(sig, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)
        if caught:
            handler = saved[caught[0]]
            if callable(handler):
                handler(caught[0], None)
            elif handler == signal.SIG_DFL:
                signal.raise_signal(caught[0])


def lock_holder(path: str | os.PathLike) -> int | None:
    """The process that holds a ``flock`` on ``path`` (Linux ``/proc/locks``), or None."""
    try:
        info = os.stat(path)
        lines = Path("/proc/locks").read_text().splitlines()
    except OSError:
        return None
    dev = f"{os.major(info.st_dev):02x}:{os.minor(info.st_dev):02x}:{info.st_ino}"
    for line in lines:
        parts = line.split()
        if len(parts) > 5 and parts[1] == "FLOCK" and parts[5] == dev \
                and parts[4].isdigit() and int(parts[4]) != os.getpid():
            return int(parts[4])
    return None


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
        # every folder this run creates (``-o new1/new2/out``), removed again if left empty
        self._created = [p for p in (self.directory, *self.directory.parents)
                         if not os.path.lexists(p)]
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
            pid = lock_holder(self.directory)
            holder = f" (process {pid})" if pid else ""
            raise OutputError(f"{self.directory} is in use by another mocap run{holder}; wait "
                              "for it to finish or choose another directory") from None
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
        with deferred_signals():  # created and recorded together: abort() finds it
            tmp = temp_path(self.directory, name)
            self._staged.append((tmp, self.directory / name))
        return tmp

    def commit(self, remove: list[Path] | tuple[Path, ...] = ()) -> list[Path]:
        """Publish: rename every staged file into place and delete ``remove`` (an earlier
        run's files this run does not write), all or nothing.

        Files about to be replaced or deleted are first moved aside to hidden backups
        (``.<name>.<random>.old``) and restored if anything fails or the run is stopped
        half way; signals are held off until the set is complete, then delivered. A run
        killed outright (``kill -9``) inside this leaves backups that the next run into the
        directory puts back (:func:`remove_stale_temporaries`).

        Raises:
            OutputError: a rename failed (the directory is as it was before).
        """
        done: list[Path] = []
        aside: list[tuple[Path, Path]] = []  # (final, backup)
        finals = {final for _, final in self._staged}
        with deferred_signals():
            if stop_requested():  # stopped earlier, and something swallowed the Interrupted
                raise Interrupted
            try:
                for final in [*(f for _, f in self._staged),
                              *(Path(r) for r in remove if Path(r) not in finals)]:
                    if os.path.lexists(final):
                        backup = _backup_path(final)
                        os.replace(final, backup)
                        aside.append((final, backup))
                for tmp, final in self._staged:
                    os.replace(tmp, final)
                    done.append(final)
            except BaseException as exc:
                for p in done:
                    with contextlib.suppress(OSError):
                        p.unlink()
                for final, backup in reversed(aside):
                    with contextlib.suppress(OSError):
                        os.replace(backup, final)
                self.abort()
                if isinstance(exc, OSError):
                    raise OutputError(f"cannot publish in {self.directory}: "
                                      f"{exc.strerror or exc}") from None
                raise
            for _, backup in aside:
                with contextlib.suppress(OSError):
                    backup.unlink()
        self._staged = []
        return done

    def abort(self) -> None:
        for tmp, _ in self._staged:
            tmp.unlink(missing_ok=True)
        self._staged = []
        self._cleanup_dir()

    def _cleanup_dir(self) -> None:
        self.close()
        for folder in self._created:  # the deepest first; each only if it is left empty
            with contextlib.suppress(OSError):
                folder.rmdir()

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

"""Atomic output: every file is written under a temporary name and renamed into place, so a
run killed at any moment leaves either the complete file or none. And the one rule for input
files (:func:`read_input`): a regular file of a bounded size, never a device, pipe or socket
(reading ``/dev/zero`` never ends; opening a FIFO blocks until someone writes to it).

Temporary files are hidden (``.<stem>.<pid>-<machine><random>.part<suffix>``: the writing
process's id, 4 hex digits naming the machine, 4 random ones) and created with mode ``0666``
as ``open()`` would, so the user's umask decides their mode (no process-wide umask is read
or changed). Whatever writes a file first removes, in that file's folder, the temporaries
that a process killed outright (``kill -9``, power loss) left there: those whose process is
gone (:func:`remove_stale_temporaries`); a live process's are never touched.

And the one rule for where mocap may write (:func:`check_write_dir`): under a folder that
mocap manages (a batch directory), no folder is a symbolic link, so nothing is written or
deleted through a link to elsewhere.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
import socket
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from mocap.errors import InputError, Interrupted, OutputError

#: Each kind of input file mocap reads: how messages name it, and the largest such file
#: mocap reads (bytes; far above any real one).
INPUT_KINDS = {"bvh": ("a BVH file", 1 << 30), "rig": ("a rig file", 64 << 20),
               "image": ("an image", 1 << 30), "video": ("a video file", 1 << 50),
               "calibration": ("a calibration file", 16 << 20),
               "character": ("a character file", 4 << 30)}


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
        size = _check_mode(p, os.fstat(fd), kind)
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        with os.fdopen(fd, "rb", closefd=False) as f:
            # its size and one byte more (read(n) reserves n bytes up front: never the
            # cap); a file that grew meanwhile is read on in 1 MiB pieces up to the cap
            chunks = [f.read(size + 1)]
            got = len(chunks[0])
            while got > size and got <= cap and (chunk := f.read(1 << 20)):
                chunks.append(chunk)
                got += len(chunk)
            data = b"".join(chunks)
    except OSError as exc:
        raise InputError(f"{p}: cannot read ({exc.strerror or exc})") from None
    finally:
        os.close(fd)
    if len(data) > cap:  # it grew while we read
        raise InputError(f"{p}: larger than any {kind} file mocap reads ({cap} bytes)")
    return data


#: Marks the temporary files of a write in progress.
PART = ".part"
# The names temp_path gives: ".<stem>.<pid>-<4 hex: machine><4 hex: random>.part[.<ext>]".
_TEMP = re.compile(r"^\..+\.(?P<pid>[0-9]{1,10})-(?P<host>[0-9a-f]{4})[0-9a-f]{4}\.part"
                   r"(\.[A-Za-z0-9]+)?$")
# The names earlier versions gave (no process id): ".<stem>.<8 chars>.part[.<ext>]".
_STALE = re.compile(r"^\..+\.[A-Za-z0-9_]{8}\.part(\.[A-Za-z0-9]+)?$")
#: A file moved aside while a set is published: ".<name>.<8 hex>.old".
_BACKUP = re.compile(r"^\.(?P<name>.+)\.[0-9a-f]{8}\.old$")
#: A temporary of an earlier version (no process id in its name) found in a folder mocap
#: does not hold the lock of is removed once it is this old (seconds): a live writer
#: touches its file as it writes.
OLD_PATTERN_AGE_S = 3600.0
# a temporary's name keeps at most this much of its final name's stem (bytes), so that the
# whole name stays within the 255 bytes of a file name
_STEM_BYTES = 120


def _machine() -> str:
    """4 hex digits naming this machine (a temporary's process id means something only
    on the machine that wrote it: a shared folder may hold another machine's)."""
    return hashlib.sha256(socket.gethostname().encode("utf-8", "replace")).hexdigest()[:4]


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` of this machine is running (a zombie is not; one of
    another user, which we may not signal, is)."""
    if pid == os.getpid():
        return True
    if pid <= 0:
        return True  # not a process id we can judge: keep its files
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except (OverflowError, ValueError, OSError):
        return False
    try:  # a zombie has exited; it only waits to be reaped
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in ("Z", "X")


def _backup_path(final: Path) -> Path:
    for _ in range(100):
        path = final.with_name(f".{final.name}.{secrets.token_hex(4)}.old")
        if not os.path.lexists(path):
            return path
    raise FileExistsError(f"no free backup name beside {final}")


def _stale(p: Path, locked: bool, now: float) -> bool:
    """Whether ``p`` is a temporary whose writer is gone (see
    :func:`remove_stale_temporaries`)."""
    m = _TEMP.match(p.name)
    if m is not None:
        if m["host"] != _machine():
            return locked  # another machine's: only the directory's lock says it is dead
        return not process_alive(int(m["pid"]))
    if _STALE.match(p.name):  # an earlier version's: no process id to ask
        if locked:
            return True
        with contextlib.suppress(OSError):
            return now - os.lstat(p).st_mtime > OLD_PATTERN_AGE_S
    return False


def remove_stale_temporaries(directory: str | os.PathLike, locked: bool = True) -> list[Path]:
    """Remove the temporary files that runs killed outright left in ``directory``; returns
    what was removed. Only regular files named as :func:`temp_path` names them (or as
    earlier versions did) are candidates, and never a live process's.

    Args:
        directory: the folder to clean.
        locked: the caller holds the directory's lock (:class:`OutputDir`), so no other
            mocap run writes there: earlier versions' temporaries and other machines'
            go too, and a publish killed half way is undone (its backups
            ``.<name>.<8 hex>.old`` are put back). Without the lock, only temporaries of
            this machine's processes that are gone, and earlier versions' once
            :data:`OLD_PATTERN_AGE_S` old.
    """
    removed = []
    now = time.time()
    with contextlib.suppress(OSError):
        for p in Path(directory).iterdir():
            if not (p.is_file() and not p.is_symlink()):
                continue
            if _stale(p, locked, now):
                with contextlib.suppress(OSError):
                    p.unlink()
                    removed.append(p)
            elif locked and (m := _BACKUP.match(p.name)):
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


# folders this process already cleaned before writing a file there (key: the folder's
# device and inode), so that a batch rewriting its manifest lists its folder once
_SWEPT: set[tuple[int, int]] = set()


def sweep_before_writing(directory: str | os.PathLike) -> None:
    """Remove stale temporaries (:func:`remove_stale_temporaries`, without the lock) in
    ``directory`` before a file is written there, once per folder and process."""
    try:
        info = os.stat(directory)
    except OSError:
        return
    key = (info.st_dev, info.st_ino)
    if key not in _SWEPT:
        _SWEPT.add(key)
        remove_stale_temporaries(directory, locked=False)


def temp_path(directory: str | os.PathLike, name: str, suffix: str | None = None) -> Path:
    """Create an empty hidden temporary file in ``directory`` for the final file ``name``,
    named ``.<stem>.<pid>-<machine><random>.part<suffix>`` (this process's id, so that
    whoever finds it after this process is gone knows it is stale).

    Args:
        directory: where the final file will be (renames stay on one file system).
        name: the final file name.
        suffix: the temporary name's ending (default: ``name``'s suffix), since writers such
            as OpenCV or Blender's exporters pick the format from it.

    Raises:
        OSError: the file cannot be created.
    """
    stem, end = Path(name).stem, Path(name).suffix if suffix is None else suffix
    raw = stem.encode("utf-8", "surrogatepass")
    if len(raw) > _STEM_BYTES:
        stem = raw[:_STEM_BYTES].decode("utf-8", "ignore") or "file"
    tag = f"{os.getpid()}-{_machine()}"
    for _ in range(100):
        path = Path(directory) / f".{stem}.{tag}{secrets.token_hex(2)}{PART}{end}"
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
        sweep_before_writing(path.parent)  # what a killed run left beside it
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


def lock_directory(directory: str | os.PathLike, what: str = "mocap run",
                   follow: bool = True) -> int | None:
    """Hold an advisory ``flock`` on ``directory`` itself: a second holder fails at once.
    The kernel drops the lock when the process ends, however it ends, and no lock file is
    left. Returns the descriptor holding it (close it to release), None where there is no
    ``flock`` (Windows).

    Args:
        directory: an existing folder.
        what: who holds it, for the error ("mocap run", "mocap batch").
        follow: False: refuse a ``directory`` that is a symbolic link (the lock is then
            on the very folder that was checked).

    Raises:
        OutputError: another process holds the lock ("DIR is in use by another mocap
            batch (process N); ..."), or ``directory`` is a link and ``follow`` is False.
        OSError: it cannot be opened.
    """
    try:
        import fcntl
    except ImportError:  # no flock (Windows): no lock
        return None
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)
    if not follow:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(directory, flags)
    except OSError as exc:
        if not follow and os.path.islink(directory):
            raise _link_error(Path(directory)) from None
        raise exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        pid = lock_holder(directory)
        holder = f" (process {pid})" if pid else ""
        raise OutputError(f"{directory} is in use by another {what}{holder}; wait for it to "
                          "finish or choose another directory") from None
    return fd


def _link_error(path: Path) -> OutputError:
    return OutputError(f"{path} is a symbolic link; mocap never writes or deletes through a "
                       "link in a folder it manages: remove the link or choose another "
                       "directory")


def check_write_dir(directory: str | os.PathLike,
                    within: str | os.PathLike | None = None) -> None:
    """The one rule for where mocap may write: ``directory`` is a folder or does not exist
    yet, and, when ``within`` (a folder mocap manages, such as a batch directory) is
    given, no path component below ``within`` down to ``directory`` itself is a symbolic
    link (a job folder linked to elsewhere would have mocap write, and replace or delete
    files, outside the batch). ``within`` itself may be a link: the user chose it.

    Raises:
        OutputError: a link below ``within``, or a component that is not a folder.
        ValueError: ``directory`` is not below ``within``.
    """
    directory = Path(directory)
    parts = [directory]
    if within is not None:
        rel = directory.relative_to(within)  # ValueError: not below it
        parts = [Path(within).joinpath(*rel.parts[:i + 1]) for i in range(len(rel.parts))]
    for part in parts:
        try:
            mode = os.lstat(part).st_mode
        except FileNotFoundError:
            return  # it and what is below it will be made by us
        except OSError as exc:
            raise OutputError(f"cannot write to {part}: {exc.strerror or exc}") from None
        if stat.S_ISLNK(mode) and within is not None:
            raise _link_error(part)
        if not stat.S_ISDIR(mode) and not (stat.S_ISLNK(mode) and part.is_dir()):
            raise OutputError(f"{part}: exists and is not a directory")


class OutputDir:
    """Stage files in an output directory and publish them all at once.

    Files are written to hidden temporary names in ``directory``; :meth:`commit` renames
    them into place, :meth:`abort` (or leaving the ``with`` block by an exception) removes
    them, and removes ``directory`` too if this object created it and it is empty.

    Args:
        directory: the output folder (created if missing, with its parents).
        within: a folder mocap manages that holds ``directory`` (a batch directory):
            no folder below it may be a symbolic link (:func:`check_write_dir`).

    Raises:
        OutputError: the directory cannot be created or written, or is in use by another
            run, or is (below ``within``) a link (checked on construction, before any work).
    """

    def __init__(self, directory: str | os.PathLike,
                 within: str | os.PathLike | None = None) -> None:
        self.directory = Path(directory)
        self._lock: int | None = None
        self._staged: list[tuple[Path, Path]] = []
        check_write_dir(self.directory, within)
        # every folder this run creates (``-o new1/new2/out``), removed again if left empty
        self._created = [p for p in (self.directory, *self.directory.parents)
                         if not os.path.lexists(p)]
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._lock = lock_directory(self.directory, follow=within is None)
            # checked again now that it is locked: nothing was swapped for a link meanwhile
            check_write_dir(self.directory, within)
            temp_path(self.directory, "mocap-probe").unlink()
        except OSError as exc:
            self._cleanup_dir()
            raise OutputError(f"cannot write to {self.directory}: "
                              f"{exc.strerror or exc}") from None
        except OutputError:
            self._cleanup_dir()
            raise
        remove_stale_temporaries(self.directory)  # a killed run's, now that we hold the lock

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

"""The `mocap` command line: parse, call the library, print.

Each subcommand lives in ``mocap/commands/<name>.py`` and exposes ``register(subparsers)``,
which adds its parser and sets ``func(args) -> int``. Library code never prints or exits;
a :class:`~mocap.errors.MocapError` becomes one line on stderr and its exit code, and a
traceback is shown only with ``--debug``.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import importlib
import os
import re
import signal
import sys

from mocap import __version__, fileio
from mocap.errors import Interrupted, MocapError

# Subcommand modules, in the order ``mocap --help`` lists them.
COMMAND_MODULES = (
    "mocap.commands.demo",
    "mocap.commands.convert",
    "mocap.commands.batch",
    "mocap.commands.pose",
    "mocap.commands.track",
    "mocap.commands.calibrate",
    "mocap.commands.models",
    "mocap.commands.retarget",
    "mocap.commands.export",
    "mocap.commands.blender",
)


class MocapParser(argparse.ArgumentParser):
    """argparse with "did you mean" for a mistyped subcommand or option value."""

    def error(self, message: str):
        m = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
        if m:
            close = difflib.get_close_matches(m.group(1), re.findall(r"'([^']*)'", m.group(2)),
                                              n=1, cutoff=0.5)
            if close:
                message += f"; did you mean {close[0]!r}?"
        super().error(message)


def _subparser(parser: argparse.ArgumentParser, name: str | None):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) and name in action.choices:
            return action.choices[name]
    return None


def _unknown(parser: argparse.ArgumentParser, command: str | None, extras: list[str]):
    """Report unrecognised arguments with the subcommand's usage and the closest option."""
    sub = _subparser(parser, command) or parser
    options = [o for a in sub._actions for o in a.option_strings]
    bad = next((e for e in extras if e.startswith("-")), None)
    close = difflib.get_close_matches(bad.split("=")[0], options, n=1, cutoff=0.6) \
        if bad else []
    hint = f" (did you mean {close[0]}?)" if close else ""
    sub.error(f"unrecognized arguments: {' '.join(extras)}{hint}")


def build_parser() -> argparse.ArgumentParser:
    parser = MocapParser(
        prog="mocap",
        description="Markerless motion capture: ordinary video in, one animated skeleton "
        "per person out.",
    )
    parser.add_argument("--version", action="version", version=f"mocap {__version__}")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


# Set once the command has finished (or was stopped): later signals are only noted, so none
# can break the printing of the result or an error (a raw traceback once) or the exit.
_finished = False


def _interrupt_on_termination() -> None:
    """Ctrl-C, SIGTERM and SIGHUP (a closed terminal, a job scheduler's stop) all end a run
    the same way, so every exit path removes the run's temporary files and releases its
    directory, and the exit code is 130 (see :class:`Interrupted` for why not the plain
    KeyboardInterrupt). Only the first signal raises; each is noted
    (:func:`mocap.fileio.note_stop`), so a run whose Interrupted was swallowed somewhere
    still publishes nothing and still exits 130."""
    def interrupt(signum, frame):
        global _finished
        first = not fileio.stop_requested()
        fileio.note_stop(signum)
        if first and not _finished:
            _finished = True
            raise Interrupted

    for name in ("SIGINT", "SIGTERM", "SIGHUP"):
        sig = getattr(signal, name, None)
        if sig is not None:
            with contextlib.suppress(ValueError, OSError):  # not the main thread
                signal.signal(sig, interrupt)
    # a stop landing inside a weakref callback or a finalizer is swallowed by Python, which
    # prints it as "Exception ignored in ..." with a traceback: the stop is noted all the
    # same (the run publishes nothing and exits 130), so that print is only noise
    previous = sys.unraisablehook
    if getattr(previous, "mocap_quiet", False):  # installed by an earlier main()
        return

    def unraisable(info) -> None:
        if not isinstance(info.exc_value, Interrupted):
            previous(info)

    unraisable.mocap_quiet = True
    sys.unraisablehook = unraisable


def main(argv: list[str] | None = None) -> int:
    # FFmpeg's and OpenCV's own log lines would break the one-line errors (problems reach
    # the user through exceptions and summaries); child processes inherit this.
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
    os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
    parser = build_parser()
    args, extras = parser.parse_known_args(argv)
    if extras:
        _unknown(parser, getattr(args, "command", None), extras)
    global _finished
    _finished = False
    fileio.clear_stops()
    _interrupt_on_termination()
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        code = _run(args)
    except KeyboardInterrupt:  # a stop while an error was being reported
        code = 130
    _finished = True
    if fileio.stop_requested() and code != 130:
        # the signal came after the work, or its Interrupted was swallowed on the way
        code = 130
    if code == 130:
        with contextlib.suppress(OSError, ValueError):
            print("mocap: interrupted", file=sys.stderr)
    return code


def _run(args: argparse.Namespace) -> int:
    """The command, with each way it can end turned into an exit code and one line."""
    try:
        return int(args.func(args) or 0)
    except MocapError as exc:
        if args.debug:
            raise
        print(f"mocap: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except OSError as exc:  # disk full, permissions, ... met outside a stage's own checks
        if args.debug:
            raise
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"mocap: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 1
    except Exception as exc:
        if args.debug:
            raise
        print(f"mocap: internal error: {type(exc).__name__}: {exc} (run with --debug for "
              "the traceback, and please report it)", file=sys.stderr)
        return 1


def entry() -> None:
    """The ``mocap`` program: :func:`main`, then leave with its exit code and nothing else.

    After the command, signals are only noted (a stop that arrives while the process exits
    still means exit code 130, never the shell's 143), Python's exit handlers run, and the
    process ends without tearing down the interpreter: native libraries' threads (video
    decoding, inference pools) torn down at that point aborted the process now and then
    ("terminate called without an active exception", exit 134) when a run was stopped.
    """
    import atexit

    code = main()
    with contextlib.suppress(Exception):
        atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    if fileio.stop_requested() and code != 130:
        with contextlib.suppress(Exception):
            print("mocap: interrupted", file=sys.stderr, flush=True)
        code = 130
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    entry()

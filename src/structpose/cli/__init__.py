"""The ``structpose`` command.

Every module in this package that defines ``register(subparsers)`` adds its subcommands; a
subcommand sets ``func`` (called with the parsed args, returns an exit status).  Errors that are the
user's (:class:`StructposeError`) print as one line and exit with status 2.
"""
from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from typing import NoReturn

from .. import __version__
from ..errors import StructposeError


class _Parser(argparse.ArgumentParser):
    """argparse, with its usage errors (an unknown option, a value of the wrong type) on one line like every other
    input error: ``structpose video: error: ... (see structpose video --help)``, exit status 2.  Subcommand parsers
    are built from this class too (``add_subparsers`` uses the parent parser's type)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="structpose",
        description="3D human pose from structure and motion: video, photos or 2D keypoints -> 3D skeletons.")
    parser.add_argument("--version", action="version", version=f"structpose {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for mod in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if mod.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{mod.name}")
        if hasattr(module, "register"):
            module.register(sub)
    return parser


def _on_sigterm(signum: int, frame: object) -> None:
    """SIGTERM (``kill``): remove the temporary files of unfinished outputs, say so, exit 143.  Done here,
    not by raising into the main thread: the signal can land inside native code (MediaPipe, OpenCV)
    that would swallow an exception and carry on."""
    import os

    from ..io.atomic import remove_temporaries
    remove_temporaries()
    try:
        sys.stderr.write("terminated\n")
        sys.stderr.flush()
    finally:
        os._exit(143)


def main(argv: list[str] | None = None) -> int:
    import signal
    import threading

    from .._native import quiet_native_logs
    quiet_native_logs()
    if threading.current_thread() is threading.main_thread() and \
            signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
        signal.signal(signal.SIGTERM, _on_sigterm)
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    # "structpose data convert", like argparse's own messages, not just the group's name
    name = " ".join(filter(None, [args.command, getattr(args, f"{args.command}_command", None)]))
    try:
        return int(args.func(args) or 0)
    except StructposeError as e:
        print(f"structpose {name}: error: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:               # `structpose ... | head`: the reader left, not an error
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except OSError as e:
        if e.filename is None:            # not about a path the user gave: a real bug, keep the traceback
            raise
        # an output folder that cannot be created (read-only, no permission, disk full): the user's path
        print(f"structpose {name}: error: {e.filename}: {e.strerror or e}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

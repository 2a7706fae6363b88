"""The ``torus-hw`` console script: one parser, one subcommand per job.

Each subcommand lives in a module of :mod:`torus_hw.commands` with a
``register(subparsers)`` function; those modules import their heavy
dependencies (torch, isa, sim, rtl) only when the command runs, so ``--help``
is quick and ``torus_hw`` never imports the lower layers at module level.

Exit status: 0 success, 1 a backend disagreed with the reference,
2 bad input (one line on stderr, never a traceback).
"""

from __future__ import annotations

import argparse
import importlib
import sys

from . import __version__
from .errors import TorusInputError
from .messages import one_line, os_reason
from .output import Terminated, handle_termination, restore_handlers

# Order is the order of ``torus-hw --help``: the pipeline, left to right.
COMMAND_MODULES = [
    "torus_hw.commands.model",
    "torus_hw.commands.search",
    "torus_hw.commands.kernels",
    "torus_hw.commands.cost",
    "torus_hw.commands.bench",
    "torus_hw.commands.hardware",
    "torus_hw.commands.demo",
]

EXIT_MISMATCH = 1
EXIT_BAD_INPUT = 2


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors are one line and exit 2."""

    def error(self, message: str):  # noqa: D401 - argparse API
        raise TorusInputError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="torus-hw",
        description=(
            "Torus embeddings on real hardware: train a torusN model, quantise it to n-bit "
            "flat-torus codes, generate search kernels for the 8086, RISC-V and ARM cores and an "
            "Amaranth RTL unit, run them, and check every answer against the NumPy reference."
        ),
        epilog="Exit status: 0 ok, 1 a backend disagreed with the reference, 2 bad input.",
    )
    parser.add_argument("--version", action="version", version=f"torus-hw {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    previous = handle_termination()  # SIGTERM/SIGHUP unwind like Ctrl-C, so no temporary outlives the run
    try:
        return _run(argv)
    finally:
        restore_handlers(previous)


def _run(argv: list[str] | None) -> int:
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if not getattr(args, "func", None):
            parser.print_usage(sys.stderr)
            raise TorusInputError("no command given; run torus-hw --help for the list")
        return int(args.func(args) or 0)
    except TorusInputError as exc:
        print(f"torus-hw: error: {one_line(str(exc))}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as exc:
        where = f": {exc.filename}" if getattr(exc, "filename", None) else ""
        print(f"torus-hw: error: {one_line(os_reason(exc) + where)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("torus-hw: interrupted", file=sys.stderr)
        return 130
    except Terminated as exc:
        print(f"torus-hw: terminated by signal {exc.signum}", file=sys.stderr)
        return 128 + exc.signum


if __name__ == "__main__":
    sys.exit(main())

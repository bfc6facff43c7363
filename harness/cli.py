"""The `hil` command.

Each module in `harness/commands/` registers its subcommands with `@command`; this module
finds them, parses the arguments and turns harness errors into one-line messages.

Exit status: 0 success, 1 a check failed (the device differs from the reference), 2 the run could
not be made (unknown board, no board attached, a board that does not answer, bad input).
"""
from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from . import __version__, commands
from .commands import COMMANDS, error_text
from .errors import HarnessError


def _load_command_modules() -> None:
    for module in pkgutil.iter_modules(commands.__path__):
        importlib.import_module(f"{commands.__name__}.{module.name}")


def build_parser() -> argparse.ArgumentParser:
    _load_command_modules()
    parser = argparse.ArgumentParser(prog="hil", description="Hardware-in-the-loop tests for ML on microcontrollers.")
    parser.add_argument("--version", action="version", version=f"hil {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (function, arguments, help_text) in COMMANDS.items():
        command_parser = sub.add_parser(name, help=help_text, description=help_text)
        arguments(command_parser)
        command_parser.set_defaults(function=function)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.function(args)
    except HarnessError as exc:
        print(error_text(str(exc), exc.exit_status, type(exc).__name__, getattr(args, "json", False)),
              file=sys.stderr)
        return exc.exit_status
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

"""The `hil` command.

Each module in `harness/commands/` registers its subcommands with `@command`; this module
finds them, parses the arguments and turns harness errors into one-line messages.

Exit status: 0 success, 1 a check failed (the device differs from the reference), 2 the run could
not be made (unknown board, no board attached, a board that does not answer, bad input),
3 a bug in the harness (an unexpected exception: one line names the log file holding its
traceback), 128+N stopped by signal N (130 Ctrl-C, 143 SIGTERM, 129 SIGHUP, 141 a closed output
pipe; QEMU and the reference workers are stopped first).
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import os
import pkgutil
import sys
import tempfile
import traceback
from pathlib import Path
from typing import Any, NoReturn

from . import __version__, commands
from .commands import COMMANDS, error_text
from .errors import HarnessError
from .shutdown import Terminated, stop_on_signals

BUG_EXIT_STATUS = 3


def _load_command_modules() -> None:
    for module in pkgutil.iter_modules(commands.__path__):
        importlib.import_module(f"{commands.__name__}.{module.name}")


class _Parser(argparse.ArgumentParser):
    """argparse's parser, whose usage errors under --json are the one JSON line every other error is."""

    def __init__(self, *args: Any, json_errors: bool = False, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.json_errors = json_errors

    def error(self, message: str) -> NoReturn:
        if self.json_errors:
            print(error_text(f"{self.prog}: {message}", 2, "UsageError", True), file=sys.stderr)
            sys.exit(2)
        super().error(message)


def build_parser(json_errors: bool = False) -> argparse.ArgumentParser:
    _load_command_modules()
    parser = _Parser(
        prog="hil", description="Hardware-in-the-loop tests for ML on microcontrollers.", json_errors=json_errors
    )
    parser.add_argument("--version", action="version", version=f"hil {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (function, arguments, help_text) in COMMANDS.items():
        command_parser = sub.add_parser(name, help=help_text, description=help_text, json_errors=json_errors)
        arguments(command_parser)
        command_parser.set_defaults(function=function)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser(json_errors="--json" in (sys.argv[1:] if argv is None else argv)).parse_args(argv)
    with stop_on_signals():
        try:
            return args.function(args)
        except HarnessError as exc:
            print(
                error_text(str(exc), exc.exit_status, type(exc).__name__, getattr(args, "json", False)), file=sys.stderr
            )
            return exc.exit_status
        except Terminated as exc:
            print(str(exc), file=sys.stderr)
            return exc.exit_status
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            return 130
        except BrokenPipeError:  # the reader went away (`hil boards | head -1`): not a bug
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 128 + 13  # as if killed by SIGPIPE
        except Exception as exc:  # a bug: say so in one line, keep the traceback in a file
            message = f"{type(exc).__name__}: {exc} (a bug in hil; traceback in {write_crash_log(argv)})"
            as_json = getattr(args, "json", False)
            print(
                error_text(message, BUG_EXIT_STATUS, "InternalError", True)
                if as_json
                else f"internal error: {message}",
                file=sys.stderr,
            )
            return BUG_EXIT_STATUS


def crash_log_dir() -> Path:
    """$XDG_CACHE_HOME/hil/crash (~/.cache/hil/crash), or the temp dir if that is not writable."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    for directory in (cache / "hil" / "crash", Path(tempfile.gettempdir()) / f"hil-crash-{os.getuid()}"):
        try:
            directory.mkdir(parents=True, exist_ok=True)
            if os.access(directory, os.W_OK):
                return directory
        except OSError:
            continue
    return Path(tempfile.gettempdir())


def write_crash_log(argv: list[str] | None) -> Path:
    """Writes the current exception's traceback, with the command line, to a new log file."""
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    fd, name = tempfile.mkstemp(prefix=f"hil-{stamp}-", suffix=".log", dir=crash_log_dir())
    command = " ".join(sys.argv[:1] + (sys.argv[1:] if argv is None else list(argv)))
    with os.fdopen(fd, "w") as log:
        log.write(f"hil {__version__}: {command}\n\n{traceback.format_exc()}")
    return Path(name)


if __name__ == "__main__":
    sys.exit(main())

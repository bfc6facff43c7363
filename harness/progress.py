"""Progress for long work, on stderr: step lines ("... building firmware", "done in 3.1 s") and,
on a terminal, bars with counts, rate and an estimate of the time left (tqdm) for builds,
uploads, inferences, per-layer reads, training steps and bench cases.

Bars are drawn only when the stream is a terminal (a log file gets no carriage-return noise);
`Progress.quiet()` (what `--json` uses) prints nothing at all, so stdout's JSON and stderr's one
error line are all a caller sees.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator
from typing import Any, TextIO


def _is_terminal(stream: TextIO | None) -> bool:
    try:
        return bool(stream is not None and stream.isatty())
    except (AttributeError, ValueError):
        return False


class Bar:
    """One bar; a no-op when bars are off. `update(n)` adds n done items."""

    def __init__(self, bar: Any | None = None):
        self._bar = bar

    def update(self, done: int = 1) -> None:
        if self._bar is not None:
            self._bar.update(done)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


class Progress:
    refresh_s = 0.5  # shortest time between two redraws of a bar

    def __init__(self, stream: TextIO | None = sys.stderr, bars: bool | None = None):
        self.stream = stream
        self.bars = _is_terminal(stream) if bars is None else bars and stream is not None

    @classmethod
    def quiet(cls) -> Progress:
        return cls(None)

    @classmethod
    def for_command(cls, json_output: bool) -> Progress:
        """What a `hil` command reports on: nothing with --json, else stderr."""
        return cls.quiet() if json_output else cls()

    def say(self, message: str) -> None:
        if self.stream and self.bars:
            from tqdm import tqdm  # noqa: PLC0415

            tqdm.write(message, file=self.stream)  # above any bar being drawn
        elif self.stream:
            print(message, file=self.stream, flush=True)

    @contextlib.contextmanager
    def step(self, message: str) -> Iterator[None]:
        self.say(f"... {message}")
        start = time.monotonic()
        yield
        self.say(f"    done in {time.monotonic() - start:.1f} s")

    @contextlib.contextmanager
    def bar(self, total: int | None, what: str, unit: str = "it") -> Iterator[Bar]:
        """A bar of `total` items (None: counts and rate, no estimate), closed on exit."""
        if not self.bars:
            yield Bar()
            return
        from tqdm import tqdm  # noqa: PLC0415 (only on a terminal)

        bar = Bar(
            tqdm(
                total=total,
                desc=f"    {what}",
                unit=unit,
                file=self.stream,
                leave=False,
                dynamic_ncols=True,
                unit_scale=unit == "B",
                mininterval=self.refresh_s,
            )
        )
        try:
            yield bar
        finally:
            bar.close()

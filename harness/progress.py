"""Progress lines for long steps (building, booting, streaming), on stderr."""
from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator
from typing import TextIO


class Progress:
    def __init__(self, stream: TextIO | None = sys.stderr):
        self.stream = stream

    @classmethod
    def quiet(cls) -> Progress:
        return cls(None)

    def say(self, message: str) -> None:
        if self.stream:
            print(message, file=self.stream, flush=True)

    @contextlib.contextmanager
    def step(self, message: str) -> Iterator[None]:
        self.say(f"... {message}")
        start = time.monotonic()
        yield
        self.say(f"    done in {time.monotonic() - start:.1f} s")

    def count(self, done: int, total: int, what: str) -> None:
        """One line per tenth of the way (and at the end), so logs stay short."""
        if total and (done == total or done % max(1, total // 10) == 0):
            self.say(f"    {what}: {done}/{total}")

"""The MLPerf Tiny benchmark API's text protocol, host side (mlcommons/tiny benchmark/api and
runner; docs/mlperf_tiny.md).

Commands are ASCII words ended by '%' (`name%`, `profile%`, `db load 490%`, `db 0a1b..%`,
`infer 1 0%`, `results%`); the firmware answers with lines ended by CR LF and closes every reply
with `m-ready`. Lines starting `e-[` are the firmware's errors. Behind an EEMBC interface board
the reply is `m-dut-passthrough(CMD)`, the board's own `m-ready`, then the DUT's lines prefixed
`[dut]: ` up to `[dut]: m-ready`; this module strips that wrapping.

Everything the firmware sends is checked here: a reply that is missing a line, has one twice,
carries a non-number or never ends raises MalformedReply, one line naming the command and the
problem (exit 2).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Protocol

from ..errors import HarnessError, TransportClosed

READY = "m-ready"
PASSTHROUGH = "m-dut-passthrough("
DUT_PREFIX = "[dut]: "
MAX_LINE = 64 * 1024  # longer than any results line of a real model: a firmware that never ends a line
SHOWN = 60  # characters of an offending line quoted in an error

_NAME = re.compile(r"^m-name-(.+?)-\[(.*)\]$")
_BRACKETED = re.compile(r"^m-(profile|model)-\[(.*)\]$")
_RESULTS = re.compile(r"^m-results-\[(.*)\]$")
_LAP = re.compile(r"^m-lap-us-(\d+)$")
_EXPECTING = re.compile(r"^m-\[Expecting (\d+) bytes\]$")
_NOT_TEXT = re.compile(rb"[^\t\r\n\x20-\x7e]")  # printable ASCII lines only
# A number as printf prints one: its exponent of at most three digits, at most MAX_NUMBER characters
# (a float32 printed "%f" has at most 46).
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d{1,3})?$")
MAX_NUMBER = 64


class MalformedReply(HarnessError):
    """The firmware's reply does not follow the protocol (exit 2)."""


class FirmwareRefused(HarnessError):
    """The firmware answered a well-formed command with an e-[...] line (exit 2)."""


class Transport(Protocol):
    def write(self, data: bytes) -> None: ...
    def read(self, timeout: float) -> bytes: ...


def _quote(line: str) -> str:
    return ascii(line if len(line) <= SHOWN else line[:SHOWN] + "...")  # bytes past ASCII shown as escapes


@dataclass
class Reply:
    command: str  # as sent, without the '%'
    lines: list[str]  # before m-ready, the interface board's wrapping removed

    def errors(self) -> list[str]:
        return [line for line in self.lines if line.startswith("e-")]

    def matching(self, pattern: re.Pattern) -> list[re.Match]:
        return [m for m in map(pattern.match, self.lines) if m]

    def one(self, pattern: re.Pattern, what: str) -> re.Match:
        """The one line matching `pattern`; MalformedReply when there is none or more."""
        found = self.matching(pattern)
        if len(found) != 1:
            have = "no" if not found else f"{len(found)}"
            raise MalformedReply(
                f"reply to '{self.command}%': {have} {what} line{'s' if found else ''} "
                f"(got {len(self.lines)} lines: {_quote(' | '.join(self.lines))})"
            )
        return found[0]

    def refuse_errors(self) -> None:
        if self.errors():
            raise FirmwareRefused(f"the firmware answered '{self.command}%' with {_quote(self.errors()[0])}")


class LineReader:
    """Lines from the firmware's UART, CR LF (or LF) ended, decoded as ASCII."""

    def __init__(self, transport: Transport, on_closed=lambda: ""):
        self.transport, self._on_closed = transport, on_closed
        self._buffer = b""

    def line(self, deadline: float, waiting_for: str, heard: bool = False) -> str:
        """The next line; `heard`: lines of this reply came already (a timeout then means the
        firmware kept talking but never ended its reply with m-ready)."""
        if time.monotonic() > deadline:  # also when lines keep coming but never the reply's end
            raise MalformedReply(f"{waiting_for}: no m-ready within the timeout" + self._on_closed())
        while b"\n" not in self._buffer:
            self._refuse_binary(waiting_for)  # at once: a binary protocol would only time out
            if len(self._buffer) > MAX_LINE:
                raise MalformedReply(f"{waiting_for}: the firmware sent {len(self._buffer)} bytes without a line end")
            left = deadline - time.monotonic()
            if left <= 0:
                tail = self._buffer.decode("ascii", "replace")
                missing = "m-ready" if heard and not tail else "reply"
                raise MalformedReply(
                    f"{waiting_for}: no {missing} within the timeout"
                    + (f" (partial line {_quote(tail)})" if tail else "")
                    + self._on_closed()
                )
            try:
                self._buffer += self.transport.read(min(left, 0.5))
            except TransportClosed as exc:  # an emulator that exited: say how
                raise TransportClosed(f"{waiting_for}: {exc}{self._on_closed()}") from None
        self._refuse_binary(waiting_for)
        raw, _, self._buffer = self._buffer.partition(b"\n")
        return raw.rstrip(b"\r").decode("ascii")

    def _refuse_binary(self, waiting_for: str) -> None:
        found = _NOT_TEXT.search(self._buffer)
        if found:
            line = self._buffer[self._buffer.rfind(b"\n", 0, found.start()) + 1 :].split(b"\n")[0]
            raise MalformedReply(
                f"{waiting_for}: the firmware sent a line that is not text: "
                f"{_quote(line.decode('latin-1'))} (is it an MLPerf Tiny firmware?)"
            )

    def discard_pending(self) -> None:
        self._buffer = b""
        while self.transport.read(0.05):
            pass


class MlperfLink:
    """Sends commands and collects replies up to m-ready, each within `timeout` seconds."""

    def __init__(self, transport: Transport, timeout: float = 5.0, on_closed=lambda: ""):
        self.reader = LineReader(transport, on_closed)
        self.transport, self.timeout = transport, timeout

    def wait_ready(self, timeout: float) -> list[str]:
        """The boot banner (m-init-done ...), up to the first m-ready."""
        return self._collect("the firmware's boot (m-ready)", time.monotonic() + timeout)

    def command(self, text: str, timeout: float | None = None) -> Reply:
        self.transport.write(text.encode("ascii") + b"%")
        deadline = time.monotonic() + (timeout if timeout is not None else self.timeout)
        return Reply(text, self._collect(f"reply to '{text}%'", deadline))

    def _collect(self, waiting_for: str, deadline: float) -> list[str]:
        lines: list[str] = []
        behind_interface = heard = False
        while True:
            line = self.reader.line(deadline, waiting_for, heard).strip()
            heard = True
            if line.startswith(PASSTHROUGH):
                behind_interface = True  # the interface board's own m-ready follows: not the end
                continue
            if behind_interface:
                if not line.startswith(DUT_PREFIX):
                    continue  # the interface board's m-ready and messages
                line = line[len(DUT_PREFIX) :].strip()
            if line == READY:
                return lines
            if line:
                lines.append(line)


# -- the replies of each command ---------------------------------------------------------------


def parse_name(reply: Reply) -> str:
    reply.refuse_errors()
    return reply.one(_NAME, "m-name-...-[...]").group(2)


def parse_profile(reply: Reply) -> tuple[str, str]:
    """(profile, model) from m-profile-[...] and m-model-[...]."""
    reply.refuse_errors()
    found = {m.group(1): m.group(2) for m in reply.matching(_BRACKETED)}
    for field in ("profile", "model"):
        if field not in found:
            raise MalformedReply(
                f"reply to '{reply.command}%': no m-{field}-[...] line (got {_quote(' | '.join(reply.lines))})"
            )
    return found["profile"], found["model"]


def check_load_started(reply: Reply, size: int) -> None:
    reply.refuse_errors()
    expecting = int(reply.one(_EXPECTING, "m-[Expecting N bytes]").group(1))
    if expecting != size:
        raise MalformedReply(f"reply to '{reply.command}%': the firmware expects {expecting} bytes, not {size}")


def check_load_done(reply: Reply, last: bool) -> None:
    """Every db chunk is accepted; the last one's reply has m-load-done, the others' none."""
    reply.refuse_errors()
    done = "m-load-done" in reply.lines
    if done != last:
        where = "the last chunk has no" if last else "a chunk before the last has an"
        raise MalformedReply(f"reply to '{reply.command[:20]}...%': {where} m-load-done line")


def parse_results(reply: Reply) -> list[str]:
    """The values of the one m-results-[...] line, as printed (each checked to be a number)."""
    body = reply.one(_RESULTS, "m-results-[...]").group(1)
    tokens = [token.strip() for token in body.split(",")]
    if tokens == [""]:
        raise MalformedReply(f"reply to '{reply.command}%': m-results-[] holds no values")
    for position, token in enumerate(tokens):
        number = len(token) <= MAX_NUMBER and _NUMBER.match(token)
        if not number and token.lower() not in ("nan", "-nan", "inf", "-inf"):
            raise MalformedReply(
                f"reply to '{reply.command}%': m-results value {position} {_quote(token)} is not a number"
            )
    return tokens


@dataclass(frozen=True)
class InferReply:
    values: list[str]  # m-results, as printed
    elapsed_us: int  # between the two m-lap-us timestamps around the timed loop
    iterations: int

    @property
    def per_inference_us(self) -> float:
        return self.elapsed_us / self.iterations


def parse_infer(reply: Reply, iterations: int) -> InferReply:
    """`infer N W`: m-infer-start-N, two m-lap-us timestamps, m-infer-done, then m-results."""
    reply.refuse_errors()
    starts = [line for line in reply.lines if line.startswith("m-infer-start-")]
    if starts != [f"m-infer-start-{iterations}"]:
        raise MalformedReply(
            f"reply to '{reply.command}%': want one m-infer-start-{iterations} line, "
            f"got {_quote(' | '.join(starts) or 'none')}"
        )
    if "m-infer-done" not in reply.lines:
        raise MalformedReply(f"reply to '{reply.command}%': no m-infer-done line")
    laps = [int(m.group(1)) for m in reply.matching(_LAP)]
    if len(laps) != 2:
        raise MalformedReply(
            f"reply to '{reply.command}%': {len(laps)} m-lap-us-N lines, want 2 (before and after the timed loop)"
        )
    if laps[1] < laps[0]:
        raise MalformedReply(f"reply to '{reply.command}%': m-lap-us went back from {laps[0]} to {laps[1]}")
    return InferReply(parse_results(reply), laps[1] - laps[0], iterations)

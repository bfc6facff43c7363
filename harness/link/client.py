"""The host side of the link: requests, replies, chunking, timeouts and device events.

Every request gets its own sequence number; the reply echoes it. A request longer than the
device's frame payload goes out in frames flagged MORE, each acknowledged by the device before
the next is sent, so a UART without flow control never overruns. Unsolicited frames (READY,
FAULT, LOG) and error replies become events or exceptions with the board named.

A request marked `idempotent: true` in the message definitions (protocol.yaml, messages/*.yaml)
is sent again, up to ATTEMPTS times in all, when its reply is lost or damaged: no reply in time,
the device's TRUNCATED or BAD_CRC error, or a reply the caller's `check` refuses (a multi-frame
reply that lost a frame to the host's stalled-frame drop on a loaded machine). Any other request
is sent exactly once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..errors import DeviceError, DeviceFault, DeviceTimeout, LinkError, TransportClosed
from . import protocol
from .framing import Frame, FrameParser, encode
from .protocol import FLAG_MORE, MessageType

DEFAULT_TIMEOUT_S = 5.0
# The host gives up on a half-received frame only after this long without a byte. Far longer
# than the device's inter-byte timeout: a busy host may not run QEMU for a while, and a damaged
# frame is found by its CRC anyway.
STALLED_FRAME_S = 2.0
HOST_MAX_PAYLOAD = 4096  # bounds what a garbage length can make the parser wait for
ATTEMPTS = 3  # sends of an idempotent request before its failure is reported
IDEMPOTENT = frozenset(name for name, msg in protocol.SPEC["messages"].items() if msg.get("idempotent"))
_LOST_REPLY_ERRORS = ("TRUNCATED", "BAD_CRC")  # the device saw our request damaged: send again


class Transport(Protocol):
    def write(self, data: bytes) -> None: ...
    def read(self, timeout: float) -> bytes: ...
    def close(self) -> None: ...


@dataclass
class LinkCounters:
    bytes_sent: int = 0
    bytes_received: int = 0
    payload_sent: int = 0
    payload_received: int = 0


@dataclass
class Link:
    transport: Transport
    board: str
    timeout: float = DEFAULT_TIMEOUT_S
    max_payload: int = 256  # the device's figures replace these after the handshake
    max_message: int = 256
    on_closed: Callable[[], str] | None = None  # explains a closed connection (e.g. QEMU's exit)
    counters: LinkCounters = field(default_factory=LinkCounters)
    log: list[str] = field(default_factory=list)
    events: list[Frame] = field(default_factory=list)
    _parser: FrameParser = field(default_factory=lambda: FrameParser(max_payload=HOST_MAX_PAYLOAD))
    _received: list[Frame] = field(default_factory=list)
    _seq: int = 0
    _last_byte_at: float = 0.0

    # -- sending -------------------------------------------------------------------------------

    def _next_seq(self) -> int:
        self._seq = self._seq % 0xFFFF + 1  # 0 is for unsolicited frames
        return self._seq

    def send_raw(self, data: bytes) -> None:
        """Bytes straight onto the wire (tests of the device's resynchronisation)."""
        try:
            self.transport.write(data)
        except TransportClosed as exc:
            raise self._lost(exc) from None
        self.counters.bytes_sent += len(data)

    def _lost(self, cause: Exception) -> LinkError:
        reason = self.on_closed() if self.on_closed else ""
        return TransportClosed(f"link to board {self.board} lost: {cause}{reason}")

    def _send_frame(self, frame: Frame) -> None:
        self.send_raw(encode(frame))
        self.counters.payload_sent += len(frame.payload)

    # -- receiving -----------------------------------------------------------------------------

    def _read_frame(self, deadline: float) -> Frame | None:
        """The next frame, or None at the deadline. Drops a frame that stops arriving."""
        while not self._received:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            try:
                data = self.transport.read(min(remaining, STALLED_FRAME_S))
            except TransportClosed as exc:
                raise self._lost(exc) from None
            now = time.monotonic()
            if data:
                self._last_byte_at = now
                self.counters.bytes_received += len(data)
                self._received += self._parser.feed(data)
            elif self._parser.pending and now - self._last_byte_at >= STALLED_FRAME_S:
                self._received += self._parser.drop_partial()  # a frame that will not be finished
        frame = self._received.pop(0)
        self.counters.payload_received += len(frame.payload)
        return frame

    def _handle_unsolicited(self, frame: Frame) -> None:
        if frame.type == MessageType["FAULT"]:
            registers = protocol.PAYLOADS["FAULT"].unpack(frame.payload)
            raise DeviceFault(describe_fault(self.board, registers), registers)
        if frame.type == MessageType["LOG"]:
            self.log.append(protocol.PAYLOADS["LOG"].unpack(frame.payload)["text"])
        self.events.append(frame)

    def _await(self, seq: int, wanted: int, what: str, timeout: float) -> bytes:
        """Collects the (possibly multi-frame) message `wanted` with sequence `seq`."""
        deadline = time.monotonic() + timeout
        payload = bytearray()
        while True:
            frame = self._read_frame(deadline)
            if frame is None:
                raise DeviceTimeout(f"board {self.board} did not answer {what} within {timeout:.1f} s")
            if frame.seq != seq or frame.type not in (wanted, MessageType["ERROR"]):
                self._handle_unsolicited(frame)
                continue
            if frame.type == MessageType["ERROR"]:
                error = protocol.PAYLOADS["ERROR"].unpack(frame.payload)
                code = error["code"]
                name = protocol.ErrorCode(code).name if code in protocol.ErrorCode._value2member_map_ else "?"
                raise DeviceError(code, name, f"{error['message']} (board {self.board}, {what})")
            payload += frame.payload
            if not frame.flags & FLAG_MORE:
                return bytes(payload)

    def wait_for(self, message: int, timeout: float) -> Frame:
        """Waits for an unsolicited frame of type `message` (e.g. READY after boot or reset)."""
        deadline = time.monotonic() + timeout
        while True:
            frame = self._read_frame(deadline)
            if frame is None:
                name = _message_name(message)
                raise DeviceTimeout(f"board {self.board} sent no {name} frame within {timeout:.1f} s")
            if frame.type == message:
                return frame
            self._handle_unsolicited(frame)

    # -- requests ------------------------------------------------------------------------------

    def request(self, message: int, payload: bytes = b"", timeout: float | None = None) -> bytes:
        """Sends a request and returns its reply's payload."""
        timeout = self.timeout if timeout is None else timeout
        seq = self._next_seq()
        what = f"{_message_name(message)} (seq {seq})"
        if len(payload) > self.max_message:
            raise LinkError(
                f"{what}: a request of {len(payload)} bytes is larger than board {self.board} "
                f"accepts ({self.max_message} bytes)"
            )
        chunks = [payload[i : i + self.max_payload] for i in range(0, len(payload), self.max_payload)]
        for chunk in chunks[:-1]:
            self._send_frame(Frame(message, seq, chunk, FLAG_MORE))
            self._await(seq, MessageType["ACK"], what, timeout)
        self._send_frame(Frame(message, seq, chunks[-1] if chunks else b""))
        return self._await(seq, protocol.reply_type(message), what, timeout)

    def call(
        self,
        name: str,
        timeout: float | None = None,
        check: Callable[[dict[str, Any]], str | None] | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        """A request by name, its fields packed and its reply unpacked per protocol.yaml.
        `check(reply)` returns why a reply is unusable (None: fine); an idempotent request is
        sent again after a lost or unusable reply (see the module's docstring)."""
        payload = protocol.REQUESTS[name].pack(**fields)
        attempts = ATTEMPTS if name in IDEMPOTENT else 1
        for attempt in range(1, attempts + 1):
            try:
                return self._call_once(name, payload, timeout, check)
            except DeviceTimeout:
                if attempt == attempts:
                    raise
            except DeviceError as exc:
                if exc.code_name not in _LOST_REPLY_ERRORS or attempt == attempts:
                    raise
            except UnusableReply as exc:
                if attempt == attempts:
                    raise LinkError(
                        f"board {self.board}: {name} replies kept arriving unusable ({attempts} attempts): {exc}"
                    ) from None
        raise AssertionError("unreachable")

    def _call_once(
        self, name: str, payload: bytes, timeout: float | None, check: Callable[[dict[str, Any]], str | None] | None
    ) -> dict[str, Any]:
        reply = self.request(MessageType[name], payload, timeout)
        try:
            fields = protocol.REPLIES[name].unpack(reply)
        except ValueError as exc:
            raise LinkError(f"board {self.board} sent a malformed {name} reply: {exc}") from None
        problem = check(fields) if check else None
        if problem:
            raise UnusableReply(problem)
        return fields

    def await_reply(self, request: int, seq: int, timeout: float | None = None) -> bytes:
        """The reply to a request sent by hand (send_raw), or the device's ERROR for it."""
        timeout = self.timeout if timeout is None else timeout
        what = f"{_message_name(request)} (seq {seq})"
        return self._await(seq, protocol.reply_type(request), what, timeout)

    def send_request_no_reply(self, message: int, payload: bytes = b"") -> None:
        """Sends a request whose reply is not awaited (self-tests that stop the firmware)."""
        self._send_frame(Frame(message, self._next_seq(), payload))


class UnusableReply(LinkError):
    """A well-formed reply that the caller's check refused (e.g. shorter than asked for)."""


def _message_name(message: int) -> str:
    try:
        return MessageType(message).name
    except ValueError:
        return f"message 0x{message:02x}"


_CFSR_BITS = {
    0: "IACCVIOL",
    1: "DACCVIOL",
    3: "MUNSTKERR",
    4: "MSTKERR",
    7: "MMARVALID",
    8: "IBUSERR",
    9: "PRECISERR",
    10: "IMPRECISERR",
    11: "UNSTKERR",
    12: "STKERR",
    15: "BFARVALID",
    16: "UNDEFINSTR",
    17: "INVSTATE",
    18: "INVPC",
    19: "NOCP",
    24: "UNALIGNED",
    25: "DIVBYZERO",
}


def describe_fault(board: str, registers: dict[str, int]) -> str:
    cfsr = registers["cfsr"]
    causes = [name for bit, name in _CFSR_BITS.items() if cfsr & (1 << bit)] or ["unknown cause"]
    return (
        f"board {board} took a hard fault ({', '.join(causes)}) at pc=0x{registers['pc']:08x}, "
        f"lr=0x{registers['lr']:08x}; CFSR=0x{cfsr:08x} HFSR=0x{registers['hfsr']:08x} "
        f"MMFAR=0x{registers['mmfar']:08x} BFAR=0x{registers['bfar']:08x}"
    )

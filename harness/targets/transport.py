"""A byte stream to a board's UART, through pyserial.

One class serves every target: a local port (`/dev/ttyACM0`), and pyserial URLs such as
`socket://127.0.0.1:4000` (QEMU's UART, a ser2net export) or `rfc2217://host:port`
(a board attached to another machine).
"""

from __future__ import annotations

import socket

import serial
from serial.urlhandler import protocol_socket

from ..errors import TargetError, TransportClosed

SOCKET_SCHEME = "socket://"


class _SocketPort(protocol_socket.Serial):
    """pyserial's socket:// port without the 0.3 s its close() sleeps "in case of quick
    reconnects": that sleep was all of the time a QEMU Dut took to close, and an emulator's UART
    that is closed is not reconnected at once (QemuTarget's relaunch retries until it answers)."""

    _socket: socket.socket | None

    def close(self) -> None:
        if self.is_open and self._socket:
            try:
                self._socket.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # the other side has gone already
            self._socket.close()
            self._socket = None
        self.is_open = False


class SerialTransport:
    def __init__(self, url: str, baud: int = 115200):
        self.url = url
        self._port: serial.Serial | _SocketPort
        try:
            if url.startswith(SOCKET_SCHEME):
                self._port = _SocketPort(None, baudrate=baud, timeout=0)
                self._port.port = url
            else:
                self._port = serial.serial_for_url(url, baudrate=baud, timeout=0, do_not_open=True)
            self._port.open()
        except (serial.SerialException, ValueError, OSError) as exc:
            raise TargetError(f"cannot open {url}: {exc}") from None
        self._no_delay()
        self.bytes_written = 0
        self.bytes_read = 0

    def write(self, data: bytes) -> None:
        try:
            self._port.write(data)
        except (serial.SerialException, OSError) as exc:
            raise TransportClosed(f"writing to {self.url} failed: {exc}") from None
        self.bytes_written += len(data)

    def read(self, timeout: float) -> bytes:
        """Whatever arrives within `timeout` seconds (returns early once bytes are there)."""
        try:
            self._port.timeout = timeout
            data = self._port.read(1)
            if data:
                self._port.timeout = 0
                data += self._port.read(65536)
        except (serial.SerialException, OSError) as exc:
            raise TransportClosed(f"reading from {self.url} failed: {exc}") from None
        self.bytes_read += len(data)
        return data

    def disconnect(self) -> None:
        """Closes the port but keeps this object: `reconnect()` opens the same URL again (an
        emulator restarted behind it), and whoever holds the transport carries on."""
        self.close()

    def reconnect(self) -> None:
        try:
            self._port.open()
        except (serial.SerialException, ValueError, OSError) as exc:
            raise TargetError(f"cannot reopen {self.url}: {exc}") from None
        self._no_delay()

    def _no_delay(self) -> None:
        sock = getattr(self._port, "_socket", None)  # rfc2217:// has one too
        if sock is not None:  # pyserial leaves Nagle on: small frames would wait ~40 ms each
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def close(self) -> None:
        try:
            self._port.close()
        except (serial.SerialException, OSError):
            pass

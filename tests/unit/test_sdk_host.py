"""The device SDK through its CMake target, built for the host: the system requests, a request
of the firmware's own in the user range, and the range check of hil_sdk_register_user()."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from harness.link import protocol
from harness.link.framing import Frame, FrameParser, encode
from harness.link.protocol import MessageType

SOURCE = Path(__file__).resolve().parents[1] / "sdk"

pytestmark = pytest.mark.skipif(
    shutil.which("cmake") is None or shutil.which("cc") is None, reason="needs cmake and a host C compiler"
)


@pytest.fixture(scope="module")
def host_app(tmp_path_factory) -> Path:
    build = tmp_path_factory.mktemp("sdk_host")
    subprocess.run(
        ["cmake", "-S", str(SOURCE), "-B", str(build), "-DCMAKE_C_FLAGS=-Wall -Wextra -Werror"],
        check=True,
        capture_output=True,
    )
    subprocess.run(["cmake", "--build", str(build)], check=True, capture_output=True)
    return build / "host_app"


def _talk(app: Path, frames: list[Frame]) -> list[Frame]:
    done = subprocess.run([str(app)], input=b"".join(encode(f) for f in frames), capture_output=True, timeout=30)
    assert done.returncode == 0, f"exit {done.returncode}: user table with an out-of-range type accepted?"
    return FrameParser(max_payload=4096).feed(done.stdout)


def test_ready_hello_and_a_user_request(host_app):
    replies = _talk(host_app, [Frame(MessageType.HELLO, 1, b""), Frame(0x70, 2, b"abc")])
    assert [f.type for f in replies] == [MessageType.READY, protocol.reply_type(MessageType.HELLO), 0xF0]
    hello = protocol.REPLIES["HELLO"].unpack(replies[1].payload)
    assert hello["protocol_version"] == protocol.VERSION and hello["board"] == "unknown"
    assert (replies[2].seq, replies[2].payload) == (2, b"cba")


def test_unregistered_types_are_unknown(host_app):
    # 0x71 was in the table the SDK refused (it also held 0x26): nothing of it was registered
    _, error = _talk(host_app, [Frame(0x71, 5, b"")])
    assert error.type == MessageType.ERROR and error.seq == 5
    assert protocol.PAYLOADS["ERROR"].unpack(error.payload)["code"] == protocol.ErrorCode.UNKNOWN_TYPE

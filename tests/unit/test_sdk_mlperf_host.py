"""The device SDK's MLPerf Tiny responder (hil_mlperf.c) built for the host and read with the
host driver's parser (harness/mlperf/protocol.py): a whole session in one run, the printing of
values, and its refusals. The responder on the device: tests/device/test_mlperf_tiny.py."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from harness.mlperf.protocol import MlperfLink, parse_infer, parse_name, parse_profile

SOURCE = Path(__file__).resolve().parents[1] / "sdk_mlperf"

pytestmark = pytest.mark.skipif(
    shutil.which("cmake") is None or shutil.which("cc") is None, reason="needs cmake and a host C compiler"
)


@pytest.fixture(scope="module")
def responder(tmp_path_factory) -> Path:
    build = tmp_path_factory.mktemp("sdk_mlperf_host")
    subprocess.run(
        ["cmake", "-S", str(SOURCE), "-B", str(build), "-DCMAKE_C_FLAGS=-Wall -Wextra -Werror"],
        check=True,
        capture_output=True,
    )
    subprocess.run(["cmake", "--build", str(build)], check=True, capture_output=True)
    return build / "mlperf_host"


class Replay:
    """The responder's whole output, read back by MlperfLink as if it came from a UART."""

    def __init__(self, output: bytes):
        self.pending = output

    def write(self, data: bytes) -> None:
        pass

    def read(self, timeout: float) -> bytes:
        data, self.pending = self.pending, b""
        return data


def session(app: Path, commands: list[str]) -> MlperfLink:
    done = subprocess.run(
        [str(app)], input="".join(f"{c}%" for c in commands).encode(), capture_output=True, timeout=30, check=True
    )
    link = MlperfLink(Replay(done.stdout), timeout=1)
    assert link.wait_ready(1) == ["m-init-done"]
    return link


def test_a_session_reads_as_the_runner_reads_it(responder):
    commands = ["name", "profile", "db load 3", "db 04", "db fe10", "infer 2 1", "results"]
    link = session(responder, commands)
    assert parse_name(link.command("name")) == "host"
    assert parse_profile(link.command("profile")) == ("ULPMark for tinyML Firmware V0.0.1", "kws01")
    assert link.command("db load 3").lines == ["m-[Expecting 3 bytes]"]
    assert link.command("db 04").lines == []
    assert link.command("db fe10").lines == ["m-load-done"]
    infer = parse_infer(link.command("infer 2 1"), 2)
    # 4 * 0.25, -2 * 1e28 (beyond 64 bits of thousandths: digits and a decimal exponent), 16 * -1e-3
    assert infer.values[0] == "1.000" and infer.values[2] == "-0.016"
    assert infer.values[1].startswith("-") and "e" in infer.values[1]
    assert abs(float(infer.values[1]) + 2e28) < 2e28 * 1e-6
    assert link.command("results").lines == [f"m-results-[{','.join(infer.values)}]"]


@pytest.mark.parametrize(
    "command, error",
    [
        ("db load 9", "e-[db load 9 exceeds the buffer of 8 bytes]"),
        ("db 12", "e-[db: no bytes expected (db load N first)]"),
        ("infer 1 0", "e-[Input db has 0 bytes, the input tensor 3]"),
        ("infer x", "e-[Inference iterations must be >0]"),
        ("", "e-[Unknown command: ]"),
    ],
)
def test_refusals_are_one_error_line_then_m_ready(responder, command, error):
    assert session(responder, [command]).command(command).lines == [error]

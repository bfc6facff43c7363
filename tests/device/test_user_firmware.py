"""A firmware of the user's own (examples/user_firmware: the device SDK as a library, the model
compiled in, the harness's engine behind the model-runner adapter) checked in real QEMU exactly
as the harness's own firmware: bit-exact with per-layer on two boards, through --firmware-project
and --firmware; a model mismatch is one line and exit 2; a wrong kernel is found at its layer."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from harness.boards import load_board
from harness.build import build, build_project
from harness.errors import DeviceError, HarnessError
from harness.firmware_runner import FirmwareSession
from harness.link import protocol
from harness.link.framing import Frame, encode
from harness.link.user_messages import UserMessages
from harness.shared_models import SHARED_MODELS

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "user_firmware"
HELLO = SHARED_MODELS / "tflm_examples" / "hello_world_int8.tflite"
SPEECH = SHARED_MODELS / "tflm_examples" / "micro_speech_quantized.tflite"

pytestmark = pytest.mark.skipif(not (HELLO.exists() and SPEECH.exists()), reason="shared models not available")


@pytest.fixture(autouse=True)
def _qemu_only(hil_options):
    hil_options.require("emulated", why="boots its own QEMU")


def _hil(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", *args], cwd=REPO, capture_output=True, text=True, timeout=600
    )


@pytest.fixture(scope="module")
def hello_elf() -> Path:
    """The example built for nucleo_f746 (QEMU) with hello_world compiled in."""
    return build_project(EXAMPLE, load_board("nucleo_f746"), "qemu", HELLO).elf


def test_firmware_project_is_bit_exact_with_per_layer(hello_elf):
    # the same build as hello_elf (cached): --firmware-project builds the project for the board
    done = _hil(
        "run",
        "--firmware-project",
        str(EXAMPLE),
        "--model",
        str(HELLO),
        "--board",
        "nucleo_f746",
        "--emulator",
        "qemu",
        "--inputs",
        "4",
        "--per-layer",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["passed"] and report["inferences"] == 4
    assert report["firmware"] == str(hello_elf)
    # hello_world's three FULLY_CONNECTED outputs (16, 16, 1 elements) came from the hook
    assert [layer["elements"] for layer in report["layers"]] == [16, 16, 1]
    assert report["compared_elements"] == report["exact_elements"] == 4 + 33
    assert report["per_inference"] > 0
    # the adapter's timing regions: one per operator, each called once in the last invoke
    assert sorted(report["regions"]) == ["0", "1", "2"] and all(r["calls"] == 1 for r in report["regions"].values())


def test_firmware_elf_built_from_another_model_is_refused(hello_elf):
    done = _hil(
        "run", "--firmware", str(hello_elf), "--model", str(SPEECH), "--board", "nucleo_f746", "--emulator", "qemu"
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    (line,) = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert line == done.stderr.strip().splitlines()[-1]
    assert "the firmware was built from another model" in line and SPEECH.name in line


def test_firmware_elf_runs_with_user_requests_and_regions(hello_elf):
    counters = UserMessages.load(EXAMPLE / "messages.yaml")
    with FirmwareSession.open("nucleo_f746", "qemu", HELLO, firmware=hello_elf) as session:
        assert counters.call(session.dut.link, "EXAMPLE_COUNTERS") == {"invokes": 0, "model_ok": 1}
        result = session.run(count=3, seed=5)
        assert result.verdict.passed, result.describe()
        # one invoke per input, counted by the application's own request
        assert counters.call(session.dut.link, "EXAMPLE_COUNTERS")["invokes"] == 3
        # the adapter times each of the three operators as a region of the last invoke
        regions = session.device_model.regions()
        assert sorted(regions) == [0, 1, 2] and all(calls == 1 and ticks > 0 for calls, ticks in regions.values())


def test_runner_requests_outside_the_tensors_are_refused(hello_elf):
    with FirmwareSession.open("nucleo_f746", "qemu", HELLO, firmware=hello_elf) as session:
        link, size = session.dut.link, session.device_model.inputs[0].nbytes
        bad = [
            ("RUNNER_WRITE", dict(index=0, reserved=0, offset=size, data=b"x")),  # past the input
            ("RUNNER_WRITE", dict(index=1, reserved=0, offset=0, data=b"x")),  # no input 1
            ("RUNNER_READ", dict(kind=1, reserved=0, index=0, offset=0, length=size + 1)),
            ("RUNNER_READ", dict(kind=7, reserved=0, index=0, offset=0, length=1)),  # no such kind
            ("RUNNER_TENSOR", dict(kind=1, reserved=0, index=3)),
        ]
        for name, fields in bad:
            with pytest.raises(DeviceError) as refused:
                link.call(name, **fields)
            assert refused.value.code_name == "BAD_REQUEST", name
        with pytest.raises(DeviceError, match="BAD_REQUEST|shorter"):
            link.request(protocol.MessageType.RUNNER_READ, b"\x01")  # shorter than its fields
        # the SDK's receiver: a header whose payload never comes is dropped at the inter-byte
        # timeout and the frame behind it is answered (not swallowed as the missing payload)
        length = min(200, session.dut.info.max_payload)
        link.send_raw(
            protocol.MAGIC
            + protocol.HEADER.pack(length, protocol.MessageType.ECHO, 0, 0x5555)
            + encode(Frame(protocol.MessageType.ECHO, 0x5556, b"answer me"))
        )
        assert link.await_reply(protocol.MessageType.ECHO, 0x5556, timeout=5.0) == b"answer me"
        with pytest.raises(DeviceError, match="UNKNOWN_TYPE"):
            link.request(0x7E)  # in the user range, registered by no handler
        assert session.run(count=1).verdict.passed  # and the firmware still answers correctly


def test_a_firmware_that_locks_up_at_boot_is_named_with_qemus_reason(hello_elf, tmp_path):
    """A well-formed ELF whose vector table is zeros: the core locks up at reset and QEMU aborts.
    The line says so (it said only "socket disconnected", or ended in ConnectionResetError, exit 3)."""
    from elftools.elf.elffile import ELFFile

    data = bytearray(hello_elf.read_bytes())
    with hello_elf.open("rb") as stream:
        vectors = ELFFile(stream).get_section_by_name(".isr_vector")
        start, size = vectors["sh_offset"], vectors["sh_size"]
    data[start : start + size] = bytes(size)
    broken = tmp_path / "locked_up.elf"
    broken.write_bytes(bytes(data))
    done = _hil("run", "--board", "nucleo_f746", "--model", str(HELLO), "--firmware", str(broken), "--timeout", "3")
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert "QEMU exited with status" in done.stderr and "qemu: fatal: Lockup" in done.stderr, done.stderr


def test_a_firmware_without_a_model_runner_is_named():
    harness_firmware = build(load_board("nucleo_f746"), "qemu").elf  # the harness's own: no runner
    with pytest.raises(HarnessError, match="has no model runner"):
        FirmwareSession.open("nucleo_f746", "qemu", HELLO, firmware=harness_firmware)


def test_wrong_kernel_is_caught_at_its_layer():
    with FirmwareSession.open(
        "nucleo_f746", "qemu", HELLO, project=EXAMPLE, extra_flags=["-DEXAMPLE_PERTURB_OP=1"]
    ) as session:
        result = session.run(count=2, per_layer=True)
    assert not result.verdict.passed
    mismatch = result.layer_mismatch
    assert (mismatch.op_index, mismatch.opcode, mismatch.tensor) == (1, "FULLY_CONNECTED", 8)
    assert mismatch.differing == 1  # one element perturbed; the layer before it is exact
    assert result.verdict.layers[0].passed and not result.verdict.layers[1].passed


def test_netduinoplus2_bit_exact_with_per_layer_on_a_convolutional_model():
    done = _hil(
        "run",
        "--firmware-project",
        str(EXAMPLE),
        "--model",
        str(SPEECH),
        "--board",
        "netduinoplus2",
        "--emulator",
        "qemu",
        "--inputs",
        "2",
        "--per-layer",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["passed"] and report["compared_elements"] == report["exact_elements"]
    assert len(report["layers"]) == 4  # reshape, depthwise conv, fully connected, softmax


def test_pytest_run_model_on_the_users_firmware(hello_elf, tmp_path):
    (tmp_path / "test_mine.py").write_text(
        "def test_hello(run_model):\n"
        f"    result = run_model({str(HELLO)!r}, count=2, per_layer=True)\n"
        "    assert result.verdict.passed and len(result.verdict.layers) == 3, result.describe()\n"
        "def test_hello_dataset(run_model, tmp_path):\n"  # the same session: one boot
        "    import numpy as np\n"
        "    np.savez(tmp_path / 'd.npz', x=np.linspace(0, 6, 6, dtype=np.float32).reshape(6, 1), y=[0, 1] * 3)\n"
        f"    result = run_model({str(HELLO)!r}, dataset=tmp_path / 'd.npz')\n"
        "    assert result.verdict.passed and len(result.inference.device_outputs) == 6, result.describe()\n"
        "    assert result.accuracy.metric == 'auc' and result.accuracy.device == result.accuracy.reference\n"
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--board",
            "nucleo_f746",
            "--emulator",
            "qemu",
            "--hil-firmware",
            str(hello_elf),
            "--junitxml=junit.xml",
            "test_mine.py",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 passed" in done.stdout
    # each test case's JUnit properties: the device, what was compared, and the ELF's digest
    elf_sha256 = hashlib.sha256(hello_elf.read_bytes()).hexdigest()
    for case in ET.parse(tmp_path / "junit.xml").getroot().iter("testcase"):
        props = {p.get("name"): p.get("value") for p in case.iter("property")}
        assert props["hil_board"] == "nucleo_f746" and props["hil_emulator"] == "qemu", props
        assert props["hil_firmware_build_id"] and props["hil_firmware_sha256"] == elf_sha256, props
        assert props["hil_model_sha256"] == hashlib.sha256(HELLO.read_bytes()).hexdigest(), props
        assert int(props["hil_elements_exact"]) == int(props["hil_elements_compared"]) > 0, props
        assert int(props["hil_instructions"]) > 0 and "hil_arena_bytes" not in props, props  # it reports no arena

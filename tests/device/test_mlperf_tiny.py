"""The MLPerf Tiny driver on real firmware in QEMU: the harness firmware's MLPerf Tiny build
(firmware/src/mlperf) answering the benchmark API with the engine on MLPerf Tiny's KWS model
(int8 DS-CNN) in the flash model slot, driven only through the API's text commands.

One boot serves the session tests (handshake, seeded inputs against tflite-micro, latency, the
responder's own error replies); `hil run` is run end to end on a data set in accuracy mode, on a
user ELF booted as it is, and on examples/user_firmware's MLPerf Tiny build (the SDK's responder
on the example's model runner); one more boot shows a differing device is caught.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import flatbuffers
import numpy as np
import pytest
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

from harness.boards import load_board
from harness.build import build_project
from harness.engine.pack import pack_file
from harness.mlperf.protocol import MlperfLink
from harness.mlperf.session import BOOT_TIMEOUT_S, MlperfSession, checked_model
from harness.progress import Progress
from harness.shared_models import SHARED_MODELS
from harness.targets.base import TargetOptions
from harness.targets.qemu import QemuTarget

REPO = Path(__file__).resolve().parents[2]
KWS = SHARED_MODELS / "mlperf_tiny" / "kws_ref_model.tflite"

pytestmark = pytest.mark.skipif(not KWS.exists(), reason="shared models not available")


@pytest.fixture(scope="module")
def kws_session(hil_options):
    hil_options.require("emulated", why="boots the MLPerf Tiny build in QEMU itself")
    with MlperfSession.open(KWS, board=hil_options.board, emulator="qemu", timeout=10) as session:
        yield session


def test_the_handshake_names_the_firmware_and_its_benchmark(kws_session):
    assert kws_session.handshake.as_dict() == {
        "name": "hil-harness",
        "model": "kws01",
        "profile": "ULPMark for tinyML Firmware V0.0.1",
    }


def test_outputs_match_tflite_micro_exactly_through_the_printed_values(kws_session):
    result = kws_session.run(count=3, seed=4)
    assert result.verdict.passed, result.describe()
    assert result.verdict.elements == result.verdict.exact == 3 * 12
    precision = kws_session.precision()
    # softmax output scale 1/256 > "%0.3f"'s 0.001: every printed value names one int8 value
    assert precision["printed"] == "dequantized" and precision["int8_exact"] == precision["compared"] >= 36
    assert all(us > 0 for us in result.instructions) and result.timer_kind.startswith("microseconds")


def test_latency_comes_from_the_m_lap_us_timestamps(kws_session):
    single = kws_session.run(count=1, seed=9).instructions[0]
    timing = kws_session.time(iterations=4, warmups=1)
    assert timing.iterations == 4 and timing.elapsed_us > 0
    # QEMU's -icount clock is deterministic: 4 inferences take about 4 times one (same input path)
    assert 0.9 < timing.per_inference_us / single < 1.1, (timing, single)


@pytest.mark.parametrize(
    "command, error",
    [
        ("db load 0", "e-[Command 'db load' requires a byte count above 0]"),
        ("db load 99999999", "exceeds the buffer of"),
        ("db 0g", "e-[Invalid hex digit]"),
        ("db abc", "e-[Insufficent number of hex digits]"),
        ("infer 0", "e-[Inference iterations must be >0]"),
        ("frobnicate", "e-[Unknown command: frobnicate]"),
        ("x" * 100, "e-[command longer than 80 characters]"),
    ],
)
def test_the_responder_refuses_bad_commands_with_an_error_line_then_m_ready(kws_session, command, error):
    reply = kws_session.link.command(command)
    assert len(reply.errors()) == 1 and error in reply.errors()[0], reply.lines


def test_infer_with_a_short_buffer_is_refused_not_run_on_stale_bytes(kws_session):
    assert kws_session.link.command("db load 4").lines == ["m-[Expecting 4 bytes]"]
    assert kws_session.link.command("db 01020304").lines == ["m-load-done"]
    assert kws_session.link.command("db print").lines == ["m-buffer-01-02-03-04"]
    reply = kws_session.link.command("infer 1 0")
    assert reply.errors() == ["e-[Input db has 4 bytes, the input tensor 490]"]
    assert not any(line.startswith("m-results") for line in reply.lines)


def _hil_run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "harness.cli",
            "run",
            "--protocol",
            "mlperf-tiny",
            "--emulator",
            "qemu",
            "--model",
            str(KWS),
            *args,
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_hil_run_accuracy_mode_over_a_data_set(hil_options, tmp_path):
    hil_options.require("emulated", why="boots the MLPerf Tiny build in QEMU itself")
    rng = np.random.default_rng(11)  # labels are arbitrary: the accuracies are reported, not asserted
    np.savez(tmp_path / "kws.npz", x=rng.integers(-128, 128, (6, 49, 10, 1)).astype(np.int8), y=rng.integers(0, 12, 6))
    done = _hil_run("--board", hil_options.board, "--dataset", str(tmp_path / "kws.npz"), "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["protocol"] == "mlperf-tiny" and report["passed"] and report["inferences"] == 6
    assert report["compared_elements"] == report["exact_elements"] == 6 * 12
    assert report["accuracy"]["samples"] == 6
    assert report["accuracy"]["device"] == report["accuracy"]["reference"]
    assert report["latency"]["iterations"] == 10 and report["latency"]["per_inference_us"] > 0
    print(f"KWS in QEMU: {report['latency']['per_inference_us']:.0f} us per inference (m-lap-us)")


def test_a_user_elf_is_booted_as_it_is_and_its_refusal_is_one_line(hil_options, kws_session):
    """Our responder's ELF passed as a user's: the slot is left erased, as a submission with its
    model compiled in would ignore it; ours then has no model and says so."""
    done = _hil_run("--board", hil_options.board, "--firmware", str(kws_session.target.firmware.elf))
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()[-1:]
    assert line.startswith("error: the firmware answered 'db load 490%' with 'e-[no model: "), done.stderr
    assert "Traceback" not in done.stderr


def _with_bias_changed(raw: bytes) -> bytes:
    """KWS with one bias of its classifier (the last FULLY_CONNECTED) raised: another model."""
    fb = schema.ModelT.InitFromPackedBuf(raw, 0)
    graph = fb.subgraphs[0]
    codes = [op.builtinCode or op.deprecatedBuiltinCode for op in fb.operatorCodes]
    fc = [op for op in graph.operators if codes[op.opcodeIndex] == schema.BuiltinOperator.FULLY_CONNECTED][-1]
    bias = fb.buffers[graph.tensors[fc.inputs[2]].buffer]
    values = np.frombuffer(bytes(bytearray(bias.data)), np.int32).copy()
    values[3] += 20000
    bias.data = list(values.tobytes())
    builder = flatbuffers.Builder(0)
    builder.Finish(fb.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def test_a_device_computing_another_model_fails_the_verdict(hil_options, kws_session, tmp_path):
    changed = tmp_path / "kws_changed.tflite"
    changed.write_bytes(_with_bias_changed(KWS.read_bytes()))
    board = load_board(hil_options.board)
    options = TargetOptions(firmware=kws_session.target.firmware, slot_image=pack_file(KWS, board, "qemu").image)
    target = QemuTarget.create(board, board.variant("qemu"), options, Progress.quiet())
    transport = target.start()
    link = MlperfLink(transport, 10, target.exit_reason)
    link.wait_ready(BOOT_TIMEOUT_S)
    with MlperfSession(link, checked_model(changed), str(changed), target, transport) as session:
        result = session.run(count=3, seed=2)
        assert not result.verdict.passed, result.describe()
        assert "MISMATCH" in result.describe()


def test_the_example_application_in_its_mlperf_tiny_mode(hil_options):
    """examples/user_firmware built with EXAMPLE_MLPERF_TINY (its model compiled in, the SDK's
    responder on its model runner), then checked as any submission's ELF would be."""
    hil_options.require("emulated", why="boots the MLPerf Tiny build in QEMU itself")
    elf = build_project(
        REPO / "examples" / "user_firmware",
        load_board(hil_options.board),
        "qemu",
        KWS,
        extra_flags=["-DEXAMPLE_MLPERF_TINY=1"],
    ).elf
    done = _hil_run("--board", hil_options.board, "--firmware", str(elf), "--inputs", "3", "--seed", "5", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["device"]["name"] == "user-firmware-example" and report["device"]["model"] == "kws01"
    assert report["passed"] and report["compared_elements"] == report["exact_elements"] == 3 * 12
    assert report["precision"]["int8_exact"] == 36 and report["latency"]["per_inference_us"] > 0

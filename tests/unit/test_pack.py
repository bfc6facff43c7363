"""hil pack: format, validation, requantization, memory plan and the errors at pack time."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from harness.boards import load_board
from harness.engine import format as fmt
from harness.engine.lower import UnsupportedModel
from harness.engine.pack import ModelTooLarge, NothingToCompare, pack_model, sram_budget
from harness.engine.plan import Lifetime, lifetimes, lower_bound, plan
from harness.model import ModelBuilder, load_model, quant, requant
from harness.model.tflite import ModelError
from harness.shared_models import SHARED_MODELS
from tests.support.single_op import SINGLE_OP_CASES, single_op_model

REPO = Path(__file__).resolve().parents[2]
KWS = SHARED_MODELS / "mlperf_tiny" / "kws_ref_model.tflite"


def _conv_model(height: int = 8, channels: int = 3) -> bytes:
    b = ModelBuilder()
    x = b.tensor("x", (1, height, height, channels), np.int8, quant(0.05, -3))
    w = b.constant("w", np.ones((4, 3, 3, channels), np.int8), quant([0.01, 0.02, 0.03, 0.04], 0))
    bias = b.constant("b", np.arange(4, dtype=np.int32), quant([5e-4, 1e-3, 1.5e-3, 2e-3], 0))
    y = b.tensor("y", (1, height, height, 4), np.int8, quant(0.1, 2))
    b.operator("CONV_2D", [x, w, bias], [y], padding="SAME", fused_activation_function="RELU6")
    return b.build([x], [y])


def test_header_records_and_crc():
    packed = pack_model(load_model(_conv_model()))
    header = fmt.read_header(packed.image)
    assert header.total_size == len(packed.image)
    assert (header.num_ops, header.num_inputs, header.num_outputs) == (1, 1, 1)
    assert header.arena_size == packed.arena_size == 8 * 8 * 3 + 8 * 8 * 4  # both live at once
    op = fmt.OPERATOR.unpack(packed.image, header.ops_offset)
    assert op["opcode"] == fmt.OPCODES["CONV_2D"] == 3
    assert (op["num_inputs"], op["num_outputs"]) == (3, 1)  # x/w/bias -> y


def test_requantization_is_tflm_prepare_math():
    packed = pack_model(load_model(_conv_model()))
    header = fmt.read_header(packed.image)
    op = fmt.OPERATOR.unpack(packed.image, header.ops_offset)
    params = fmt.op_params("CONV_2D", np.int8).unpack(packed.image, op["params_offset"])
    mult = np.frombuffer(packed.image, "<i4", 4, params["multipliers_offset"])
    shift = np.frombuffer(packed.image, "<i4", 4, params["shifts_offset"])
    want_mult, want_shift = requant.per_channel_multipliers(0.05, [0.01, 0.02, 0.03, 0.04], 0.1)
    assert mult.tolist() == want_mult.tolist() and shift.tolist() == want_shift.tolist()
    assert (params["input_offset"], params["output_offset"]) == (3, 2)
    assert (params["act_min"], params["act_max"]) == requant.activation_range("RELU6", 0.1, 2)


@pytest.mark.parametrize("flip", [20, 100, -5])
def test_any_changed_byte_fails_the_crc(flip):
    image = bytearray(pack_model(load_model(_conv_model())).image)
    image[flip] ^= 0x40
    with pytest.raises(fmt.PackedFormatError, match="CRC-32 mismatch"):
        fmt.read_header(bytes(image))


def _assert_no_live_overlap(lives: list[Lifetime], offsets: dict[int, int], size: int) -> None:
    for a in lives:
        assert offsets[a.tensor] % fmt.ALIGN == 0 and offsets[a.tensor] + a.size <= size
        for b in lives:
            if a.tensor < b.tensor and a.overlaps(b):
                apart = (
                    offsets[a.tensor] + a.size <= offsets[b.tensor] or offsets[b.tensor] + b.size <= offsets[a.tensor]
                )
                assert apart, (a, b, offsets)


def test_planner_never_overlaps_tensors_alive_together():
    rng = np.random.default_rng(5)
    for _ in range(200):
        lives = []
        for t in range(int(rng.integers(1, 12))):
            first = int(rng.integers(0, 8))
            lives.append(Lifetime(t, int(rng.integers(1, 3000)), first, first + int(rng.integers(0, 4))))
        offsets, size = plan(lives)
        _assert_no_live_overlap(lives, offsets, size)
        assert size >= lower_bound(lives)


def test_planner_reaches_the_bound_where_largest_first_does_not():
    # VWW's first four activations: largest first puts the 36,864 B tensor at 0 and the input
    # on it, and the chain then needs 64,512 B; the bound is the 18,432 + 36,864 B of step 2.
    sizes = [27648, 18432, 18432, 36864, 9216]
    lives = [Lifetime(t, size, max(t - 1, 0), t) for t, size in enumerate(sizes)]
    offsets, size = plan(lives)
    _assert_no_live_overlap(lives, offsets, size)
    assert size == lower_bound(lives) == 18432 + 36864


SHARED = sorted(SHARED_MODELS.glob("*/*.tflite"))


@pytest.mark.skipif(not SHARED, reason="shared models not available")
@pytest.mark.parametrize("path", SHARED, ids=lambda p: p.stem)
def test_shared_model_arena_is_the_largest_live_set(path):
    model = load_model(path)
    try:
        packed = pack_model(model)
    except UnsupportedModel:
        pytest.skip("the engine does not run this model")
    arena = {t.index: t for t in packed.tensors if t.storage == fmt.STORAGE_ARENA}
    lives = lifetimes(
        {i: t.nbytes for i, t in arena.items()},
        [(op.inputs, op.outputs) for op in packed.ops],
        model.inputs,
        model.outputs,
    )
    _assert_no_live_overlap(lives, {i: t.offset for i, t in arena.items()}, packed.arena_size)
    assert packed.arena_size == lower_bound(lives)


@pytest.mark.skipif(not KWS.exists(), reason="shared models not available")
def test_kws_arena_is_planned_below_the_sum_of_its_tensors():
    model = load_model(KWS)
    packed = pack_model(model, load_board("nucleo_f746"), "qemu")
    activations = sum(t.nbytes for t in packed.tensors if t.storage == fmt.STORAGE_ARENA)
    assert 0 < packed.arena_size < activations / 2


def test_unsupported_operator_names_op_and_layer():
    b = ModelBuilder()
    x = b.tensor("x", (1, 8), np.float32)
    y = b.tensor("y", (1, 8), np.float32)
    z = b.tensor("z", (1, 8), np.float32)
    b.operator("RELU", [x], [y])
    b.operator("TANH", [y], [z])
    with pytest.raises(UnsupportedModel, match=r"layer 0 \(RELU\): operator RELU is not supported"):
        pack_model(load_model(b.build([x], [z])))


def test_unsupported_activation_and_type_name_the_layer():
    b = ModelBuilder()
    x = b.tensor("x", (1, 4), np.int16, quant(0.1, 0))
    y = b.tensor("y", (1, 4), np.int16, quant(1 / 256, -128))
    b.operator("SOFTMAX", [x], [y])
    with pytest.raises(UnsupportedModel, match=r"layer 0 \(SOFTMAX\).*int16"):
        pack_model(load_model(b.build([x], [y])))


def test_corrupt_tflite_is_a_model_error():
    raw = _conv_model()
    with pytest.raises(ModelError):
        load_model(raw[: len(raw) // 3])
    with pytest.raises(ModelError, match="TFL3"):
        load_model(b"\0" * 64)


def test_arena_too_large_for_the_board_names_the_numbers():
    board = load_board("nucleo_f746")
    tflite = _conv_model(height=200, channels=4)  # 160 KB input + 160 KB output
    with pytest.raises(
        ModelTooLarge,
        match=rf"arena of \d+ bytes does not fit board nucleo_f746: "
        rf"327680 bytes of SRAM, {sram_budget(board)} left",
    ):
        pack_model(load_model(tflite), board)


def test_weights_too_large_for_the_flash_slot():
    b = ModelBuilder()
    x = b.tensor("x", (1, 1024), np.int8, quant(0.05, 0))
    w = b.constant("w", np.ones((800, 1024), np.int8), quant(0.01, 0))
    y = b.tensor("y", (1, 800), np.int8, quant(0.1, 0))
    b.operator("FULLY_CONNECTED", [x, w], [y])
    with pytest.raises(ModelTooLarge, match=r"weights\) does not fit board nucleo_f746's flash model slot of 786432"):
        pack_model(load_model(b.build([x], [y])), load_board("nucleo_f746"))


def test_every_single_op_model_packs():
    for opcode, dtype in SINGLE_OP_CASES:
        packed = pack_model(load_model(single_op_model(opcode, dtype)))
        assert fmt.read_header(packed.image).num_ops == 1


def _hil(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", *args], cwd=REPO, capture_output=True, text=True, timeout=120
    )


def test_cli_pack_errors_exit_2_without_traceback(tmp_path):
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(_conv_model()[:100])
    unsupported = tmp_path / "tanh.tflite"
    b = ModelBuilder()
    x, y = b.tensor("x", (1, 4), np.float32), b.tensor("y", (1, 4), np.float32)
    b.operator("TANH", [x], [y])
    unsupported.write_bytes(b.build([x], [y]))
    big = tmp_path / "big.tflite"
    big.write_bytes(_conv_model(height=200, channels=4))
    for path, message in (
        (bad, "not a valid .tflite"),
        (unsupported, "layer 0 (TANH)"),
        (big, "does not fit board nucleo_f746"),
    ):
        done = _hil("pack", str(path), "-o", str(tmp_path / "out.bin"), "--board", "nucleo_f746")
        assert done.returncode == 2, done.stderr
        assert message in done.stderr and "Traceback" not in done.stderr


def test_cli_pack_writes_a_valid_file(tmp_path):
    source = tmp_path / "conv.tflite"
    source.write_bytes(_conv_model())
    done = _hil("pack", str(source), "-o", str(tmp_path / "conv.bin"), "--json")
    assert done.returncode == 0, done.stderr
    fmt.read_header((tmp_path / "conv.bin").read_bytes())


def _softmax_model(outputs: str) -> bytes:
    """x -> SOFTMAX -> y, plus z written by no operator and a constant c; graph outputs by name."""
    b = ModelBuilder()
    tensors = {
        "x": b.tensor("x", (1, 4), np.int8, quant(0.1, 0)),
        "y": b.tensor("y", (1, 4), np.int8, quant(1 / 256, -128)),
        "z": b.tensor("z", (1, 4), np.int8, quant(0.1, 0)),
        "c": b.constant("c", np.ones((1, 4), np.int8), quant(0.1, 0)),
        "e": b.tensor("e", (1, 0), np.int8, quant(0.1, 0)),
    }
    b.operator("SOFTMAX", [tensors["x"]], [tensors["y"]])
    return b.build([tensors["x"]], [tensors[name] for name in outputs])


def _no_operator_model() -> bytes:
    b = ModelBuilder()
    x = b.tensor("x", (1, 4), np.int8, quant(0.1, 0))
    return b.build([x], [x])


def _no_input_model() -> bytes:
    b = ModelBuilder()
    c = b.constant("c", np.ones((1, 4), np.int8), quant(0.1, 0))
    y = b.tensor("y", (1, 4), np.int8, quant(1 / 256, -128))
    b.operator("SOFTMAX", [c], [y])
    return b.build([], [y])


@pytest.mark.parametrize(
    "tflite, message",
    [
        (lambda: _softmax_model(""), "the model has no outputs: a run would compare nothing"),
        (_no_input_model, "the model has no inputs"),
        (_no_operator_model, "the model has no operators"),
        (lambda: _softmax_model("yz"), "graph output z (tensor 2) is written by no operator"),
        (lambda: _softmax_model("yc"), "graph output c (tensor 3) is a constant"),
        (lambda: _softmax_model("ye"), "graph output e (tensor 4) has no elements (shape [1, 0])"),
    ],
)
def test_a_model_with_nothing_to_compare_is_refused(tflite, message):
    with pytest.raises(NothingToCompare, match=re.escape(message)):
        pack_model(load_model(tflite()))


def test_a_graph_output_that_is_a_graph_input_packs():
    packed = pack_model(load_model(_softmax_model("yx")))
    assert packed.outputs == [1, 0]


@pytest.mark.parametrize("command", ["pack", "run", "bench"])
def test_cli_refuses_a_model_with_no_outputs_before_running_it(tmp_path, command):
    model = tmp_path / "no_outputs.tflite"
    model.write_bytes(_softmax_model(""))
    args = {
        "pack": ["pack", str(model), "-o", str(tmp_path / "out.bin"), "--board", "nucleo_f746"],
        "run": ["run", "--board", "nucleo_f746", "--emulator", "qemu", "--model", str(model)],
        "bench": ["bench", "--board", "nucleo_f746", "--emulator", "qemu", "--model", str(model)],
    }
    done = _hil(*args[command])
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.strip().count("\n") == 0 and "Traceback" not in done.stderr
    assert f"{model}: the model has no outputs" in done.stderr
    assert not (tmp_path / "out.bin").exists()

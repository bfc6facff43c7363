"""The firmware trusts no packed model: MODEL_LOAD checks every tensor record and every operator's
parameters against the tensors they reference, as TFLM's Prepare() does.

Each case takes a good packed model, corrupts one field, fixes the CRC-32 (so only the engine's
own checks stand between the record and the kernels), streams it into the RAM pool and expects
MODEL_INVALID naming the operator (or tensor) and the field. After every refusal the same device,
in the same boot, still runs the good model bit for bit against tflite-micro. Before these checks
a fully connected `output_depth` of 283,000 overwrote the firmware's link counters, 290,000 hung
the device and a PAD of 20,000 faulted with the pad byte in the program counter.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import pytest

from harness import contracts
from harness.boards import load_board
from harness.dut import Dut
from harness.engine import format as fmt
from harness.engine.ops import SUPPORTED
from harness.engine.pack import PackedModel, pack_model
from harness.engine.runner import Engine, batch_image, open_with_slot_image
from harness.errors import DeviceError
from harness.model import load_model
from harness.pytest_plugin import open_or_fail
from harness.reference import Reference
from tests.support.single_op import single_op_model

SEED = 7

# Byte offsets of fields in the records, from the contract (harness/contracts/model_format.yaml).
_OP, _TENSOR, _REC = fmt.OPERATOR.offset, fmt.TENSOR.offset, contracts.record
OP_NUM_INPUTS, OP_TYPE, OP_TENSORS, OP_PARAMS = (
    _OP(f) for f in ("num_inputs", "type", "tensors_offset", "params_offset")
)
OP_PARAMS_SIZE = _OP("params_size")
TENSOR_DIMS, TENSOR_OFFSET, TENSOR_BYTES = _TENSOR("dims"), _TENSOR("offset"), _TENSOR("bytes")
FC_MULTIPLIERS, FC_SHIFTS, FC_PER_CHANNEL, FC_BATCHES, FC_ACCUM, FC_OUTPUT_DEPTH = (
    _REC("fc_s8").offset(f)
    for f in ("multipliers_offset", "shifts_offset", "per_channel", "batches", "accum_depth", "output_depth")
)
CONV_STRIDE_H, CONV_DILATION_W, CONV_PAD_H, CONV_DEPTH_MULTIPLIER, CONV_INPUT_OFFSET, CONV_MULTIPLIERS, CONV_SHIFTS = (
    _REC("conv_s8").offset(f)
    for f in (
        "stride_h",
        "dilation_w",
        "pad_h",
        "depth_multiplier",
        "input_offset",
        "multipliers_offset",
        "shifts_offset",
    )
)
POOL_FILTER_H, POOL_ACT_MAX = _REC("pool_params").offset("filter_h"), _REC("pool_params").offset("act_max")
PAD_BEFORE, PAD_AFTER = _REC("pad").offset("before"), _REC("pad").offset("after")
ADD_LEFT_SHIFT, ADD_OUTPUT_SHIFT = _REC("add_params").offset("left_shift"), _REC("add_params").offset("output_shift")
SOFTMAX_LEFT_SHIFT = _REC("softmax_params").offset("input_left_shift")
SOFTMAX_DIFF_MIN = _REC("softmax_params").offset("diff_min")
MEAN_NUM_AXES, MEAN_AXES = _REC("mean_s8").offset("num_axes"), _REC("mean_s8").offset("axes")
LOGISTIC_RADIUS = _REC("logistic_params").offset("input_range_radius")
REQUANTIZE_SHIFT, AFFINE_ZERO_POINT = _REC("requantize").offset("shift"), _REC("affine").offset("zero_point")


class Image:
    """A packed model being corrupted: reads and writes its records by index and field."""

    def __init__(self, packed: PackedModel):
        self.data = bytearray(packed.image)
        self.header = fmt.read_header(packed.image)

    def op_at(self, op: int) -> int:
        return self.header.ops_offset + op * fmt.OPERATOR.size

    def params_at(self, op: int) -> int:
        return struct.unpack_from("<I", self.data, self.op_at(op) + OP_PARAMS)[0]

    def tensor_at(self, tensor: int) -> int:
        return self.header.tensors_offset + tensor * fmt.TENSOR.size

    def op_tensor(self, op: int, position: int) -> int:
        """The tensor index at `position` of the operator's list (-1: the output)."""
        num_inputs = self.data[self.op_at(op) + OP_NUM_INPUTS]
        indices_at = struct.unpack_from("<I", self.data, self.op_at(op) + OP_TENSORS)[0]
        return struct.unpack_from("<H", self.data, indices_at + 2 * (position % (num_inputs + 1)))[0]

    def get(self, offset: int, kind: str = "<i") -> int:
        return struct.unpack_from(kind, self.data, offset)[0]

    def put(self, offset: int, value: int, kind: str = "<i") -> None:
        struct.pack_into(kind, self.data, offset, value)

    def param(self, op: int, field: int, value: int) -> None:
        self.put(self.params_at(op) + field, value)

    def table_entry(self, op: int, slot: int, value: int) -> None:
        """Entry 0 of the int32 table (multipliers or shifts) whose offset is in params at `slot`."""
        self.put(self.get(self.params_at(op) + slot, "<I"), value)

    def tensor_field(self, tensor: int, field: int, value: int, kind: str = "<i") -> None:
        self.put(self.tensor_at(tensor) + field, value, kind)

    def sealed(self) -> bytes:
        """The image with its CRC-32 recomputed, so that the engine's own checks are what refuse it."""
        struct.pack_into("<I", self.data, fmt.HEADER.offset("crc32"), fmt.checksum(bytes(self.data)))
        return bytes(self.data)


@dataclass(frozen=True)
class Case:
    id: str
    opcode: str
    corrupt: Callable[[Image], None]
    refusal: str  # regex of the MODEL_INVALID text
    dtype: str = "int8"


def _output(image: Image) -> int:
    return image.op_tensor(0, -1)


CASES = [
    Case(
        "fc-output-depth-283000",
        "FULLY_CONNECTED",
        lambda m: m.param(0, FC_OUTPUT_DEPTH, 283_000),
        r"operator 0 \(FULLY_CONNECTED\): invalid output_depth",
    ),
    Case(
        "fc-output-depth-290000",
        "FULLY_CONNECTED",
        lambda m: m.param(0, FC_OUTPUT_DEPTH, 290_000),
        r"operator 0 \(FULLY_CONNECTED\): invalid output_depth",
    ),
    Case(
        "fc-accum-depth",
        "FULLY_CONNECTED",
        lambda m: m.param(0, FC_ACCUM, 4096),
        r"operator 0 \(FULLY_CONNECTED\): invalid accum_depth",
    ),
    Case(
        "fc-batches",
        "FULLY_CONNECTED",
        lambda m: m.param(0, FC_BATCHES, 70_000),
        r"operator 0 \(FULLY_CONNECTED\): invalid batches",
    ),
    Case(
        "fc-per-channel-tables-past-the-image",
        "FULLY_CONNECTED",
        lambda m: (m.param(0, FC_PER_CHANNEL, 1), m.param(0, FC_SHIFTS, len(m.data) - 8)),
        r"operator 0 \(FULLY_CONNECTED\): invalid shifts_offset",
    ),
    Case(
        "fc-float-op-on-int8-tensors",
        "FULLY_CONNECTED",
        lambda m: m.put(m.op_at(0) + OP_TYPE, fmt.TYPE_FLOAT32, "<B"),
        r"operator 0 \(FULLY_CONNECTED\): invalid tensor types",
    ),
    Case(
        "fc-multipliers-outside-the-image",
        "FULLY_CONNECTED",
        lambda m: m.param(0, FC_MULTIPLIERS, 0x2000_0000),
        r"operator 0 \(FULLY_CONNECTED\): invalid multipliers_offset",
    ),
    Case("pad-20000", "PAD", lambda m: m.param(0, PAD_BEFORE + 4, 20_000), r"operator 0 \(PAD\): invalid before"),
    Case("pad-negative", "PAD", lambda m: m.param(0, PAD_AFTER + 8, -2), r"operator 0 \(PAD\): invalid after"),
    Case(
        "conv-shift-64",
        "CONV_2D",
        lambda m: m.table_entry(0, CONV_SHIFTS, 64),
        r"operator 0 \(CONV_2D\): invalid shifts",
    ),
    Case(
        "conv-multipliers-outside-the-image",
        "CONV_2D",
        lambda m: m.param(0, CONV_MULTIPLIERS, len(m.data) - 4),
        r"operator 0 \(CONV_2D\): invalid multipliers_offset",
    ),
    Case(
        "conv-misaligned-multipliers",
        "CONV_2D",
        lambda m: m.param(0, CONV_MULTIPLIERS, m.get(m.params_at(0) + CONV_MULTIPLIERS) + 2),
        r"operator 0 \(CONV_2D\): invalid multipliers_offset",
    ),
    Case(
        "conv-stride-0", "CONV_2D", lambda m: m.param(0, CONV_STRIDE_H, 0), r"operator 0 \(CONV_2D\): invalid stride_h"
    ),
    Case(
        "conv-dilation-0",
        "CONV_2D",
        lambda m: m.param(0, CONV_DILATION_W, 0),
        r"operator 0 \(CONV_2D\): invalid dilation_w",
    ),
    Case("conv-pad", "CONV_2D", lambda m: m.param(0, CONV_PAD_H, 50_000), r"operator 0 \(CONV_2D\): invalid pad_h"),
    Case(
        "conv-input-offset",
        "CONV_2D",
        lambda m: m.param(0, CONV_INPUT_OFFSET, 1 << 24),
        r"operator 0 \(CONV_2D\): invalid zero point offsets",
    ),
    Case(
        "conv-bad-tensor-index",
        "CONV_2D",
        lambda m: m.put(m.get(m.op_at(0) + OP_TENSORS, "<I") + 2, 0xFFFE, "<H"),
        r"operator 0 \(CONV_2D\): invalid tensor index",
    ),
    Case(
        "conv-no-inputs",
        "CONV_2D",
        lambda m: m.put(m.op_at(0) + OP_NUM_INPUTS, 0, "<B"),
        r"operator 0 \(CONV_2D\): invalid number of tensors",
    ),
    Case(
        "depthwise-multiplier-0",
        "DEPTHWISE_CONV_2D",
        lambda m: m.param(0, CONV_DEPTH_MULTIPLIER, 0),
        r"operator 0 \(DEPTHWISE_CONV_2D\): invalid depth_multiplier",
    ),
    Case(
        "pool-filter-0",
        "MAX_POOL_2D",
        lambda m: m.param(0, POOL_FILTER_H, 0),
        r"operator 0 \(MAX_POOL_2D\): invalid filter height",
    ),
    Case(
        "pool-activation-range",
        "AVERAGE_POOL_2D",
        lambda m: m.param(0, POOL_ACT_MAX, 300),
        r"operator 0 \(AVERAGE_POOL_2D\): invalid act_min/act_max",
    ),
    Case("add-left-shift", "ADD", lambda m: m.param(0, ADD_LEFT_SHIFT, 40), r"operator 0 \(ADD\): invalid left_shift"),
    Case("add-output-shift", "ADD", lambda m: m.param(0, ADD_OUTPUT_SHIFT, -64), r"operator 0 \(ADD\): invalid shifts"),
    Case(
        "softmax-left-shift",
        "SOFTMAX",
        lambda m: m.param(0, SOFTMAX_LEFT_SHIFT, 64),
        r"operator 0 \(SOFTMAX\): invalid input_left_shift",
    ),
    Case(
        "softmax-diff-min",
        "SOFTMAX",
        lambda m: m.param(0, SOFTMAX_DIFF_MIN, 5),
        r"operator 0 \(SOFTMAX\): invalid diff_min",
    ),
    Case("mean-axis", "MEAN", lambda m: m.param(0, MEAN_AXES, 7), r"operator 0 \(MEAN\): invalid axes"),
    Case("mean-num-axes", "MEAN", lambda m: m.param(0, MEAN_NUM_AXES, 1000), r"operator 0 \(MEAN\): invalid num_axes"),
    Case(
        "concatenation-axis", "CONCATENATION", lambda m: m.param(0, 0, 4), r"operator 0 \(CONCATENATION\): invalid axis"
    ),
    Case(
        "reshape-params-size",
        "RESHAPE",
        lambda m: m.put(m.op_at(0) + OP_PARAMS_SIZE, 4, "<I"),
        r"operator 0 \(RESHAPE\): invalid params_size",
    ),
    Case(
        "logistic-radius",
        "LOGISTIC",
        lambda m: m.param(0, LOGISTIC_RADIUS, -1),
        r"operator 0 \(LOGISTIC\): invalid input_range_radius",
    ),
    Case(
        "quantize-shift",
        "QUANTIZE",
        lambda m: m.param(0, REQUANTIZE_SHIFT, 64),
        r"operator 0 \(QUANTIZE\): invalid shift",
    ),
    Case(
        "dequantize-zero-point",
        "DEQUANTIZE",
        lambda m: m.param(0, AFFINE_ZERO_POINT, 1000),
        r"operator 0 \(DEQUANTIZE\): invalid zero_point",
    ),
    Case("unknown-opcode", "LOGISTIC", lambda m: m.put(m.op_at(0), 77, "<B"), r"operator 0: invalid opcode"),
    Case(
        "unknown-type",
        "LOGISTIC",
        lambda m: m.put(m.op_at(0) + OP_TYPE, 9, "<B"),
        r"operator 0 \(LOGISTIC\): invalid type",
    ),
    Case(
        "tensor-outside-the-arena",
        "MUL",
        lambda m: m.tensor_field(_output(m), TENSOR_OFFSET, 1 << 30, "<I"),
        r"tensor \d+: invalid offset",
    ),
    Case(
        "tensor-bytes-not-its-shape",
        "QUANTIZE",
        lambda m: m.tensor_field(_output(m), TENSOR_BYTES, 64, "<I"),
        r"tensor \d+: invalid bytes",
    ),
    Case(
        "tensor-negative-dim",
        "DEQUANTIZE",
        lambda m: m.tensor_field(_output(m), TENSOR_DIMS + 4, -32),
        r"tensor \d+: invalid dims",
    ),
    Case(
        "tensor-empty-but-huge-dims",
        "DEQUANTIZE",
        lambda m: (
            m.tensor_field(_output(m), TENSOR_DIMS, 0),
            m.tensor_field(_output(m), TENSOR_DIMS + 4, 1 << 28),
            m.tensor_field(_output(m), TENSOR_BYTES, 0, "<I"),
        ),
        r"tensor \d+: invalid dims",
    ),
    Case(
        "model-output-index",
        "MEAN",
        lambda m: m.put(m.header.io_offset + 2, 0xFFFF, "<H"),
        r"model input/output index out of range",
    ),
    Case(
        "misaligned-int32-bias",
        "CONV_2D",
        lambda m: m.tensor_field(
            m.op_tensor(0, 2), TENSOR_OFFSET, m.get(m.tensor_at(m.op_tensor(0, 2)) + TENSOR_OFFSET) - 2, "<I"
        ),
        r"tensor \d+: invalid offset alignment",
    ),
    Case(
        "misaligned-float32-activation",
        "SOFTMAX",
        lambda m: m.tensor_field(_output(m), TENSOR_OFFSET, m.get(m.tensor_at(_output(m)) + TENSOR_OFFSET) + 2, "<I"),
        r"tensor \d+: invalid offset alignment",
        dtype="float32",
    ),
]


class GoodModels:
    """Packed single-operator models and their tflite-micro outputs for one seeded input."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, str], tuple[PackedModel, list[np.ndarray], list[np.ndarray]]] = {}

    def get(self, opcode: str, dtype: str = "int8") -> tuple[PackedModel, list[np.ndarray], list[np.ndarray]]:
        if (opcode, dtype) not in self._cache:
            tflite = single_op_model(opcode, dtype, seed=SEED)
            packed = pack_model(load_model(tflite))
            rng = np.random.default_rng(SEED)
            inputs = [
                rng.integers(-128, 128, t.shape).astype(np.int8)
                if t.dtype == np.int8
                else rng.standard_normal(t.shape).astype(np.float32)
                for t in (packed.tensors[i] for i in packed.inputs)
            ]
            with Reference(tflite) as reference:
                self._cache[(opcode, dtype)] = packed, inputs, reference.run(inputs)
        return self._cache[(opcode, dtype)]


@pytest.fixture(scope="module")
def device(hil_options) -> Iterator[Dut]:
    """One boot for every case: a refusal must leave the device as it was."""
    if load_board(hil_options.require_board()).firmware.terse_errors:
        pytest.skip(
            "AVR builds send MODEL_INVALID without its text, and their 416-byte pool "
            "cannot take these models: test_the_uno_refuses_a_malformed_model_in_its_slot"
        )
    dut = open_or_fail(hil_options.open_dut)
    yield dut
    dut.close()


@pytest.fixture(scope="module")
def good_models() -> GoodModels:
    return GoodModels()


def _runs_bit_exactly(dut: Dut, good_models: GoodModels, opcode: str) -> None:
    packed, inputs, expected = good_models.get(opcode)
    outputs, _ = Engine(dut).load_ram(packed).run(inputs)
    for got, want in zip(outputs, expected):
        assert got.dtype == want.dtype and np.array_equal(got, want), f"{opcode} differs after a refusal"


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_malformed_model_is_refused_and_the_device_still_runs(device, good_models, case):
    packed, _, _ = good_models.get(case.opcode, case.dtype)
    image = Image(packed)
    case.corrupt(image)
    malformed = image.sealed()
    assert malformed != packed.image
    device.link.call("MODEL_WRITE", offset=0, data=malformed)
    with pytest.raises(DeviceError, match="MODEL_INVALID") as refused:
        device.link.call("MODEL_LOAD", source=1, reserved=0, reserved2=0, offset=0)
    message = refused.value.device_message  # the device's text, then the harness's "(board ...)"
    assert re.match(case.refusal + r"(?: \(board |$)", message), message
    with pytest.raises(DeviceError, match="NO_MODEL"):  # the refused model left nothing loaded
        device.link.call("INVOKE", first_op=0, end_op=0xFFFF)
    _runs_bit_exactly(device, good_models, case.opcode)


def test_the_uno_refuses_a_malformed_model_in_its_slot(good_models):
    """The minimal AVR build validates from program memory too: a corrupted FULLY_CONNECTED in the
    Uno's flash slot is refused (the code alone: AVR sends no texts), the good one beside it runs."""
    packed, inputs, expected = good_models.get("FULLY_CONNECTED")
    image = Image(packed)
    image.param(0, FC_OUTPUT_DEPTH, 283_000)
    slot, (good_at, bad_at) = batch_image([packed.image, image.sealed()])
    with open_with_slot_image(load_board("uno"), "qemu", slot) as dut:
        with pytest.raises(DeviceError, match="MODEL_INVALID"):
            dut.link.call("MODEL_LOAD", source=0, reserved=0, reserved2=0, offset=bad_at)
        outputs, _ = Engine(dut).load_slot(packed, good_at).run(inputs)
    assert np.array_equal(outputs[0], expected[0])


def test_every_operator_kind_has_a_malformed_case():
    assert {c.opcode for c in CASES} == set(SUPPORTED)

"""Fixed single-operator models with seeded random weights, one per op table entry and dtype.

    tflite_bytes = single_op_model("CONV_2D", "int8", seed=3)

Small, plausible models for unit tests of the writer, packer, quantizer and reference; the
randomized ones (many shapes per operator) are in random_ops.py. An operator without a fixed
model here gets its seeded random one, so a new op needs only its random builder.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from harness.engine.ops import OPS
from harness.model.tflite import ModelError
from harness.model.writer import ModelBuilder, quant

from .random_ops import random_case

SINGLE_OPS = tuple(OPS)
# Every (operator, dtype) the op table lists: the dtypes its kernel computes in.
SINGLE_OP_CASES = tuple((op.name, dtype) for op in OPS.values() for dtype in op.dtypes)


def single_op_model(opcode: str, dtype: str = "int8", seed: int = 0) -> bytes:
    """A small model of one operator with seeded random weights, in "int8" or "float32".

    QUANTIZE in int8 requantizes int8 to int8, in float32 it quantizes float32 to int8;
    DEQUANTIZE (int8 only) turns int8 into float32.
    """
    if opcode not in OPS:
        raise ModelError(f"no single-operator model for {opcode}; operators: {', '.join(SINGLE_OPS)}")
    if dtype not in OPS[opcode].dtypes:
        raise ModelError(f"no {dtype} model of {opcode}; dtypes: {', '.join(OPS[opcode].dtypes)}")
    if not hasattr(_SingleOp, "_" + opcode.lower()):
        return random_case(np.random.default_rng(seed), opcode, dtype)[0]
    return _SingleOp(dtype, seed).build(opcode)


class _SingleOp:
    """Builds one operator with its tensors; int8 tensors get plausible parameters."""

    def __init__(self, dtype: str, seed: int):
        self.int8 = dtype == "int8"
        self.rng = np.random.default_rng(seed)
        self.b = ModelBuilder(f"single {dtype} operator")

    def build(self, opcode: str) -> bytes:
        inputs, output = getattr(self, "_" + opcode.lower())()
        return self.b.build(inputs, [output])

    def act(
        self, name: str, shape: Sequence[int], scale: float = 0.05, zero_point: int = -3, int8: bool | None = None
    ) -> int:
        int8 = self.int8 if int8 is None else int8
        return self.b.tensor(name, shape, np.int8 if int8 else np.float32, quant(scale, zero_point) if int8 else None)

    def weights(self, shape: Sequence[int], axis: int, input_scale: float = 0.05) -> list[int]:
        channels = shape[axis]
        w = self.rng.normal(0, 0.3, shape).astype(np.float32)
        bias = self.rng.normal(0, 0.1, channels).astype(np.float32)
        if not self.int8:
            return [self.b.constant("weights", w), self.b.constant("bias", bias)]
        other = tuple(d for d in range(len(shape)) if d != axis)
        scales = (np.abs(w).max(axis=other) / 127).astype(np.float32)
        view = [1] * len(shape)
        view[axis] = -1
        wq = np.clip(np.round(w / scales.reshape(view)), -127, 127).astype(np.int8)
        bias_scales = (input_scale * scales).astype(np.float32)
        bq = np.round(bias / bias_scales).astype(np.int32)
        return [
            self.b.constant("weights", wq, quant(scales, 0, axis)),
            self.b.constant("bias", bq, quant(bias_scales, 0)),
        ]

    def _conv_2d(self) -> tuple[list[int], int]:
        x = self.act("input", (1, 8, 8, 3))
        y = self.act("output", (1, 4, 4, 4), 0.1, 2)
        self.b.operator(
            "CONV_2D",
            [x, *self.weights((4, 3, 3, 3), 0)],
            [y],
            padding="SAME",
            stride_w=2,
            stride_h=2,
            fused_activation_function="RELU",
        )
        return [x], y

    def _depthwise_conv_2d(self) -> tuple[list[int], int]:
        x = self.act("input", (1, 8, 8, 4))
        y = self.act("output", (1, 6, 6, 8), 0.1, 2)
        self.b.operator(
            "DEPTHWISE_CONV_2D",
            [x, *self.weights((1, 3, 3, 8), 3)],
            [y],
            depth_multiplier=2,
            fused_activation_function="RELU6",
        )
        return [x], y

    def _fully_connected(self) -> tuple[list[int], int]:
        x = self.act("input", (1, 16))
        y = self.act("output", (1, 8), 0.1, 2)
        self.b.operator("FULLY_CONNECTED", [x, *self.weights((8, 16), 0)], [y])
        return [x], y

    def _pool(self, opcode: str) -> tuple[list[int], int]:
        x = self.act("input", (1, 8, 8, 4))
        y = self.act("output", (1, 4, 4, 4))  # same parameters as the input: TFLM requires it
        self.b.operator(opcode, [x], [y], filter_width=2, filter_height=2, stride_w=2, stride_h=2)
        return [x], y

    def _average_pool_2d(self) -> tuple[list[int], int]:
        return self._pool("AVERAGE_POOL_2D")

    def _max_pool_2d(self) -> tuple[list[int], int]:
        return self._pool("MAX_POOL_2D")

    def _binary(self, opcode: str, output_scale: float) -> tuple[list[int], int]:
        a = self.act("input1", (1, 4, 4, 3))
        c = self.act("input2", (1, 4, 4, 3), 0.03, 5)
        y = self.act("output", (1, 4, 4, 3), output_scale, -1)
        self.b.operator(opcode, [a, c], [y])
        return [a, c], y

    def _add(self) -> tuple[list[int], int]:
        return self._binary("ADD", 0.08)

    def _mul(self) -> tuple[list[int], int]:
        return self._binary("MUL", 0.02)

    def _softmax(self) -> tuple[list[int], int]:
        x = self.act("input", (1, 10), 0.1, 0)
        y = self.act("output", (1, 10), 1 / 256, -128)
        self.b.operator("SOFTMAX", [x], [y])
        return [x], y

    def _logistic(self) -> tuple[list[int], int]:
        x = self.act("input", (1, 32), 0.1, 0)
        y = self.act("output", (1, 32), 1 / 256, -128)
        self.b.operator("LOGISTIC", [x], [y])
        return [x], y

    def _reshape(self) -> tuple[list[int], int]:
        x = self.act("input", (1, 4, 4, 2))
        shape = self.b.constant("shape", np.array([1, 32], np.int32))
        y = self.act("output", (1, 32))
        self.b.operator("RESHAPE", [x, shape], [y], new_shape=[1, 32])
        return [x], y

    def _pad(self) -> tuple[list[int], int]:
        x = self.act("input", (1, 4, 4, 2))
        paddings = self.b.constant("paddings", np.array([[0, 0], [1, 1], [2, 0], [0, 0]], np.int32))
        y = self.act("output", (1, 6, 6, 2))
        self.b.operator("PAD", [x, paddings], [y])
        return [x], y

    def _mean(self) -> tuple[list[int], int]:
        x = self.act("input", (1, 4, 4, 8))
        axis = self.b.constant("axis", np.array([1, 2], np.int32))
        y = self.act("output", (1, 1, 1, 8), 0.02, 1)
        self.b.operator("MEAN", [x, axis], [y], keep_dims=True)
        return [x], y

    def _concatenation(self) -> tuple[list[int], int]:
        a = self.act("input1", (1, 4, 4, 3))
        c = self.act("input2", (1, 4, 4, 5))
        y = self.act("output", (1, 4, 4, 8))
        self.b.operator("CONCATENATION", [a, c], [y], axis=3)
        return [a, c], y

    def _quantize(self) -> tuple[list[int], int]:
        x = self.act("input", (1, 32), 0.03, 4)  # float32 when the model is float32
        y = self.act("output", (1, 32), 0.045, -6, int8=True)
        self.b.operator("QUANTIZE", [x], [y])
        return [x], y

    def _dequantize(self) -> tuple[list[int], int]:
        x = self.act("input", (1, 32), 0.03, 4, int8=True)
        y = self.act("output", (1, 32), int8=False)
        self.b.operator("DEQUANTIZE", [x], [y])
        return [x], y

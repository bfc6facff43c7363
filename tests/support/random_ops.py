"""Randomized single-operator models for engine tests: shapes, strides, padding, dilation, fused
activations, per-tensor and per-channel quantization, int8 and float32. One builder per op table
entry (harness/engine/ops.py; tests/unit/test_op_table.py checks that none is missing).

    tflite_bytes, inputs = random_case(np.random.default_rng(7), "CONV_2D", "int8")
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from harness.engine.ops import SUPPORTED
from harness.model.writer import ModelBuilder, quant

OPS = SUPPORTED  # the op table's order: seeded runs depend on it
ACTIVATIONS = ("NONE", "RELU", "RELU6", "RELU_N1_TO_1")


class _Case:
    def __init__(self, rng: np.random.Generator, int8: bool):
        self.rng, self.int8 = rng, int8
        self.b = ModelBuilder("random single-op case")
        self.inputs: list[int] = []
        self.values: list[np.ndarray] = []

    def scale(self, low: float = 1e-3, high: float = 0.5) -> float:
        return float(np.float32(np.exp(self.rng.uniform(np.log(low), np.log(high)))))

    def zero_point(self) -> int:
        return int(self.rng.integers(-128, 128))

    def pick(self, options):
        return options[int(self.rng.integers(0, len(options)))]

    def input(self, name: str, shape, q: tuple[float, int] | None = None, int8: bool | None = None) -> int:
        int8 = self.int8 if int8 is None else int8
        if int8:
            q = q or (self.scale(), self.zero_point())
            index = self.b.tensor(name, shape, np.int8, quant(*q))
            self.values.append(self.rng.integers(-128, 128, size=shape).astype(np.int8))
        else:
            index = self.b.tensor(name, shape, np.float32)
            self.values.append(self.rng.standard_normal(shape).astype(np.float32))
        self.inputs.append(index)
        return index

    def output(self, shape, q: tuple[float, int] | None = None, int8: bool | None = None) -> int:
        int8 = self.int8 if int8 is None else int8
        if int8:
            return self.b.tensor("output", shape, np.int8, quant(*(q or (self.scale(), self.zero_point()))))
        return self.b.tensor("output", shape, np.float32)

    def q(self, index: int) -> tuple[float, int]:
        t = self.b.tensors[index]
        return t.scalar_quant()

    def weights(self, shape, axis: int, input_scale: float, bias: bool) -> list[int]:
        """Weights (per-channel or per-tensor int8, or float32) and an optional bias."""
        channels = shape[axis]
        if not self.int8:
            w = [self.b.constant("weights", self.rng.standard_normal(shape).astype(np.float32))]
            if bias:
                w.append(self.b.constant("bias", self.rng.standard_normal(channels).astype(np.float32)))
            return w
        per_channel = self.rng.random() < 0.5
        scales = [self.scale(1e-3, 0.05) for _ in range(channels if per_channel else 1)]
        data = self.rng.integers(-127, 128, size=shape).astype(np.int8)
        w = [self.b.constant("weights", data, quant(scales, 0, axis))]
        if bias:
            bias_scales = [float(np.float32(input_scale * s)) for s in scales]
            values = self.rng.integers(-5000, 5000, size=channels).astype(np.int32)
            w.append(self.b.constant("bias", values, quant(bias_scales, 0)))
        return w

    def accumulator_scale(self, input_scale: float, terms: int) -> tuple[float, int]:
        """An output scale where the accumulated products use a good part of the int8 range."""
        typical = input_scale * 0.025 * 128 * np.sqrt(max(terms, 1)) * 4
        return float(np.float32(typical * np.exp(self.rng.uniform(-1.5, 1.5)) / 128)), self.zero_point()

    def build(self, output: int) -> tuple[bytes, list[np.ndarray]]:
        return self.b.build(self.inputs, [output]), self.values


def _window_geometry(c: _Case, size: int, filt: int, stride: int, dilation: int, padding: str) -> int:
    effective = (filt - 1) * dilation + 1
    return (size + stride - 1) // stride if padding == "SAME" else (size + stride - effective) // stride


def _conv(c: _Case, depthwise: bool) -> tuple[bytes, list[np.ndarray]]:
    rng = c.rng
    while True:
        n, h, w = int(rng.integers(1, 3)), int(rng.integers(1, 12)), int(rng.integers(1, 12))
        kh, kw = int(rng.integers(1, 5)), int(rng.integers(1, 5))
        sh, sw = int(rng.integers(1, 4)), int(rng.integers(1, 4))
        dh, dw = (int(rng.integers(1, 3)), int(rng.integers(1, 3))) if rng.random() < 0.3 else (1, 1)
        padding = c.pick(("SAME", "VALID"))
        oh, ow = (_window_geometry(c, h, kh, sh, dh, padding), _window_geometry(c, w, kw, sw, dw, padding))
        if oh > 0 and ow > 0:
            break
    # a quarter of the cases have wide channels: the DSP kernels' 4-channel blocks and their
    # tails, and filter rows longer than the gathered window (kh * kw * cin > 256)
    wide = rng.random() < 0.25
    cin = int(rng.integers(1, 34 if wide else 9))
    x = c.input("input", (n, h, w, cin))
    in_scale = c.q(x)[0] if c.int8 else 1.0
    if depthwise:
        multiplier = 1 if rng.random() < 0.5 else int(rng.integers(2, 4))  # 1: the hot case
        cout = cin * multiplier
        weights = c.weights((1, kh, kw, cout), 3, in_scale, rng.random() < 0.8)
        options = {"depth_multiplier": multiplier}
        terms = kh * kw
    else:
        cout = int(rng.integers(1, 14 if wide else 9))
        weights = c.weights((cout, kh, kw, cin), 0, in_scale, rng.random() < 0.8)
        options = {}
        terms = kh * kw * cin
    y = c.output((n, oh, ow, cout), c.accumulator_scale(in_scale, terms) if c.int8 else None)
    c.b.operator(
        "DEPTHWISE_CONV_2D" if depthwise else "CONV_2D",
        [x, *weights],
        [y],
        padding=padding,
        stride_h=sh,
        stride_w=sw,
        dilation_h_factor=dh,
        dilation_w_factor=dw,
        fused_activation_function=c.pick(ACTIVATIONS),
        **options,
    )
    return c.build(y)


def _fully_connected(c: _Case) -> tuple[bytes, list[np.ndarray]]:
    rng = c.rng
    long_rows = rng.random() < 0.25  # the DSP kernel's unrolled loop; fewer units to stay small
    batches, units = int(rng.integers(1, 4)), int(rng.integers(1, 10 if long_rows else 24))
    depth = int(rng.integers(48, 300) if long_rows else rng.integers(1, 48))
    x = c.input("input", (batches, depth))
    in_scale = c.q(x)[0] if c.int8 else 1.0
    weights = c.weights((units, depth), 0, in_scale, rng.random() < 0.8)
    y = c.output((batches, units), c.accumulator_scale(in_scale, depth) if c.int8 else None)
    c.b.operator("FULLY_CONNECTED", [x, *weights], [y], fused_activation_function=c.pick(ACTIVATIONS))
    return c.build(y)


def _pool(c: _Case, opcode: str) -> tuple[bytes, list[np.ndarray]]:
    rng = c.rng
    while True:
        h, w = int(rng.integers(1, 12)), int(rng.integers(1, 12))
        fh, fw = int(rng.integers(1, 5)), int(rng.integers(1, 5))
        sh, sw = int(rng.integers(1, 4)), int(rng.integers(1, 4))
        padding = c.pick(("SAME", "VALID"))
        oh, ow = _window_geometry(c, h, fh, sh, 1, padding), _window_geometry(c, w, fw, sw, 1, padding)
        if oh > 0 and ow > 0:
            break
    n, ch = int(rng.integers(1, 3)), int(rng.integers(1, 9))
    x = c.input("input", (n, h, w, ch))
    y = c.output((n, oh, ow, ch), c.q(x) if c.int8 else None)
    c.b.operator(
        opcode,
        [x],
        [y],
        padding=padding,
        stride_h=sh,
        stride_w=sw,
        filter_height=fh,
        filter_width=fw,
        fused_activation_function=c.pick(ACTIVATIONS),
    )
    return c.build(y)


def _broadcast_shapes(rng: np.random.Generator, max_rank: int):
    rank = int(rng.integers(1, max_rank + 1))
    out = [int(rng.integers(1, 6)) for _ in range(rank)]
    a = [d if rng.random() < 0.6 else 1 for d in out]
    b = [d if rng.random() < 0.6 else 1 for d in out]
    if rng.random() < 0.3:
        a = a[int(rng.integers(0, rank)) :] or [1]
    if rng.random() < 0.3:
        b = b[int(rng.integers(0, rank)) :] or [1]
    return a, b, list(np.broadcast_shapes(tuple(a), tuple(b)))


def _binary(c: _Case, opcode: str) -> tuple[bytes, list[np.ndarray]]:
    sa, sb, so = _broadcast_shapes(c.rng, 4)
    a = c.input("input1", sa)
    b = c.input("input2", sb, c.q(a) if c.int8 and c.rng.random() < 0.15 else None)
    q = None
    if c.int8:
        q = (c.scale(), c.zero_point()) if opcode == "ADD" else (c.scale(1e-4, 0.1), c.zero_point())
    y = c.output(so, q)
    c.b.operator(opcode, [a, b], [y], fused_activation_function=c.pick(ACTIVATIONS))
    return c.build(y)


def _shape(rng: np.random.Generator, low_rank: int = 1, high_rank: int = 4, high: int = 7):
    return [int(rng.integers(1, high)) for _ in range(int(rng.integers(low_rank, high_rank + 1)))]


def _softmax_or_logistic(c: _Case, opcode: str) -> tuple[bytes, list[np.ndarray]]:
    shape = _shape(c.rng, high=12)
    x = c.input("input", shape, (c.scale(1e-2, 0.5), c.zero_point()) if c.int8 else None)
    y = c.output(shape, (1 / 256, -128) if c.int8 else None)
    options = {"beta": float(c.rng.uniform(0.3, 2.0))} if opcode == "SOFTMAX" else {}
    c.b.operator(opcode, [x], [y], **options)
    return c.build(y)


def _reshape(c: _Case) -> tuple[bytes, list[np.ndarray]]:
    shape = _shape(c.rng)
    x = c.input("input", shape)
    new_shape = [1, int(np.prod(shape))] if c.rng.random() < 0.5 else list(reversed(shape))
    shape_t = c.b.constant("shape", np.array(new_shape, np.int32))
    y = c.output(new_shape, c.q(x) if c.int8 else None)
    c.b.operator("RESHAPE", [x, shape_t], [y], new_shape=new_shape)
    return c.build(y)


def _pad(c: _Case) -> tuple[bytes, list[np.ndarray]]:
    shape = _shape(c.rng, high=6)
    pads = [[int(c.rng.integers(0, 3)), int(c.rng.integers(0, 3))] for _ in shape]
    x = c.input("input", shape)
    paddings = c.b.constant("paddings", np.array(pads, np.int32))
    y = c.output([d + p[0] + p[1] for d, p in zip(shape, pads)], c.q(x) if c.int8 else None)
    c.b.operator("PAD", [x, paddings], [y])
    return c.build(y)


def _mean(c: _Case) -> tuple[bytes, list[np.ndarray]]:
    rng = c.rng
    shape = _shape(rng, high=8)
    rank = len(shape)
    if rank == 4 and rng.random() < 0.4:
        axes = [1, 2]
    else:
        count = int(rng.integers(1, min(rank, 2) + 1))
        axes = sorted(int(a) for a in rng.choice(rank, size=count, replace=False))
        axes = [a - rank if rng.random() < 0.3 else a for a in axes]
    keep_dims = bool(rng.random() < 0.5)
    reduced = {a % rank for a in axes}
    out = [1 if i in reduced else d for i, d in enumerate(shape) if keep_dims or i not in reduced]
    x = c.input("input", shape)
    axes_t = c.b.constant("axes", np.array(axes, np.int32))
    q = None
    if c.int8:
        q = c.q(x) if rng.random() < 0.25 else (c.scale(), c.zero_point())
    y = c.output(out, q)
    c.b.operator("MEAN", [x, axes_t], [y], keep_dims=keep_dims)
    return c.build(y)


def _concatenation(c: _Case) -> tuple[bytes, list[np.ndarray]]:
    rng = c.rng
    shape = _shape(rng, high=5)
    axis = int(rng.integers(-len(shape), len(shape)))
    q = (c.scale(), c.zero_point()) if c.int8 else None
    parts = []
    for _ in range(int(rng.integers(1, 5))):
        part = list(shape)
        part[axis] = int(rng.integers(1, 5))
        parts.append(part)
    inputs = [c.input(f"input{i}", part, q) for i, part in enumerate(parts)]
    out = list(shape)
    out[axis] = sum(p[axis] for p in parts)
    y = c.output(out, q)
    c.b.operator("CONCATENATION", inputs, [y], axis=axis)
    return c.build(y)


def _quantize(c: _Case) -> tuple[bytes, list[np.ndarray]]:
    shape = _shape(c.rng)
    x = c.input("input", shape)  # float32 in a float case, int8 (requantize) in an int8 case
    y = c.output(shape, (c.scale(), c.zero_point()), int8=True)
    c.b.operator("QUANTIZE", [x], [y])
    return c.build(y)


def _dequantize(c: _Case) -> tuple[bytes, list[np.ndarray]]:
    shape = _shape(c.rng)
    x = c.input("input", shape, int8=True)
    y = c.output(shape, int8=False)
    c.b.operator("DEQUANTIZE", [x], [y])
    return c.build(y)


BUILDERS: dict[str, Callable[[_Case], tuple[bytes, list[np.ndarray]]]] = {
    "CONV_2D": lambda c: _conv(c, False),
    "DEPTHWISE_CONV_2D": lambda c: _conv(c, True),
    "FULLY_CONNECTED": _fully_connected,
    "AVERAGE_POOL_2D": lambda c: _pool(c, "AVERAGE_POOL_2D"),
    "MAX_POOL_2D": lambda c: _pool(c, "MAX_POOL_2D"),
    "ADD": lambda c: _binary(c, "ADD"),
    "MUL": lambda c: _binary(c, "MUL"),
    "SOFTMAX": lambda c: _softmax_or_logistic(c, "SOFTMAX"),
    "LOGISTIC": lambda c: _softmax_or_logistic(c, "LOGISTIC"),
    "RESHAPE": _reshape,
    "PAD": _pad,
    "MEAN": _mean,
    "CONCATENATION": _concatenation,
    "QUANTIZE": _quantize,
    "DEQUANTIZE": _dequantize,
}


def random_case(rng: np.random.Generator, opcode: str, dtype: str = "int8") -> tuple[bytes, list[np.ndarray]]:
    """A random model of one `opcode` operator and matching random inputs."""
    return BUILDERS[opcode](_Case(rng, dtype == "int8"))

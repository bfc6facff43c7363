"""Lowers each .tflite operator to what the device engine executes: its data tensors and a record
of integer parameters computed exactly as TFLM's Prepare() computes them (harness/model/requant.py).
One function per operator; the op table (harness/engine/ops.py) says which and runs them.

Anything the engine cannot execute bit-exactly raises UnsupportedModel naming the layer.
Each operator's parameter record is packed by field name with the layout that
harness/contracts/model_format.yaml gives it (the same YAML generates the firmware's structs).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..contracts import Record
from ..model import requant
from ..model.tflite import Model, ModelError, Operator, Tensor
from .format import MAX_OP_INPUTS, MAX_RANK, OPCODES, op_params

FLT_MAX = float(np.finfo(np.float32).max)
ACTIVATIONS = {"NONE": (-FLT_MAX, FLT_MAX), "RELU": (0.0, FLT_MAX), "RELU6": (0.0, 6.0), "RELU_N1_TO_1": (-1.0, 1.0)}


class UnsupportedModel(ModelError):
    """The model uses an operator, type or option the device engine does not execute."""


@dataclass
class LoweredOp:
    opcode: str
    dtype: np.dtype  # the type the kernel computes in (int8 or float32)
    inputs: list[int]  # data tensors the engine passes to the kernel
    outputs: list[int]
    params: bytes
    # int32 arrays (per-channel multipliers, shifts) the params refer to by name; the packer
    # places them and patches their file offsets into the params' `array_slots` fields.
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    array_slots: dict[str, str] = field(default_factory=dict)  # array name -> field of `layout`
    layout: Record | None = None  # the layout of `params` (None: the operator has none)

    @property
    def code(self) -> int:
        return OPCODES[self.opcode]


class Layer:
    """One operator being lowered, with helpers that fail naming the layer."""

    def __init__(self, model: Model, op: Operator):
        self.model, self.op = model, op

    def fail(self, why: str) -> UnsupportedModel:
        return UnsupportedModel(f"layer {self.op.index} ({self.op.opcode}): {why}")

    def tensor(self, position: int, outputs: bool = False) -> Tensor:
        indices = self.op.outputs if outputs else self.op.inputs
        if position >= len(indices) or indices[position] < 0:
            raise self.fail(f"missing {'output' if outputs else 'input'} {position}")
        return self.model.tensors[indices[position]]

    def optional(self, position: int) -> Tensor | None:
        if position >= len(self.op.inputs) or self.op.inputs[position] < 0:
            return None
        return self.model.tensors[self.op.inputs[position]]

    def option(self, name: str, default: object = None) -> object:
        return self.op.options.get(name, default)

    def int_option(self, name: str, default: int) -> int:
        value = self.option(name, default)
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise self.fail(f"option {name} is {value!r}, not an integer")
        return int(value)

    def float_option(self, name: str, default: float) -> float:
        value = self.option(name, default)
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise self.fail(f"option {name} is {value!r}, not a number")
        return float(value)

    def activation(self) -> str:
        act = str(self.option("fused_activation_function", "NONE"))
        if act not in ACTIVATIONS:
            raise self.fail(f"fused activation {act} is not supported (supported: {', '.join(ACTIVATIONS)})")
        return act

    def dtype(self, t: Tensor, allowed: tuple[type, ...] = (np.int8, np.float32)) -> np.dtype:
        if t.dtype not in [np.dtype(a) for a in allowed]:
            raise self.fail(
                f"tensor {t.index} ({t.name}) has type {t.dtype}; supported: "
                f"{', '.join(str(np.dtype(a)) for a in allowed)}"
            )
        return t.dtype

    def same_dtype(self, *tensors: Tensor) -> np.dtype:
        dtype = self.dtype(tensors[0])
        for t in tensors[1:]:
            if t.dtype != dtype:
                raise self.fail(f"mixes {dtype} and {t.dtype} tensors ({t.name}); hybrid models are not supported")
        return dtype

    def qparams(self, t: Tensor) -> tuple[float, int]:
        if t.quant is None:
            raise self.fail(f"int8 tensor {t.index} ({t.name}) has no quantization parameters")
        if t.quant.per_channel:
            raise self.fail(f"tensor {t.index} ({t.name}) is quantized per channel; only weights may be")
        return float(t.quant.scale[0]), int(t.quant.zero_point[0])

    def constant(self, t: Tensor, what: str) -> np.ndarray:
        if t.data is None:
            raise self.fail(f"{what} tensor {t.index} ({t.name}) must be constant")
        return t.data

    def rank(self, t: Tensor, low: int, high: int) -> None:
        if not low <= len(t.shape) <= high:
            raise self.fail(f"tensor {t.index} ({t.name}) has rank {len(t.shape)}; supported {low}..{high}")

    def act_range_int8(self, t: Tensor, act: str) -> tuple[int, int]:
        scale, zero_point = self.qparams(t)
        return requant.activation_range(act, scale, zero_point)


def _op(
    opcode: str,
    dtype: np.dtype,
    inputs: list[int],
    outputs: list[int],
    arrays: dict[str, np.ndarray] | None = None,
    **params: object,
) -> LoweredOp:
    """The lowered operator, its parameters packed by field name into the record the contract
    gives `opcode` computing in `dtype`; each of `arrays` goes to the field `<name>_offset`."""
    layout = op_params(opcode, dtype)
    slots = {name: f"{name}_offset" for name in arrays or {}}
    params.update({slot: 0 for slot in slots.values()})  # patched by the packer
    if layout is None and params:
        raise TypeError(f"{opcode} ({np.dtype(dtype)}) has no parameter record")
    packed = b"" if layout is None else layout.pack(**params)
    return LoweredOp(opcode, dtype, inputs, outputs, packed, dict(arrays or {}), slots, layout)


def _out_size(padding: str, size: int, filt: int, stride: int, dilation: int) -> int:
    effective = (filt - 1) * dilation + 1
    if padding == "SAME":
        return (size + stride - 1) // stride
    return (size + stride - effective) // stride


def _padding(padding: str, size: int, filt: int, stride: int, dilation: int, out: int) -> int:
    effective = (filt - 1) * dilation + 1
    return max((out - 1) * stride + effective - size, 0) // 2


def _window(
    layer: Layer, x: Tensor, y: Tensor, fh: int, fw: int, dh: int = 1, dw: int = 1
) -> tuple[int, int, int, int]:
    """Strides and padding of a 2-D window op; checks the output shape TFLM would compute."""
    padding = str(layer.option("padding", "SAME"))
    if padding not in ("SAME", "VALID"):
        raise layer.fail(f"padding {padding} is not supported")
    sh, sw = layer.int_option("stride_h", 1), layer.int_option("stride_w", 1)
    if min(sh, sw, dh, dw, fh, fw) < 1:
        raise layer.fail("strides, dilations and window sizes must be positive")
    oh, ow = _out_size(padding, x.shape[1], fh, sh, dh), _out_size(padding, x.shape[2], fw, sw, dw)
    if (oh, ow) != tuple(y.shape[1:3]) or y.shape[0] != x.shape[0]:
        raise layer.fail(
            f"output shape {list(y.shape)} does not match the input {list(x.shape)} "
            f"and window (expected height {oh}, width {ow})"
        )
    return (sh, sw, _padding(padding, x.shape[1], fh, sh, dh, oh), _padding(padding, x.shape[2], fw, sw, dw, ow))


def conv(layer: Layer, depthwise: bool) -> LoweredOp:
    x, w, y = layer.tensor(0), layer.tensor(1), layer.tensor(0, outputs=True)
    bias = layer.optional(2)
    dtype = layer.same_dtype(x, w, y)
    for t in (x, w, y):
        if len(t.shape) != 4:
            raise layer.fail(f"tensor {t.index} ({t.name}) must have rank 4, has {len(t.shape)}")
    layer.constant(w, "weights")
    act = layer.activation()
    dh, dw = layer.int_option("dilation_h_factor", 1), layer.int_option("dilation_w_factor", 1)
    sh, sw, ph, pw = _window(layer, x, y, w.shape[1], w.shape[2], dh, dw)
    out_c = y.shape[3]
    if depthwise:
        if w.shape[0] != 1 or w.shape[3] != out_c or out_c % x.shape[3]:
            raise layer.fail(f"filter {list(w.shape)} does not fit input {list(x.shape)} and output {list(y.shape)}")
        multiplier = out_c // x.shape[3]
    else:
        if w.shape[0] != out_c or x.shape[3] % w.shape[3]:
            raise layer.fail(f"filter {list(w.shape)} does not fit input {list(x.shape)} and output {list(y.shape)}")
        multiplier = 0
    inputs = [x.index, w.index]
    if bias is not None:
        bias_values = layer.constant(bias, "bias")
        if bias_values.size != out_c:
            raise layer.fail(f"bias has {bias_values.size} values for {out_c} output channels")
        inputs.append(bias.index)
    geometry: dict[str, Any] = {
        "stride_h": sh,
        "stride_w": sw,
        "dilation_h": dh,
        "dilation_w": dw,
        "pad_h": ph,
        "pad_w": pw,
        "depth_multiplier": multiplier,
    }
    if dtype == np.float32:
        if bias is not None and bias.dtype != np.float32:
            raise layer.fail(f"float model with a {bias.dtype} bias")
        lo_f, hi_f = ACTIVATIONS[act]
        return _op(layer.op.opcode, dtype, inputs, [y.index], **geometry, act_min=lo_f, act_max=hi_f)
    if bias is not None and bias.dtype != np.int32:
        raise layer.fail(f"int8 model with a {bias.dtype} bias; only int32 bias is supported")
    in_scale, in_zp = layer.qparams(x)
    out_scale, out_zp = layer.qparams(y)
    w_scales = _weight_scales(layer, w, axis=3 if depthwise else 0, channels=out_c)
    mult, shift = requant.per_channel_multipliers(in_scale, w_scales, out_scale)
    lo, hi = layer.act_range_int8(y, act)
    return _op(
        layer.op.opcode,
        dtype,
        inputs,
        [y.index],
        {"multipliers": mult, "shifts": shift},
        **geometry,
        input_offset=-in_zp,
        output_offset=out_zp,
        act_min=lo,
        act_max=hi,
        per_channel=1,
    )


def _weight_scales(layer: Layer, w: Tensor, axis: int, channels: int) -> np.ndarray:
    """Filter scales, one per output channel (a per-tensor scale repeated, as TFLM does)."""
    if w.quant is None:
        raise layer.fail(f"int8 weights {w.name} have no quantization parameters")
    if np.any(w.quant.zero_point != 0):
        raise layer.fail(f"weights {w.name} have a non-zero zero point; TFLM requires symmetric weights")
    scales = w.quant.scale
    if scales.size == 1:
        return np.repeat(scales, channels)
    if scales.size != channels or w.quant.axis != axis:
        raise layer.fail(
            f"weights {w.name} have {scales.size} scales on axis {w.quant.axis}; expected {channels} on axis {axis}"
        )
    return scales


def fully_connected(layer: Layer) -> LoweredOp:
    x, w, y = layer.tensor(0), layer.tensor(1), layer.tensor(0, outputs=True)
    bias = layer.optional(2)
    dtype = layer.same_dtype(x, w, y)
    layer.constant(w, "weights")
    if str(layer.option("weights_format", "DEFAULT")) != "DEFAULT":
        raise layer.fail(f"weights format {layer.option('weights_format')} is not supported")
    if len(w.shape) != 2:
        raise layer.fail(f"weights must have rank 2, have shape {list(w.shape)}")
    units, depth = w.shape
    size = int(np.prod(x.shape))
    if depth == 0 or size % depth or int(np.prod(y.shape)) != size // depth * units:
        raise layer.fail(
            f"input {list(x.shape)}, weights {list(w.shape)} and output {list(y.shape)} do not fit together"
        )
    batches = size // depth
    act = layer.activation()
    inputs = [x.index, w.index]
    if bias is not None:
        bias_values = layer.constant(bias, "bias")
        if bias_values.size != units:
            raise layer.fail(f"bias has {bias_values.size} values for {units} units")
        inputs.append(bias.index)
    if dtype == np.float32:
        lo_f, hi_f = ACTIVATIONS[act]
        return _op(
            "FULLY_CONNECTED",
            dtype,
            inputs,
            [y.index],
            act_min=lo_f,
            act_max=hi_f,
            batches=batches,
            accum_depth=depth,
            output_depth=units,
        )
    if bias is not None and bias.dtype != np.int32:
        raise layer.fail(f"int8 model with a {bias.dtype} bias; only int32 bias is supported")
    in_scale, in_zp = layer.qparams(x)
    out_scale, out_zp = layer.qparams(y)
    if w.quant is None:
        raise layer.fail(f"int8 weights {w.name} have no quantization parameters")
    per_channel = w.quant.per_channel
    if per_channel and (w.quant.scale.size != units or np.any(w.quant.zero_point != 0)):
        raise layer.fail(f"per-channel weights {w.name} need {units} scales and zero points 0")
    mult, shift = requant.per_channel_multipliers(in_scale, w.quant.scale, out_scale)
    lo, hi = layer.act_range_int8(y, act)
    filter_offset = -int(w.quant.zero_point[0])
    return _op(
        "FULLY_CONNECTED",
        dtype,
        inputs,
        [y.index],
        {"multipliers": mult, "shifts": shift},
        input_offset=-in_zp,
        filter_offset=filter_offset,
        output_offset=out_zp,
        act_min=lo,
        act_max=hi,
        per_channel=int(per_channel),
        batches=batches,
        accum_depth=depth,
        output_depth=units,
    )


def pool(layer: Layer) -> LoweredOp:
    x, y = layer.tensor(0), layer.tensor(0, outputs=True)
    dtype = layer.same_dtype(x, y)
    for t in (x, y):
        if len(t.shape) != 4:
            raise layer.fail(f"tensor {t.index} ({t.name}) must have rank 4")
    if x.shape[3] != y.shape[3]:
        raise layer.fail("input and output channels differ")
    fh, fw = layer.int_option("filter_height", 1), layer.int_option("filter_width", 1)
    sh, sw, ph, pw = _window(layer, x, y, fh, fw)
    act = layer.activation()
    lo, hi = -128, 127
    if dtype == np.int8:
        if layer.qparams(x) != layer.qparams(y):
            raise layer.fail("input and output quantization differ; TFLM requires them equal")
        lo, hi = layer.act_range_int8(y, act)
    lo_f, hi_f = ACTIVATIONS[act]
    return _op(
        layer.op.opcode,
        dtype,
        [x.index],
        [y.index],
        stride_h=sh,
        stride_w=sw,
        filter_h=fh,
        filter_w=fw,
        pad_h=ph,
        pad_w=pw,
        act_min=lo,
        act_max=hi,
        act_min_f=lo_f,
        act_max_f=hi_f,
    )


def _broadcastable(layer: Layer, a: Tensor, b: Tensor, y: Tensor) -> None:
    for t in (a, b, y):
        layer.rank(t, 0, MAX_RANK)
    try:
        shape = np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise layer.fail(f"shapes {list(a.shape)} and {list(b.shape)} do not broadcast") from None
    if tuple(shape) != tuple(y.shape):
        raise layer.fail(f"output shape {list(y.shape)} is not the broadcast shape {list(shape)}")


def binary(layer: Layer) -> LoweredOp:
    a, b, y = layer.tensor(0), layer.tensor(1), layer.tensor(0, outputs=True)
    dtype = layer.same_dtype(a, b, y)
    _broadcastable(layer, a, b, y)
    act = layer.activation()
    data = [a.index, b.index]
    if a.is_constant or b.is_constant:
        raise layer.fail("constant operands are not supported (only activations)")
    if dtype == np.float32:
        lo_f, hi_f = ACTIVATIONS[act]
        return _op(layer.op.opcode, dtype, data, [y.index], act_min=lo_f, act_max=hi_f)
    (s1, z1), (s2, z2), (so, zo) = layer.qparams(a), layer.qparams(b), layer.qparams(y)
    lo, hi = layer.act_range_int8(y, act)
    if layer.op.opcode == "ADD":
        p = requant.add_params(s1, s2, so)
        return _op(
            "ADD",
            dtype,
            data,
            [y.index],
            input1_offset=-z1,
            input2_offset=-z2,
            output_offset=zo,
            left_shift=p.left_shift,
            input1_multiplier=p.input1_multiplier,
            input1_shift=p.input1_shift,
            input2_multiplier=p.input2_multiplier,
            input2_shift=p.input2_shift,
            output_multiplier=p.output_multiplier,
            output_shift=p.output_shift,
            act_min=lo,
            act_max=hi,
        )
    m, s = requant.mul_multiplier(s1, s2, so)
    return _op(
        "MUL",
        dtype,
        data,
        [y.index],
        input1_offset=-z1,
        input2_offset=-z2,
        output_offset=zo,
        output_multiplier=m,
        output_shift=s,
        act_min=lo,
        act_max=hi,
    )


def softmax(layer: Layer) -> LoweredOp:
    x, y = layer.tensor(0), layer.tensor(0, outputs=True)
    dtype = layer.same_dtype(x, y)
    _same_size(layer, x, y)
    beta = layer.float_option("beta", 1.0)
    if dtype == np.float32:
        return _op("SOFTMAX", dtype, [x.index], [y.index], beta=beta)
    _fixed_output(layer, y)
    p = requant.softmax_params(layer.qparams(x)[0], beta)
    return _op(
        "SOFTMAX",
        dtype,
        [x.index],
        [y.index],
        input_multiplier=p.input_multiplier,
        input_left_shift=p.input_left_shift,
        diff_min=p.diff_min,
    )


def logistic(layer: Layer) -> LoweredOp:
    x, y = layer.tensor(0), layer.tensor(0, outputs=True)
    dtype = layer.same_dtype(x, y)
    _same_size(layer, x, y)
    if dtype == np.float32:
        return _op("LOGISTIC", dtype, [x.index], [y.index])
    _fixed_output(layer, y)
    p = requant.logistic_params(*layer.qparams(x))
    return _op(
        "LOGISTIC",
        dtype,
        [x.index],
        [y.index],
        input_zero_point=p.input_zero_point,
        input_range_radius=p.input_range_radius,
        input_multiplier=p.input_multiplier,
        input_left_shift=p.input_left_shift,
    )


def _fixed_output(layer: Layer, y: Tensor) -> None:
    scale, zero_point = layer.qparams(y)
    if zero_point != -128 or abs(scale - 1 / 256) > 1e-9:
        raise layer.fail(f"int8 output must have scale 1/256 and zero point -128, has {scale} and {zero_point}")


def _same_size(layer: Layer, x: Tensor, y: Tensor) -> None:
    if int(np.prod(x.shape)) != int(np.prod(y.shape)):
        raise layer.fail(f"input {list(x.shape)} and output {list(y.shape)} differ in size")


def reshape(layer: Layer) -> LoweredOp:
    x, y = layer.tensor(0), layer.tensor(0, outputs=True)
    dtype = layer.same_dtype(x, y)
    _same_size(layer, x, y)
    if dtype == np.int8 and layer.qparams(x) != layer.qparams(y):
        raise layer.fail("input and output quantization differ")
    return _op("RESHAPE", dtype, [x.index], [y.index])


def pad(layer: Layer) -> LoweredOp:
    x, paddings, y = layer.tensor(0), layer.tensor(1), layer.tensor(0, outputs=True)
    dtype = layer.same_dtype(x, y)
    layer.rank(x, 1, MAX_RANK)
    pads = np.asarray(layer.constant(paddings, "paddings"), np.int64).reshape(-1, 2)
    if pads.shape[0] != len(x.shape) or np.any(pads < 0):
        raise layer.fail(f"paddings {pads.tolist()} do not fit input rank {len(x.shape)}")
    if tuple(np.array(x.shape) + pads.sum(axis=1)) != tuple(y.shape):
        raise layer.fail(f"output shape {list(y.shape)} is not the padded input shape")
    before = [int(v) for v in pads[:, 0]] + [0] * (MAX_RANK - len(x.shape))
    after = [int(v) for v in pads[:, 1]] + [0] * (MAX_RANK - len(x.shape))
    pad_value = 0
    if dtype == np.int8:
        if layer.qparams(x) != layer.qparams(y):
            raise layer.fail("input and output quantization differ")
        pad_value = layer.qparams(y)[1]
    return _op("PAD", dtype, [x.index], [y.index], before=before, after=after, value_s8=pad_value, value_f32=0.0)


def mean(layer: Layer) -> LoweredOp:
    x, axes_t, y = layer.tensor(0), layer.tensor(1), layer.tensor(0, outputs=True)
    dtype = layer.same_dtype(x, y)
    layer.rank(x, 1, MAX_RANK)
    axes = [int(a) for a in np.asarray(layer.constant(axes_t, "axes")).reshape(-1)]
    if not 1 <= len(axes) <= MAX_RANK or any(not -len(x.shape) <= a < len(x.shape) for a in axes):
        raise layer.fail(f"axes {axes} do not fit input rank {len(x.shape)}")
    reduced = {a % len(x.shape) for a in axes}
    kept = int(np.prod([d for i, d in enumerate(x.shape) if i not in reduced]))
    if kept != int(np.prod(y.shape)):
        raise layer.fail(f"output shape {list(y.shape)} does not match reducing axes {axes}")
    axes_field = axes + [0] * (MAX_RANK - len(axes))
    if dtype == np.float32:
        return _op("MEAN", dtype, [x.index], [y.index], num_axes=len(axes), axes=axes_field)
    (si, zi), (so, zo) = layer.qparams(x), layer.qparams(y)
    m, s = requant.rescale_multiplier(si, so)
    return _op(
        "MEAN",
        dtype,
        [x.index],
        [y.index],
        input_zero_point=zi,
        output_zero_point=zo,
        multiplier=m,
        shift=s,
        num_axes=len(axes),
        axes=axes_field,
    )


def concatenation(layer: Layer) -> LoweredOp:
    inputs = [layer.tensor(i) for i in range(len(layer.op.inputs))]
    y = layer.tensor(0, outputs=True)
    dtype = layer.same_dtype(*inputs, y)
    if not 1 <= len(inputs) <= MAX_OP_INPUTS:
        raise layer.fail(f"{len(inputs)} inputs; the engine takes 1..{MAX_OP_INPUTS}")
    if layer.activation() != "NONE":
        raise layer.fail("a fused activation on CONCATENATION is not supported")
    for t in inputs:
        layer.rank(t, 1, MAX_RANK)
        if t.is_constant:
            raise layer.fail(f"constant input {t.name} is not supported")
        if dtype == np.int8 and layer.qparams(t) != layer.qparams(y):
            raise layer.fail(
                f"input {t.name} is quantized differently from the output (requantizing concatenation is not supported)"
            )
    axis = layer.int_option("axis", 0)
    rank = len(y.shape)
    if not -rank <= axis < rank:
        raise layer.fail(f"axis {axis} out of range for rank {rank}")
    return _op("CONCATENATION", dtype, [t.index for t in inputs], [y.index], axis=axis)


def quantize(layer: Layer) -> LoweredOp:
    x, y = layer.tensor(0), layer.tensor(0, outputs=True)
    layer.dtype(x)
    if y.dtype != np.int8:
        raise layer.fail(f"output type {y.dtype} is not supported (int8 only)")
    _same_size(layer, x, y)
    so, zo = layer.qparams(y)
    if x.dtype == np.float32:
        return _op("QUANTIZE", x.dtype, [x.index], [y.index], scale=so, zero_point=zo)
    si, zi = layer.qparams(x)
    m, s = requant.rescale_multiplier(si, so)
    return _op(
        "QUANTIZE", x.dtype, [x.index], [y.index], input_zero_point=zi, output_zero_point=zo, multiplier=m, shift=s
    )


def dequantize(layer: Layer) -> LoweredOp:
    x, y = layer.tensor(0), layer.tensor(0, outputs=True)
    if x.dtype != np.int8 or y.dtype != np.float32:
        raise layer.fail(f"{x.dtype} -> {y.dtype} is not supported (int8 -> float32 only)")
    _same_size(layer, x, y)
    scale, zero_point = layer.qparams(x)
    return _op("DEQUANTIZE", x.dtype, [x.index], [y.index], scale=scale, zero_point=zero_point)

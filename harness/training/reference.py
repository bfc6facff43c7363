"""docs/training_spec.md in numpy: int8 forward as TFLM, float32 backward, QAS, sparse in-place SGD.

`TrainingReference(setup)` owns a copy of the setup and updates it exactly as the device does;
`step(sample, label)` returns the float32 loss. Loops that sum run sequentially in the spec's order
(numpy's sum/dot would reorder the additions), vectorised only across independent elements.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..model.requant import (
    multiply_by_quantized_multiplier,
    rounding_divide_by_pot,
    saturating_rounding_doubling_high_mul,
)
from .f32math import expf, logf, round_to_int, rounding_base, stochastic_round, uniform
from .setup import TrainingSetupError, TrainLayer, TrainSetup

F = np.float32
WEIGHT_STEP_LIMIT = 256.0
BIAS_STEP_LIMIT = 1073741824.0  # 2^30


@dataclass
class StepResult:
    loss: np.float32
    predicted: int
    logits: np.ndarray  # int8 output of the last layer, before the update


def check_sample(setup: TrainSetup, sample: np.ndarray, label: int | None = None) -> np.ndarray:
    sample = np.asarray(sample)
    if sample.dtype != np.int8 or sample.size != setup.input_size:
        raise TrainingSetupError(
            f"sample must be {setup.input_size} int8 values "
            f"(shape {setup.input_shape}), got {sample.size} {sample.dtype}"
        )
    if label is not None and not 0 <= int(label) < setup.num_classes:
        raise TrainingSetupError(f"label {label} out of range 0..{setup.num_classes - 1}")
    return sample.reshape(-1)


def dense_forward(layer: TrainLayer, x: np.ndarray) -> np.ndarray:
    """FULLY_CONNECTED / 1x1 CONV_2D int8 (TFLM reference), per output channel requantization."""
    assert (
        layer.weights is not None
        and layer.bias is not None
        and layer.weight_scales is not None
        and layer.multiplier is not None
        and layer.shift is not None
    ), "only an avgpool layer has no parameters"
    cin = layer.in_shape[2]
    xs = x.reshape(layer.positions, cin).astype(np.int64) - layer.input_zero_point
    acc = xs @ layer.weights.astype(np.int64).T + layer.bias.astype(np.int64)
    acc = ((acc + (1 << 31)) % (1 << 32)) - (1 << 31)  # int32 accumulator wraps as in C
    out = multiply_by_quantized_multiplier(acc, layer.multiplier, layer.shift) + layer.output_zero_point
    return np.clip(out, layer.act_min, layer.act_max).astype(np.int8).reshape(-1)


def avgpool_forward(layer: TrainLayer, x: np.ndarray) -> np.ndarray:
    """Global AVERAGE_POOL_2D int8 (TFLM): rounded half away from zero, clamped."""
    n = layer.positions
    total = x.reshape(n, layer.in_shape[2]).astype(np.int64).sum(axis=0)
    half = n // 2
    avg = np.where(total > 0, (total + half) // n, -((-(total - half)) // n))
    return np.clip(avg, layer.act_min, layer.act_max).astype(np.int8)


def _taps(layer: TrainLayer):
    """(oh, ow, kh, kw, ih, iw) of every kernel tap inside the input, in the spec's order: output
    positions row-major, then kernel rows and columns (TFLM skips the padding)."""
    h, w, _ = layer.in_shape
    oh_count, ow_count, _ = layer.out_shape
    pad_h, pad_w = layer.padding
    for oh in range(oh_count):
        for ow in range(ow_count):
            for i in range(layer.kernel[0]):
                for j in range(layer.kernel[1]):
                    ih, iw = oh * layer.stride - pad_h + i, ow * layer.stride - pad_w + j
                    if 0 <= ih < h and 0 <= iw < w:
                        yield oh, ow, i, j, ih, iw


def depthwise_forward(layer: TrainLayer, x: np.ndarray) -> np.ndarray:
    """DEPTHWISE_CONV_2D int8 (TFLM reference): stride 1 or 2, SAME padding, depth multiplier 1."""
    assert (
        layer.weights is not None
        and layer.bias is not None
        and layer.weight_scales is not None
        and layer.multiplier is not None
        and layer.shift is not None
    ), "only an avgpool layer has no parameters"
    h, w, c = layer.in_shape
    xs = x.reshape(h, w, c).astype(np.int64) - layer.input_zero_point
    acc = np.broadcast_to(layer.bias.astype(np.int64), layer.out_shape).copy()
    for oh, ow, i, j, ih, iw in _taps(layer):  # integer sums: exact in any order
        acc[oh, ow] += layer.weights[i, j].astype(np.int64) * xs[ih, iw]
    acc = ((acc + (1 << 31)) % (1 << 32)) - (1 << 31)
    out = multiply_by_quantized_multiplier(acc, layer.multiplier, layer.shift) + layer.output_zero_point
    return np.clip(out, layer.act_min, layer.act_max).astype(np.int8).reshape(-1)


def _tap_grid(layer: TrainLayer, kh: int, kw: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For kernel tap (kh, kw): the input row of each output row, the input column of each output
    column, and [OH, OW] whether the tap lies inside the input."""
    h, w, _ = layer.in_shape
    oh, ow, _ = layer.out_shape
    pad_h, pad_w = layer.padding
    rows = np.arange(oh) * layer.stride - pad_h + kh
    cols = np.arange(ow) * layer.stride - pad_w + kw
    inside = ((rows >= 0) & (rows < h))[:, None] & ((cols >= 0) & (cols < w))[None, :]
    return np.clip(rows, 0, h - 1), np.clip(cols, 0, w - 1), inside


def conv_forward(layer: TrainLayer, x: np.ndarray) -> np.ndarray:
    """CONV_2D int8 (TFLM reference): OHWI weights, stride 1 or 2, SAME padding."""
    assert layer.weights is not None and layer.bias is not None
    assert layer.multiplier is not None and layer.shift is not None
    xs = x.reshape(layer.in_shape).astype(np.int64) - layer.input_zero_point
    acc = np.broadcast_to(layer.bias.astype(np.int64), layer.out_shape).copy()
    weights = layer.weights.astype(np.int64)
    for kh in range(layer.kernel[0]):  # integer sums: exact in any order
        for kw in range(layer.kernel[1]):
            rows, cols, inside = _tap_grid(layer, kh, kw)
            patch = np.where(inside[..., None], xs[rows][:, cols], 0)  # [OH, OW, Cin]
            acc += patch @ weights[:, kh, kw, :].T
    acc = ((acc + (1 << 31)) % (1 << 32)) - (1 << 31)
    out = multiply_by_quantized_multiplier(acc, layer.multiplier, layer.shift) + layer.output_zero_point
    return np.clip(out, layer.act_min, layer.act_max).astype(np.int8).reshape(-1)


def _mbqm_smaller_than_one(x: np.ndarray, multiplier: int, shift: int) -> np.ndarray:
    return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(x, multiplier), -shift)


def add_forward(layer: TrainLayer, x: np.ndarray, skip: np.ndarray) -> np.ndarray:
    """ADD int8 (TFLM add_common, left shift 20): multipliers/shifts (input 1, input 2, output)."""
    assert layer.multiplier is not None and layer.shift is not None
    m, sh = [int(v) for v in layer.multiplier], [int(v) for v in layer.shift]
    v1 = _mbqm_smaller_than_one((x.astype(np.int64) - layer.input_zero_point) << 20, m[0], sh[0])
    v2 = _mbqm_smaller_than_one((skip.astype(np.int64) - layer.skip_zero_point) << 20, m[1], sh[1])
    out = _mbqm_smaller_than_one(v1 + v2, m[2], sh[2]) + layer.output_zero_point
    return np.clip(out, layer.act_min, layer.act_max).astype(np.int8).reshape(-1)


FORWARD = {"dense": dense_forward, "avgpool": avgpool_forward, "depthwise": depthwise_forward, "conv": conv_forward}


def forward(setup: TrainSetup, sample: np.ndarray) -> list[np.ndarray]:
    """All activations: [input, output of layer 0, ..., output of the last layer]; each layer
    reads activation input_ref (the previous one in a plain chain)."""
    activations = [np.asarray(sample, np.int8).reshape(-1)]
    for i, layer in enumerate(setup.layers):
        x = activations[setup.input_ref(i)]
        if layer.kind == "add":
            activations.append(add_forward(layer, x, activations[layer.skip_ref]))
        else:
            activations.append(FORWARD[layer.kind](layer, x))
    return activations


def predict(setup: TrainSetup, sample: np.ndarray) -> int:
    return int(np.argmax(forward(setup, check_sample(setup, sample))[-1]))


def loss_and_gradient(layer: TrainLayer, logits: np.ndarray, label: int) -> tuple[np.float32, np.ndarray]:
    """Softmax cross-entropy on the dequantized logits; returns (loss, dL/dlogit)."""
    real = F(layer.output_scale) * (logits.astype(np.int32) - layer.output_zero_point).astype(np.float32)
    top = real[0]
    for value in real[1:]:
        top = value if value > top else top
    exps = [expf(value - top) for value in real]
    total = F(0)
    for e in exps:
        total = total + e
    loss = logf(total) - (real[label] - top)
    grad = np.array([e / total for e in exps], np.float32)
    grad[label] = grad[label] - F(1)
    return F(loss), grad


def _masked(layer: TrainLayer, out: np.ndarray, grad: np.ndarray) -> np.ndarray:
    """The straight-through gradient: zero where the output sits on a clamp bound."""
    inside = (out > layer.act_min) & (out < layer.act_max)
    return np.where(inside, grad, F(0)).astype(np.float32)


def dense_input_gradient(layer: TrainLayer, grad: np.ndarray) -> np.ndarray:
    """dL/dx[p,k] = sum over j in order of (g[p,j] * s_W[j]) * W[j,k] (weights before the update)."""
    assert (
        layer.weights is not None
        and layer.bias is not None
        and layer.weight_scales is not None
        and layer.multiplier is not None
        and layer.shift is not None
    ), "only an avgpool layer has no parameters"
    cout, cin = layer.weights.shape
    scaled = (grad * layer.weight_scales.astype(np.float32)).astype(np.float32)  # [P, cout]
    out = np.zeros((layer.positions, cin), np.float32)
    weights = layer.weights.astype(np.float32)
    for j in range(cout):
        out = (out + scaled[:, j : j + 1] * weights[j][None, :]).astype(np.float32)
    return out.reshape(-1)


def _weight_step(layer: TrainLayer, acc: np.ndarray, s_w: np.ndarray, qas: bool, base: np.uint32 | None) -> np.ndarray:
    """round(lr * (A * s_x) / s_W) with QAS, round(lr * (A * s_x) * s_W) without; rounded to
    nearest, or (`base`: the layer's stream, TRAIN_FLAG_STOCHASTIC_ROUNDING) stochastically, the
    weight index being the position in the step array, row-major."""
    scaled = (acc * F(layer.input_scale)).astype(np.float32)
    scaled = (scaled / s_w if qas else scaled * s_w).astype(np.float32)
    value = (F(layer.lr) * scaled).astype(np.float32)
    if base is None:
        return round_to_int(value, WEIGHT_STEP_LIMIT)
    u = uniform(base, np.arange(value.size, dtype=np.uint32).reshape(value.shape))
    return stochastic_round(value, WEIGHT_STEP_LIMIT, u)


def dense_update(layer: TrainLayer, x: np.ndarray, grad: np.ndarray, qas: bool, base: np.uint32 | None = None) -> None:
    """Sparse in-place SGD of the bias and the first train_channels input channels."""
    assert (
        layer.weights is not None
        and layer.bias is not None
        and layer.weight_scales is not None
        and layer.multiplier is not None
        and layer.shift is not None
    ), "only an avgpool layer has no parameters"
    cin = layer.in_shape[2]
    s_w = layer.weight_scales.astype(np.float32)
    k = layer.train_channels
    if k:
        xs = (x.reshape(layer.positions, cin)[:, :k].astype(np.int32) - layer.input_zero_point).astype(np.float32)
        acc = np.zeros((layer.out_channels, k), np.float32)
        for p in range(layer.positions):
            acc = (acc + grad[p][:, None] * xs[p][None, :]).astype(np.float32)
        step = _weight_step(layer, acc, s_w[:, None], qas, base)
        new = layer.weights[:, :k].astype(np.int64) - step
        layer.weights[:, :k] = np.clip(new, -128, 127).astype(np.int8)
    _bias_update(layer, grad, qas)


def depthwise_input_gradient(layer: TrainLayer, grad: np.ndarray) -> np.ndarray:
    """dL/dx[ih,iw,c] accumulates (g[oh,ow,c] * s_W[c]) * W[kh,kw,c] over the taps in the spec's
    order (weights before the update)."""
    assert (
        layer.weights is not None
        and layer.bias is not None
        and layer.weight_scales is not None
        and layer.multiplier is not None
        and layer.shift is not None
    ), "only an avgpool layer has no parameters"
    h, w, c = layer.in_shape
    g = grad.reshape(*layer.out_shape)
    scaled = (g * layer.weight_scales.astype(np.float32)).astype(np.float32)
    weights = layer.weights.astype(np.float32)
    out = np.zeros((h, w, c), np.float32)
    for oh, ow, i, j, ih, iw in _taps(layer):
        out[ih, iw] = (out[ih, iw] + scaled[oh, ow] * weights[i, j]).astype(np.float32)
    return out.reshape(-1)


def depthwise_update(
    layer: TrainLayer, x: np.ndarray, grad: np.ndarray, qas: bool, base: np.uint32 | None = None
) -> None:
    """Sparse in-place SGD of a depthwise layer: its bias and its first train_channels channels.
    A[kh][kw][c] sums over the taps inside the input, output positions row-major."""
    assert (
        layer.weights is not None
        and layer.bias is not None
        and layer.weight_scales is not None
        and layer.multiplier is not None
        and layer.shift is not None
    ), "only an avgpool layer has no parameters"
    h, w, c = layer.in_shape
    k = layer.train_channels
    if k:
        xs = (x.reshape(h, w, c)[:, :, :k].astype(np.int32) - layer.input_zero_point).astype(np.float32)
        g = grad.reshape(*layer.out_shape)[:, :, :k]
        acc = np.zeros((*layer.kernel, k), np.float32)
        for kh in range(layer.kernel[0]):  # for each tap, positions in order
            for kw in range(layer.kernel[1]):
                for oh, ow, i, j, ih, iw in _taps(layer):
                    if (i, j) == (kh, kw):
                        acc[i, j] = (acc[i, j] + g[oh, ow] * xs[ih, iw]).astype(np.float32)
        step = _weight_step(layer, acc, layer.weight_scales.astype(np.float32)[:k], qas, base)
        new = layer.weights[:, :, :k].astype(np.int64) - step
        layer.weights[:, :, :k] = np.clip(new, -128, 127).astype(np.int8)
    _bias_update(layer, grad, qas)


def conv_input_gradient(layer: TrainLayer, grad: np.ndarray) -> np.ndarray:
    """dL/dx of a conv (weights before the update). The spec's order for an input element is the
    order of the output positions that reach it, row-major, i.e. kernel taps from the last to the
    first, then output channels; a tap outside the input adds an exact zero (same bits as skipping
    it, the gradients being finite)."""
    assert layer.weights is not None and layer.weight_scales is not None
    h, w, cin = layer.in_shape
    scaled = (grad.reshape(*layer.out_shape) * layer.weight_scales.astype(np.float32)).astype(np.float32)
    weights = layer.weights.astype(np.float32)
    pad_h, pad_w = layer.padding
    out = np.zeros((h, w, cin), np.float32)
    oh_count, ow_count, _ = layer.out_shape
    for kh in range(layer.kernel[0] - 1, -1, -1):
        rows = np.arange(h) + pad_h - kh  # oh * stride for the output row that reaches input row ih
        oh, row_ok = rows // layer.stride, (rows % layer.stride == 0) & (rows >= 0) & (rows < oh_count * layer.stride)
        for kw in range(layer.kernel[1] - 1, -1, -1):
            cols = np.arange(w) + pad_w - kw
            ow, col_ok = (
                cols // layer.stride,
                (cols % layer.stride == 0) & (cols >= 0) & (cols < ow_count * layer.stride),
            )
            inside = (row_ok[:, None] & col_ok[None, :])[..., None]
            g = scaled[np.clip(oh, 0, oh_count - 1)][:, np.clip(ow, 0, ow_count - 1)]  # [H, W, Cout]
            for j in range(layer.out_channels):
                term = (g[:, :, j : j + 1] * weights[j, kh, kw][None, None, :]).astype(np.float32)
                out = (out + np.where(inside, term, F(0))).astype(np.float32)
    return out.reshape(-1)


def conv_update(layer: TrainLayer, x: np.ndarray, grad: np.ndarray, qas: bool, base: np.uint32 | None = None) -> None:
    """Sparse in-place SGD of a conv: its bias and its first train_channels input channels of every
    output channel and tap. A[j][kh][kw][k] sums over the output positions row-major (a tap
    outside the input adds an exact zero)."""
    assert layer.weights is not None and layer.weight_scales is not None
    k = layer.train_channels
    if k:
        xs = (x.reshape(layer.in_shape)[:, :, :k].astype(np.int32) - layer.input_zero_point).astype(np.float32)
        g = grad.reshape(*layer.out_shape)
        kh_count, kw_count = layer.kernel
        patches = np.zeros((*layer.out_shape[:2], kh_count, kw_count, k), np.float32)
        for kh in range(kh_count):
            for kw in range(kw_count):
                rows, cols, inside = _tap_grid(layer, kh, kw)
                patches[:, :, kh, kw] = np.where(inside[..., None], xs[rows][:, cols], F(0))
        acc = np.zeros((layer.out_channels, kh_count, kw_count, k), np.float32)
        for oh in range(layer.out_shape[0]):
            for ow in range(layer.out_shape[1]):
                term = (g[oh, ow][:, None, None, None] * patches[oh, ow][None]).astype(np.float32)
                acc = (acc + term).astype(np.float32)
        s_w = layer.weight_scales.astype(np.float32)[:, None, None, None]
        step = _weight_step(layer, acc, s_w, qas, base)
        new = layer.weights[..., :k].astype(np.int64) - step
        layer.weights[..., :k] = np.clip(new, -128, 127).astype(np.int8)
    _bias_update(layer, grad, qas)


def _bias_update(layer: TrainLayer, grad: np.ndarray, qas: bool) -> None:
    assert (
        layer.weights is not None
        and layer.bias is not None
        and layer.weight_scales is not None
        and layer.multiplier is not None
        and layer.shift is not None
    ), "only an avgpool layer has no parameters"
    lr, s_x = F(layer.lr), F(layer.input_scale)
    s_w = layer.weight_scales.astype(np.float32)
    if layer.train_bias:
        total = np.zeros(layer.out_channels, np.float32)
        grad = grad.reshape(layer.out_positions, layer.out_channels)
        for p in range(layer.out_positions):
            total = (total + grad[p]).astype(np.float32)
        both = (s_x * s_w).astype(np.float32)
        scaled = (total / both if qas else total * both).astype(np.float32)
        step = round_to_int(lr * scaled, BIAS_STEP_LIMIT)
        new = layer.bias.astype(np.int64) - step
        layer.bias[:] = np.clip(new, -(1 << 31), (1 << 31) - 1).astype(np.int32)


def train_step(setup: TrainSetup, sample: np.ndarray, label: int, step: int = 0) -> StepResult:
    """One SGD step (batch 1) on `setup`, updating its parameters in place; `step` (0-based)
    selects the stochastic rounding's stream."""
    sample = check_sample(setup, sample, label)
    activations = forward(setup, sample)
    logits = activations[-1].copy()
    last = setup.layers[-1]
    loss, grad = loss_and_gradient(last, logits, int(label))
    first = setup.first_trained()
    if setup.residual:
        _backward_residual(setup, activations, grad, len(setup.layers) - 1 if first is None else first, step)
    elif first is not None:
        for i in range(len(setup.layers) - 1, first - 1, -1):
            base = rounding_base(setup.rounding_seed, step, i) if setup.stochastic_rounding else None
            back = _backward_layer(setup, i, activations, grad, need_input=i > first, base=base)
            if back is None:  # the first trained layer: no gradient further down
                break
            grad = back
    return StepResult(loss, int(np.argmax(logits)), logits)


def _backward_layer(
    setup: TrainSetup,
    i: int,
    activations: list[np.ndarray],
    grad: np.ndarray,
    need_input: bool,
    base: np.uint32 | None = None,
) -> np.ndarray | None:
    layer = setup.layers[i]
    if layer.kind == "avgpool":
        n = F(layer.positions)
        per_channel = (grad / n).astype(np.float32)
        return np.tile(per_channel, layer.positions) if need_input else None
    grad = _masked(layer, activations[i + 1], grad).reshape(layer.out_positions, layer.out_channels)
    if layer.kind == "conv":
        grad_in = conv_input_gradient(layer, grad) if need_input else None
        conv_update(layer, activations[i], grad, setup.qas, base)
        return grad_in
    if layer.kind == "depthwise":
        grad_in = depthwise_input_gradient(layer, grad) if need_input else None
        depthwise_update(layer, activations[i], grad, setup.qas, base)
        return grad_in
    grad_in = dense_input_gradient(layer, grad) if need_input else None
    dense_update(layer, activations[i], grad, setup.qas, base)
    return grad_in


def _backward_residual(
    setup: TrainSetup, activations: list[np.ndarray], grad: np.ndarray, first: int, step: int
) -> None:
    """Every activation backward reaches has its own gradient, the sum over its readers (the
    later layers, visited first; an add's first operand before its second): the first reader
    writes it, the others add, Gacc = Gacc + g element by element."""
    n = len(setup.layers)
    grads = {m: np.zeros(setup.layers[m - 1].out_size, np.float32) for m in range(first + 1, n)}
    grads[n] = grad
    written: set[int] = set()

    def pass_to(ref: int, g: np.ndarray) -> None:
        grads[ref] = g.astype(np.float32).copy() if ref not in written else (grads[ref] + g).astype(np.float32)
        written.add(ref)

    for i in range(n - 1, first - 1, -1):
        layer, source = setup.layers[i], setup.input_ref(i)
        if layer.kind == "add":
            g = _masked(layer, activations[i + 1], grads[i + 1])
            for ref in (source, layer.skip_ref):
                if ref > first:
                    pass_to(ref, g)
            continue
        base = rounding_base(setup.rounding_seed, step, i) if setup.stochastic_rounding else None
        # _backward_layer reads activations[i] as the input: give it this layer's source.
        shifted = activations[:i] + [activations[source]] + activations[i + 1 :]
        back = _backward_layer(setup, i, shifted, grads[i + 1], need_input=source > first, base=base)
        if back is not None:
            pass_to(source, back)


class TrainingReference:
    """The host's twin of the device's training state."""

    def __init__(self, setup: TrainSetup):
        setup.validate()
        self.setup = setup.copy()
        self.steps = 0

    def step(self, sample: np.ndarray, label: int) -> StepResult:
        result = train_step(self.setup, sample, label, self.steps)
        self.steps += 1
        return result

    def predict(self, sample: np.ndarray) -> int:
        return predict(self.setup, sample)

    def accuracy(self, samples: np.ndarray, labels: np.ndarray) -> float:
        hits = sum(self.predict(x) == int(y) for x, y in zip(samples, labels))
        return hits / max(len(labels), 1)

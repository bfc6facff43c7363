"""docs/training_spec.md in numpy: int8 forward as TFLM, float32 backward, QAS, sparse in-place SGD.

`TrainingReference(setup)` owns a copy of the setup and updates it exactly as the device does;
`step(sample, label)` returns the float32 loss. Loops that sum run sequentially in the spec's order
(numpy's sum/dot would reorder the additions), vectorised only across independent elements.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..model.requant import multiply_by_quantized_multiplier
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


FORWARD = {"dense": dense_forward, "avgpool": avgpool_forward, "depthwise": depthwise_forward}


def forward(setup: TrainSetup, sample: np.ndarray) -> list[np.ndarray]:
    """All activations: [input, output of layer 0, ..., output of the last layer]."""
    activations = [np.asarray(sample, np.int8).reshape(-1)]
    for layer in setup.layers:
        activations.append(FORWARD[layer.kind](layer, activations[-1]))
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
    if first is not None:
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
    if layer.kind == "depthwise":
        grad_in = depthwise_input_gradient(layer, grad) if need_input else None
        depthwise_update(layer, activations[i], grad, setup.qas, base)
        return grad_in
    grad_in = dense_input_gradient(layer, grad) if need_input else None
    dense_update(layer, activations[i], grad, setup.qas, base)
    return grad_in


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

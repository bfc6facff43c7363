"""An independent oracle for the training reference (docs/training_spec.md section 5).

Level 1: a float64 backprop written here from the calculus (not the spec's operation order) is
checked against central finite differences of a float64 network (dequantized weights, no
rounding), so the oracle itself is right.
Level 2: the same backprop, run on the reference's own int8 forward activations, predicts every
int8 weight and bias step of one reference step. A mathematical error shared by the device and
the reference (they are bit-exact with each other) shows up here.

Tolerances: finite differences agree to a relative 1e-5 (h = 1e-6, float64). The reference
accumulates in float32, so its pre-rounding step lr*t differs from float64 by ~1e-5 relative: a
step must equal round(lr*t64) exactly unless lr*t64 lies within 1e-3 (absolute, + 1e-4 relative)
of a rounding boundary (x.5), where it may differ by one.
"""

from __future__ import annotations

import numpy as np

from harness.model.requant import per_channel_multipliers
from harness.training.reference import TrainingReference, forward
from harness.training.setup import TrainLayer, TrainSetup
from harness.training.toy import dense_layer, toy_data
from tests.support.int8_step import check_int8_update


def _depthwise(
    rng: np.random.Generator, in_shape, stride: int, s_x: float, z_x: int, s_y: float, z_y: int
) -> TrainLayer:
    c = in_shape[2]
    scales = (rng.uniform(0.5, 1.5, c) / 3 / 64).astype(np.float32)
    multiplier, shift = per_channel_multipliers(s_x, scales, s_y)
    return TrainLayer(
        kind="depthwise",
        in_shape=in_shape,
        out_channels=c,
        input_scale=s_x,
        input_zero_point=z_x,
        output_scale=s_y,
        output_zero_point=z_y,
        act_min=z_y,
        act_max=127,
        weights=rng.integers(-90, 91, (3, 3, c)).astype(np.int8),
        bias=rng.integers(-200, 201, c).astype(np.int32),
        weight_scales=scales,
        multiplier=multiplier,
        shift=shift,
        kernel=(3, 3),
        stride=stride,
        name=f"dw{stride}",
    )


def oracle_setup(seed: int = 0) -> TrainSetup:
    """dense -> depthwise stride 2 -> dense -> depthwise stride 1 -> pool -> head, all training."""
    rng = np.random.default_rng(seed)
    s, z = 0.05, -3
    layers = [
        dense_layer(rng, (6, 6, 8), 12, s, z, s, z, True, "pw1"),
        _depthwise(rng, (6, 6, 12), 2, s, z, s, z),
        dense_layer(rng, (3, 3, 12), 16, s, z, s, z, True, "pw2"),
        _depthwise(rng, (3, 3, 16), 1, s, z, s, z),
    ]
    layers.append(
        TrainLayer(
            kind="avgpool",
            in_shape=(3, 3, 16),
            out_channels=16,
            input_scale=s,
            input_zero_point=z,
            output_scale=s,
            output_zero_point=z,
            name="pool",
        )
    )
    layers.append(dense_layer(rng, (1, 1, 16), 3, s, z, 0.1, 0, False, "head"))
    for layer, lr in zip(layers, (0.5, 0.5, 0.5, 0.5, 0.0, 0.2)):
        if layer.kind != "avgpool":
            layer.lr, layer.train_bias, layer.train_channels = lr, True, layer.in_shape[2]
    return TrainSetup(layers=layers, num_classes=3)


# ------------------------------------------------------------------ float64 calculus


def _pad(layer: TrainLayer) -> tuple[int, int]:
    return layer.padding


def real_weights(layer: TrainLayer) -> np.ndarray:
    s_w = layer.weight_scales.astype(np.float64)
    w = layer.weights.astype(np.float64)
    return w * s_w[:, None] if layer.kind == "dense" else w * s_w[None, None, :]


def real_bias(layer: TrainLayer) -> np.ndarray:
    return layer.bias.astype(np.float64) * layer.input_scale * layer.weight_scales.astype(np.float64)


def _dw_patches(layer: TrainLayer, x: np.ndarray) -> np.ndarray:
    """[oh, ow, kh, kw, c] input patches (zeros where the tap is padding)."""
    h, w, c = layer.in_shape
    oh, ow, _ = layer.out_shape
    (ph, pw), s = _pad(layer), layer.stride
    padded = np.zeros((h + 2 * 3, w + 2 * 3, c))
    padded[3 : 3 + h, 3 : 3 + w] = x
    out = np.zeros((oh, ow, 3, 3, c))
    for i in range(oh):
        for j in range(ow):
            r, q = 3 + i * s - ph, 3 + j * s - pw
            out[i, j] = padded[r : r + 3, q : q + 3]
    return out


def float_forward(layer: TrainLayer, x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The real-valued layer without rounding (pre-activation)."""
    if layer.kind == "avgpool":
        return x.reshape(-1, layer.in_shape[2]).mean(axis=0)
    if layer.kind == "dense":
        return x.reshape(-1, layer.in_shape[2]) @ w.T + b
    return (_dw_patches(layer, x.reshape(layer.in_shape)) * w).sum(axis=(2, 3)).reshape(-1, layer.in_shape[2]) + b


def backprop(
    setup: TrainSetup,
    inputs: list[np.ndarray],
    masks: list[np.ndarray],
    grad: np.ndarray,
    params: list[tuple[np.ndarray, np.ndarray]],
) -> list[tuple[np.ndarray, np.ndarray] | None]:
    """dL/dW_real, dL/db_real of every layer from dL/d(output of the last layer), in float64.
    inputs[i]: the real input of layer i; masks[i]: 1 where layer i's output is not clipped."""
    grads: list = [None] * len(setup.layers)
    g = grad.reshape(1, -1)
    for i in range(len(setup.layers) - 1, -1, -1):
        layer, x = setup.layers[i], inputs[i]
        g = g.reshape(-1, layer.out_channels) * masks[i].reshape(-1, layer.out_channels)
        if layer.kind == "avgpool":
            g = np.broadcast_to(g / layer.positions, (layer.positions, layer.in_shape[2]))
            continue
        w, _ = params[i]
        if layer.kind == "dense":
            xs = x.reshape(-1, layer.in_shape[2])
            grads[i] = (g.T @ xs, g.sum(axis=0))
            g = g @ w
            continue
        patches = _dw_patches(layer, x.reshape(layer.in_shape))  # [oh, ow, 3, 3, c]
        go = g.reshape(*layer.out_shape)
        grads[i] = ((patches * go[:, :, None, None, :]).sum(axis=(0, 1)), g.sum(axis=0))
        gin = np.zeros((layer.in_shape[0] + 6, layer.in_shape[1] + 6, layer.in_shape[2]))
        (ph, pw), s = _pad(layer), layer.stride
        for oi in range(layer.out_shape[0]):
            for oj in range(layer.out_shape[1]):
                r, q = 3 + oi * s - ph, 3 + oj * s - pw
                gin[r : r + 3, q : q + 3] += go[oi, oj] * w
        g = gin[3 : 3 + layer.in_shape[0], 3 : 3 + layer.in_shape[1]]
    return grads


def _softmax_grad(logits: np.ndarray, label: int) -> tuple[float, np.ndarray]:
    e = np.exp(logits - logits.max())
    p = e / e.sum()
    loss = -np.log(p[label])
    p[label] -= 1
    return float(loss), p


def float_network_loss(setup: TrainSetup, params, x: np.ndarray, label: int):
    """Loss, inputs and clip masks of the unrounded float64 network (ReLU where act_min is the
    output zero point)."""
    inputs, masks = [], []
    a = x
    for layer, (w, b) in zip(setup.layers, params):
        inputs.append(a)
        pre = float_forward(layer, a, w, b)
        if layer.act_min > -128:  # ReLU
            masks.append((pre > 0).astype(np.float64))
            pre = np.maximum(pre, 0)
        else:
            masks.append(np.ones_like(pre))
        a = pre.reshape(-1)
    loss, grad = _softmax_grad(a, label)
    return loss, grad, inputs, masks


def _params(setup: TrainSetup):
    return [
        (real_weights(layer), real_bias(layer)) if layer.kind != "avgpool" else (None, None) for layer in setup.layers
    ]


def test_float64_backprop_agrees_with_finite_differences():
    setup = oracle_setup(1)
    x, y = toy_data(setup, 1, seed=2)
    x_real = 0.05 * (x[0].astype(np.float64) + 3)
    params = _params(setup)
    _, grad, inputs, masks = float_network_loss(setup, params, x_real, int(y[0]))
    analytic = backprop(setup, inputs, masks, grad, params)
    rng = np.random.default_rng(3)
    h = 1e-6
    checked = 0
    for i, layer in enumerate(setup.layers):
        if layer.kind == "avgpool":
            continue
        for which in (0, 1):
            array = params[i][which]
            for flat in rng.choice(array.size, min(4, array.size), replace=False):
                plus = [tuple(p.copy() if p is not None else None for p in pair) for pair in params]
                minus = [tuple(p.copy() if p is not None else None for p in pair) for pair in params]
                plus[i][which].flat[flat] += h
                minus[i][which].flat[flat] -= h
                numeric = (
                    float_network_loss(setup, plus, x_real, int(y[0]))[0]
                    - float_network_loss(setup, minus, x_real, int(y[0]))[0]
                ) / (2 * h)
                exact = analytic[i][which].flat[flat]
                assert abs(numeric - exact) <= 1e-5 * max(1.0, abs(exact)), (layer.name, which, flat)
                checked += 1
    assert checked == 4 * 2 * 4 + 4 + 3


def test_every_reference_update_equals_the_float64_backprop_through_strided_depthwise_layers():
    setup = oracle_setup(4)
    x, y = toy_data(setup, 1, seed=5)
    acts = forward(setup, x[0])
    inputs = [
        layer.input_scale * (a.astype(np.float64) - layer.input_zero_point) for layer, a in zip(setup.layers, acts)
    ]
    masks = [
        ((out > layer.act_min) & (out < layer.act_max)).astype(np.float64) for layer, out in zip(setup.layers, acts[1:])
    ]
    last = setup.layers[-1]
    logits = last.output_scale * (acts[-1].astype(np.float64) - last.output_zero_point)
    _, grad = _softmax_grad(logits, int(y[0]))
    analytic = backprop(setup, inputs, masks, grad, _params(setup))
    reference = TrainingReference(setup)
    reference.step(x[0], int(y[0]))
    moved = 0
    for i, layer in enumerate(setup.layers):
        if layer.kind == "avgpool":
            continue
        s_w = layer.weight_scales.astype(np.float64)
        weight_t = analytic[i][0] / (s_w[:, None] if layer.kind == "dense" else s_w[None, None, :])
        bias_t = analytic[i][1] / (layer.input_scale * s_w)
        moved += check_int8_update(layer, reference.setup.layers[i], weight_t, bias_t)
    assert moved > 100  # the step is not trivially zero

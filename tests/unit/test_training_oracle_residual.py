"""The independent float64 oracle (tests/unit/test_training_oracle.py's method) for k x k and strided
convolutions and the residual ADD: a backprop written here from the calculus, checked by central
finite differences, then against every int8 weight and bias step of one reference step of a
ResNet block whose input has two readers (harness/training/toy.py toy_residual_setup).

Tolerances as in test_training_oracle.py: finite differences to a relative 1e-5 (h = 1e-6); a step
equals round(lr * t64) unless lr * t64 lies within 1e-3 (+ 1e-4 relative) of a rounding boundary.
"""

from __future__ import annotations

import numpy as np

from harness.training.reference import TrainingReference, forward
from harness.training.setup import TrainLayer, TrainSetup
from harness.training.toy import toy_data, toy_residual_setup
from tests.support.int8_step import check_int8_update


def _real_params(layer: TrainLayer):
    if layer.kind in ("avgpool", "add"):
        return None, None
    s_w = layer.weight_scales.astype(np.float64)
    shape = (-1,) + (1,) * (layer.weights.ndim - 1)
    bias = layer.bias.astype(np.float64) * layer.input_scale * s_w
    return layer.weights.astype(np.float64) * s_w.reshape(shape), bias


def _windows(layer: TrainLayer):
    """(oh, ow, rows slice, cols slice) into the input padded by K on each side."""
    (ph, pw), s, k = layer.padding, layer.stride, layer.kernel
    for oh in range(layer.out_shape[0]):
        for ow in range(layer.out_shape[1]):
            r, q = 7 + oh * s - ph, 7 + ow * s - pw
            yield oh, ow, slice(r, r + k[0]), slice(q, q + k[1])


def _padded(layer: TrainLayer, x: np.ndarray) -> np.ndarray:
    h, w, c = layer.in_shape
    out = np.zeros((h + 14, w + 14, c))
    out[7 : 7 + h, 7 : 7 + w] = x.reshape(h, w, c)
    return out


def _layer_forward(layer: TrainLayer, x: np.ndarray, skip: np.ndarray | None, w, b) -> np.ndarray:
    if layer.kind == "avgpool":
        return x.reshape(-1, layer.in_shape[2]).mean(axis=0)
    if layer.kind == "add":
        return x + skip
    if layer.kind == "dense":
        return (x.reshape(-1, layer.in_shape[2]) @ w.T + b).reshape(-1)
    xp, out = _padded(layer, x), np.zeros(layer.out_shape)
    for oh, ow, rows, cols in _windows(layer):
        out[oh, ow] = np.einsum("jhwk,hwk->j", w, xp[rows, cols]) + b
    return out.reshape(-1)


def network(setup: TrainSetup, params, x: np.ndarray, label: int):
    """Loss, dL/dlogits, real activations and clip masks of the unrounded float64 network."""
    acts, masks = [x.reshape(-1)], []
    for i, (layer, (w, b)) in enumerate(zip(setup.layers, params)):
        skip = acts[layer.skip_ref] if layer.kind == "add" else None
        pre = _layer_forward(layer, acts[setup.input_ref(i)], skip, w, b)
        masks.append((pre > 0).astype(np.float64) if layer.act_min > -128 else np.ones_like(pre))
        acts.append(np.maximum(pre, 0) if layer.act_min > -128 else pre)
    e = np.exp(acts[-1] - acts[-1].max())
    p = e / e.sum()
    loss = -np.log(p[label])
    p[label] -= 1
    return float(loss), p, acts, masks


def backprop(setup: TrainSetup, acts, masks, grad, params):
    """dL/dW, dL/db of every layer; an activation's gradient sums over its readers."""
    n = len(setup.layers)
    g_act = [np.zeros_like(a) for a in acts]
    g_act[n] = grad
    grads: list = [None] * n
    for i in range(n - 1, -1, -1):
        layer, src = setup.layers[i], setup.input_ref(i)
        g = g_act[i + 1] * masks[i]
        x = acts[src]
        if layer.kind == "add":
            g_act[src] = g_act[src] + g
            g_act[layer.skip_ref] = g_act[layer.skip_ref] + g
            continue
        if layer.kind == "avgpool":
            g_act[src] = g_act[src] + np.tile(g / layer.positions, layer.positions)
            continue
        w, _ = params[i]
        go = g.reshape(-1, layer.out_channels)
        if layer.kind == "dense":
            xs = x.reshape(-1, layer.in_shape[2])
            grads[i] = (go.T @ xs, go.sum(axis=0))
            g_act[src] = g_act[src] + (go @ w).reshape(-1)
            continue
        xp, gw, gin = _padded(layer, x), np.zeros_like(w), np.zeros_like(_padded(layer, x))
        go = go.reshape(layer.out_shape)
        for oh, ow, rows, cols in _windows(layer):
            gw += np.einsum("j,hwk->jhwk", go[oh, ow], xp[rows, cols])
            gin[rows, cols] += np.einsum("j,jhwk->hwk", go[oh, ow], w)
        grads[i] = (gw, go.sum(axis=(0, 1)))
        h, wd, _ = layer.in_shape
        g_act[src] = g_act[src] + gin[7 : 7 + h, 7 : 7 + wd].reshape(-1)
    return grads


def test_float64_conv_and_add_backprop_agrees_with_finite_differences():
    setup = toy_residual_setup(1)
    x, y = toy_data(setup, 1, seed=2)
    x_real = 0.05 * (x[0].astype(np.float64) + 3)
    params = [_real_params(layer) for layer in setup.layers]
    _, grad, acts, masks = network(setup, params, x_real, int(y[0]))
    analytic = backprop(setup, acts, masks, grad, params)
    rng, h, checked = np.random.default_rng(3), 1e-6, 0
    for i, layer in enumerate(setup.layers):
        if analytic[i] is None:
            continue
        for which in (0, 1):
            for flat in rng.choice(params[i][which].size, min(4, params[i][which].size), replace=False):
                losses = []
                for delta in (h, -h):
                    moved = [tuple(None if p is None else p.copy() for p in pair) for pair in params]
                    moved[i][which].flat[flat] += delta
                    losses.append(network(setup, moved, x_real, int(y[0]))[0])
                numeric, exact = (losses[0] - losses[1]) / (2 * h), analytic[i][which].flat[flat]
                assert abs(numeric - exact) <= 1e-5 * max(1.0, abs(exact)), (layer.name, which, flat)
                checked += 1
    assert checked == 5 * 2 * 4 - 1  # the head has 3 biases


def test_every_reference_update_of_a_resnet_block_equals_the_float64_backprop():
    setup = toy_residual_setup(4)
    x, y = toy_data(setup, 1, seed=5)
    q = forward(setup, x[0])
    acts = [setup.layers[0].input_scale * (q[0].astype(np.float64) - setup.layers[0].input_zero_point)]
    acts += [
        layer.output_scale * (a.astype(np.float64) - layer.output_zero_point) for layer, a in zip(setup.layers, q[1:])
    ]
    masks = [  # the straight-through clip mask; pooling's clamp is the identity (the spec, 5.2)
        (((out > layer.act_min) & (out < layer.act_max)) | (layer.kind == "avgpool")).astype(np.float64)
        for layer, out in zip(setup.layers, q[1:])
    ]
    e = np.exp(acts[-1] - acts[-1].max())
    grad = e / e.sum()
    grad[int(y[0])] -= 1
    params = [_real_params(layer) for layer in setup.layers]
    analytic = backprop(setup, acts, masks, grad, params)
    reference = TrainingReference(setup)
    reference.step(x[0], int(y[0]))
    moved = 0
    for i, layer in enumerate(setup.layers):
        if analytic[i] is None:
            continue
        s_w = layer.weight_scales.astype(np.float64)
        shape = (-1,) + (1,) * (layer.weights.ndim - 1)
        k = layer.train_channels
        weight_t = (analytic[i][0] / s_w.reshape(shape))[..., :k]
        bias_t = analytic[i][1] / (layer.input_scale * s_w)
        moved += check_int8_update(layer, reference.setup.layers[i], weight_t, bias_t, channels=k)
    assert moved > 100

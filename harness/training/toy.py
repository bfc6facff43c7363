"""A small deterministic training graph for tests: pointwise (1x1 conv, ReLU) -> global average
pool -> fully connected head, with random int8 parameters and separable random data."""

from __future__ import annotations

import numpy as np

from ..model.requant import add_params, per_channel_multipliers
from .setup import TrainLayer, TrainSetup


def dense_layer(
    rng: np.random.Generator,
    in_shape: tuple[int, int, int],
    cout: int,
    input_scale: float,
    input_zero_point: int,
    output_scale: float,
    output_zero_point: int,
    relu: bool,
    name: str,
) -> TrainLayer:
    cin = in_shape[2]
    weight_scales = (rng.uniform(0.5, 1.5, cout) / (cin**0.5) / 64).astype(np.float32)
    multiplier, shift = per_channel_multipliers(input_scale, weight_scales, output_scale)
    return TrainLayer(
        kind="dense",
        in_shape=in_shape,
        out_channels=cout,
        input_scale=input_scale,
        input_zero_point=input_zero_point,
        output_scale=output_scale,
        output_zero_point=output_zero_point,
        act_min=output_zero_point if relu else -128,
        act_max=127,
        weights=rng.integers(-90, 91, (cout, cin)).astype(np.int8),
        bias=rng.integers(-200, 201, cout).astype(np.int32),
        weight_scales=weight_scales,
        multiplier=multiplier,
        shift=shift,
        name=name,
    )


def toy_setup(
    seed: int = 0, hw: int = 3, cin: int = 16, hidden: int = 12, classes: int = 3, qas: bool = True
) -> TrainSetup:
    rng = np.random.default_rng(seed)
    s_in, z_in, s_hidden, z_hidden = 0.05, -3, 0.04, -128
    pw = dense_layer(rng, (hw, hw, cin), hidden, s_in, z_in, s_hidden, z_hidden, True, "pointwise")
    pool = TrainLayer(
        kind="avgpool",
        in_shape=(hw, hw, hidden),
        out_channels=hidden,
        input_scale=s_hidden,
        input_zero_point=z_hidden,
        output_scale=s_hidden,
        output_zero_point=z_hidden,
        name="pool",
    )
    head = dense_layer(rng, (1, 1, hidden), classes, s_hidden, z_hidden, 0.1, 0, False, "head")
    pw.lr, pw.train_bias, pw.train_channels = 0.05, True, cin // 2
    head.lr, head.train_bias, head.train_channels = 0.1, True, hidden
    return TrainSetup(layers=[pw, pool, head], num_classes=classes, qas=qas, budget_bytes=256 * 1024)


def toy_depthwise_setup(
    seed: int = 0, hw: int = 4, channels: int = 16, classes: int = 3, qas: bool = True
) -> TrainSetup:
    """A 3x3 depthwise layer (ReLU) in front of the toy graph: depthwise -> pointwise -> pool -> head."""
    rng = np.random.default_rng(seed + 100)
    s_in, z_in, s_mid, z_mid = 0.05, -3, 0.05, -3
    weight_scales = (rng.uniform(0.5, 1.5, channels) / 3 / 64).astype(np.float32)
    multiplier, shift = per_channel_multipliers(s_in, weight_scales, s_mid)
    dw = TrainLayer(
        kind="depthwise",
        in_shape=(hw, hw, channels),
        out_channels=channels,
        input_scale=s_in,
        input_zero_point=z_in,
        output_scale=s_mid,
        output_zero_point=z_mid,
        act_min=z_mid,
        act_max=127,
        weights=rng.integers(-90, 91, (3, 3, channels)).astype(np.int8),
        bias=rng.integers(-200, 201, channels).astype(np.int32),
        weight_scales=weight_scales,
        multiplier=multiplier,
        shift=shift,
        lr=0.05,
        train_bias=True,
        train_channels=channels // 2,
        name="depthwise",
        kernel=(3, 3),
    )
    tail = toy_setup(seed, hw=hw, cin=channels, classes=classes, qas=qas)
    head = tail.layers[0]
    assert head.weight_scales is not None  # toy_setup's first layer is dense
    head.input_scale, head.input_zero_point = s_mid, z_mid
    head.multiplier, head.shift = per_channel_multipliers(s_mid, head.weight_scales, head.output_scale)
    return TrainSetup(layers=[dw, *tail.layers], num_classes=classes, qas=qas, budget_bytes=256 * 1024)


def toy_data(setup: TrainSetup, count: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """int8 samples whose class shifts a block of input channels up: learnable, deterministic."""
    rng = np.random.default_rng(seed)
    h, w, c = setup.input_shape
    labels = rng.integers(0, setup.num_classes, count)
    samples = rng.integers(-40, 40, (count, h, w, c))
    block = max(c // setup.num_classes, 1)
    for n, label in enumerate(labels):
        samples[n, :, :, label * block : (label + 1) * block] += 60
    return np.clip(samples, -128, 127).astype(np.int8).reshape(count, -1), labels.astype(np.int64)


def conv_layer(
    rng: np.random.Generator,
    in_shape: tuple[int, int, int],
    cout: int,
    kernel: int,
    stride: int,
    quant: tuple[float, int, float, int],
    relu: bool,
    name: str,
) -> TrainLayer:
    """A random k x k int8 convolution (OHWI), SAME padding; quant: (s_x, z_x, s_y, z_y)."""
    s_x, z_x, s_y, z_y = quant
    cin = in_shape[2]
    weight_scales = (rng.uniform(0.5, 1.5, cout) / ((kernel * kernel * cin) ** 0.5) / 64).astype(np.float32)
    multiplier, shift = per_channel_multipliers(s_x, weight_scales, s_y)
    return TrainLayer(
        kind="conv",
        in_shape=in_shape,
        out_channels=cout,
        input_scale=s_x,
        input_zero_point=z_x,
        output_scale=s_y,
        output_zero_point=z_y,
        act_min=z_y if relu else -128,
        act_max=127,
        weights=rng.integers(-90, 91, (cout, kernel, kernel, cin)).astype(np.int8),
        bias=rng.integers(-200, 201, cout).astype(np.int32),
        weight_scales=weight_scales,
        multiplier=multiplier,
        shift=shift,
        kernel=(kernel, kernel),
        stride=stride,
        name=name,
    )


def add_layer(
    shape: tuple[int, int, int],
    x: tuple[float, int],
    skip: tuple[float, int],
    out: tuple[float, int],
    skip_ref: int,
    relu: bool,
    name: str,
) -> TrainLayer:
    """A residual ADD of the previous output (x) and activation skip_ref, TFLM int8 semantics."""
    p = add_params(x[0], skip[0], out[0])
    return TrainLayer(
        kind="add",
        in_shape=shape,
        out_channels=shape[2],
        input_scale=x[0],
        input_zero_point=x[1],
        output_scale=out[0],
        output_zero_point=out[1],
        act_min=out[1] if relu else -128,
        act_max=127,
        multiplier=np.array([p.input1_multiplier, p.input2_multiplier, p.output_multiplier], np.int32),
        shift=np.array([p.input1_shift, p.input2_shift, p.output_shift], np.int32),
        skip_ref=skip_ref,
        skip_zero_point=skip[1],
        name=name,
    )


def toy_residual_setup(
    seed: int = 0, hw: int = 6, cin: int = 8, width: int = 12, classes: int = 3, qas: bool = True
) -> TrainSetup:
    """A ResNet block (as MLPerf Tiny's ResNet-8 ends) behind a pointwise layer, every layer
    training: dense 1x1 (ReLU) -> [conv 3x3 stride 2 (ReLU) -> conv 3x3, and the shortcut conv 1x1
    stride 2 of the block's input] -> ADD (ReLU) -> pool -> head. The block's input has two readers,
    so its gradient is a sum."""
    rng = np.random.default_rng(seed + 200)
    a = (0.05, -3)  # input and pointwise output
    b, c, d, e = (0.04, -128), (0.06, 2), (0.05, -1), (0.05, -128)  # conv a, conv b, shortcut, add
    out = -(-hw // 2)
    pw = dense_layer(rng, (hw, hw, cin), cin, *a, *a, True, "pointwise")
    conv_a = conv_layer(rng, (hw, hw, cin), width, 3, 2, (*a, *b), True, "conv_a")
    conv_b = conv_layer(rng, (out, out, width), width, 3, 1, (*b, *c), False, "conv_b")
    shortcut = conv_layer(rng, (hw, hw, cin), width, 1, 2, (*a, *d), False, "shortcut")
    shortcut.input_ref = 1  # the block's input, not conv_b's output
    add = add_layer((out, out, width), d, c, e, 3, True, "add")
    pool = TrainLayer(
        kind="avgpool",
        in_shape=(out, out, width),
        out_channels=width,
        input_scale=e[0],
        input_zero_point=e[1],
        output_scale=e[0],
        output_zero_point=e[1],
        name="pool",
    )
    head = dense_layer(rng, (1, 1, width), classes, *e, 0.1, 0, False, "head")
    layers = [pw, conv_a, conv_b, shortcut, add, pool, head]
    for layer, lr, channels in zip(
        layers, (0.05, 0.1, 0.1, 0.1, 0, 0, 0.1), (cin // 2, cin // 2, width // 2, cin, 0, 0, width)
    ):
        if layer.kind in ("dense", "conv"):
            layer.lr, layer.train_bias, layer.train_channels = lr, True, channels
    return TrainSetup(layers=layers, num_classes=classes, qas=qas, budget_bytes=256 * 1024)

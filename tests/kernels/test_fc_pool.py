"""FULLY_CONNECTED, AVERAGE_POOL_2D and MAX_POOL_2D against tflite-micro."""

from __future__ import annotations

import numpy as np
import tflm_quant as tq
from kernel_testutil import (
    ACT_CODE,
    ACTIVATIONS,
    PAD_CODE,
    assert_exact,
    assert_same_floats,
    compute_padding,
    out_size,
    rand_i8,
    rand_scale,
)
from kernels_lib import FcParams, PoolParams
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

from tests.support.kernel_model import BuiltinOperator, BuiltinOptions, Op, SingleOpModel, Tensor, run_tflm

N_CASES = 500


def fc_case(k, seed: int, dtype, extreme: bool = False):
    rng = np.random.default_rng(seed)
    batches = int(rng.integers(1, 5))
    depth = int(rng.integers(1, 40))
    units = int(rng.integers(1, 20))
    act = ACTIVATIONS[int(rng.integers(0, 4))]
    has_bias = rng.random() < 0.85
    # input given as 2-D [batches, depth] or 4-D [batches, 1, 1, depth] (flattened by FC)
    in_shape = (batches, depth) if rng.random() < 0.7 else (batches, 1, 1, depth)
    m = SingleOpModel()
    if dtype == np.int8:
        per_channel = rng.random() < 0.5
        in_scale, out_scale = rand_scale(rng, 1e-3, 0.1), rand_scale(rng, 1e-3, 0.5)
        in_zp, out_zp = int(rng.integers(-128, 128)), int(rng.integers(-128, 128))
        w_scales = [rand_scale(rng, 1e-4, 0.05) for _ in range(units if per_channel else 1)]
        w = rand_i8(rng, (units, depth))
        w[w == -128] = -127
        b = rng.integers(-20000, 20000, size=units).astype(np.int32) if has_bias else None
        x = rand_i8(rng, in_shape)
        # asymmetric weights (a filter zero point) exist for per-tensor FC only
        w_zp = int(rng.integers(-10, 10)) if (not per_channel and rng.random() < 0.3) else 0
        if extreme:
            ends = np.array([-128, 127, -127, 0], dtype=np.int8)
            x = rng.choice(ends, size=in_shape)
            w = rng.choice(np.array([-127, 127], dtype=np.int8), size=w.shape)
            in_zp, out_zp = int(rng.choice([-128, 127, 0])), int(rng.choice([-128, 127, 0]))
            in_scale, out_scale = rand_scale(rng, 1e-6, 1.0), rand_scale(rng, 1e-6, 1.0)
            w_scales = [rand_scale(rng, 1e-6, 1.0) for _ in w_scales]
            if b is not None:
                b = rng.integers(-(1 << 24), 1 << 24, size=units).astype(np.int32)
        xt = m.add(Tensor(in_shape, np.int8, scale=[in_scale], zero_point=[in_zp]))
        wt = m.add(Tensor(w.shape, np.int8, data=w, scale=w_scales, zero_point=[w_zp] * len(w_scales)))
        inputs = [xt, wt]
        if b is not None:
            bs = [float(np.float32(in_scale) * np.float32(s)) for s in w_scales]
            inputs.append(m.add(Tensor(b.shape, np.int32, data=b, scale=bs, zero_point=[0] * len(bs))))
        else:
            inputs.append(-1)
        yt = m.add(Tensor((batches, units), np.int8, scale=[out_scale], zero_point=[out_zp]))
    else:
        w = rng.standard_normal((units, depth)).astype(np.float32)
        b = rng.standard_normal(units).astype(np.float32) if has_bias else None
        x = rng.standard_normal(in_shape).astype(np.float32)
        xt = m.add(Tensor(in_shape, np.float32))
        wt = m.add(Tensor(w.shape, np.float32, data=w))
        inputs = [xt, wt, m.add(Tensor(b.shape, np.float32, data=b)) if b is not None else -1]
        yt = m.add(Tensor((batches, units), np.float32))
    m.inputs, m.outputs = [xt], [yt]
    opt = schema.FullyConnectedOptionsT()
    opt.fusedActivationFunction = ACT_CODE[act]
    want = run_tflm(
        m.build(Op(BuiltinOperator.FULLY_CONNECTED, inputs, [yt], BuiltinOptions.FullyConnectedOptions, opt)), [x]
    )[0]
    x2d = np.ascontiguousarray(x.reshape(batches, depth))
    what = f"seed {seed} b={batches} d={depth} u={units} act={act}"
    if dtype == np.int8:
        mult, shift = tq.conv_per_channel_multipliers(in_scale, w_scales, out_scale)
        lo, hi = tq.activation_range_int8(act, out_scale, out_zp)
        p = FcParams(input_offset=-in_zp, filter_offset=-w_zp, output_offset=out_zp, act_min=lo, act_max=hi)
        got = k.fully_connected_s8(p, mult, shift, per_channel, x2d, w, b)
        assert_exact(got, want, what + f" per_channel={per_channel}")
    else:
        lo, hi = tq.activation_range_f32(act)
        got = k.fully_connected_f32(lo, hi, x2d, w, b)
        assert_same_floats(got, want, what)


def test_fully_connected_s8_randomized(k):
    for seed in range(N_CASES):
        fc_case(k, 5000 + seed, np.int8)


def test_fully_connected_s8_extremes(k):
    for seed in range(N_CASES // 2):
        fc_case(k, 30000 + seed, np.int8, extreme=True)


def test_fully_connected_f32_randomized(k):
    for seed in range(N_CASES // 2):
        fc_case(k, 6000 + seed, np.float32)


def pool_case(k, seed: int, kind: str, dtype):
    rng = np.random.default_rng(seed)
    while True:
        batch = int(rng.integers(1, 3))
        h, w, c = int(rng.integers(1, 12)), int(rng.integers(1, 12)), int(rng.integers(1, 6))
        fh, fw = int(rng.integers(1, 5)), int(rng.integers(1, 5))
        sh, sw = int(rng.integers(1, 4)), int(rng.integers(1, 4))
        padding = "SAME" if rng.random() < 0.5 else "VALID"
        oh, ow = out_size(padding, h, fh, sh, 1), out_size(padding, w, fw, sw, 1)
        if oh >= 1 and ow >= 1:
            break
    act = ACTIVATIONS[int(rng.integers(0, 4))]
    in_shape, out_shape = (batch, h, w, c), (batch, oh, ow, c)
    m = SingleOpModel()
    if dtype == np.int8:
        scale, zp = rand_scale(rng, 1e-3, 0.2), int(rng.integers(-128, 128))
        x = rand_i8(rng, in_shape)
        xt = m.add(Tensor(in_shape, np.int8, scale=[scale], zero_point=[zp]))
        yt = m.add(Tensor(out_shape, np.int8, scale=[scale], zero_point=[zp]))
    else:
        x = rng.standard_normal(in_shape).astype(np.float32)
        xt = m.add(Tensor(in_shape, np.float32))
        yt = m.add(Tensor(out_shape, np.float32))
    m.inputs, m.outputs = [xt], [yt]
    opt = schema.Pool2DOptionsT()
    opt.padding = PAD_CODE[padding]
    opt.strideH, opt.strideW, opt.filterHeight, opt.filterWidth = sh, sw, fh, fw
    opt.fusedActivationFunction = ACT_CODE[act]
    code = BuiltinOperator.AVERAGE_POOL_2D if kind == "avg" else BuiltinOperator.MAX_POOL_2D
    want = run_tflm(m.build(Op(code, [xt], [yt], BuiltinOptions.Pool2DOptions, opt)), [x])[0]
    p = PoolParams(
        stride_h=sh,
        stride_w=sw,
        filter_h=fh,
        filter_w=fw,
        pad_h=compute_padding(sh, 1, h, fh, oh),
        pad_w=compute_padding(sw, 1, w, fw, ow),
    )
    what = f"seed {seed} {kind} in={in_shape} f=({fh},{fw}) s=({sh},{sw}) {padding} act={act}"
    if dtype == np.int8:
        p.act_min, p.act_max = tq.activation_range_int8(act, scale, zp)
        assert_exact(k.pool(kind, p, x, out_shape), want, what)
    else:
        p.act_min_f, p.act_max_f = tq.activation_range_f32(act)
        assert_same_floats(k.pool(kind, p, x, out_shape), want, what)


def test_avgpool_s8_randomized(k):
    for seed in range(N_CASES):
        pool_case(k, 7000 + seed, "avg", np.int8)


def test_maxpool_s8_randomized(k):
    for seed in range(N_CASES):
        pool_case(k, 8000 + seed, "max", np.int8)


def test_avgpool_f32_randomized(k):
    for seed in range(N_CASES // 2):
        pool_case(k, 9000 + seed, "avg", np.float32)


def test_maxpool_f32_randomized(k):
    for seed in range(N_CASES // 2):
        pool_case(k, 10000 + seed, "max", np.float32)


def test_requantization_rounding_boundaries(k):
    """Accumulators chosen next to every rounding tie of the requantization.

    FULLY_CONNECTED with depth 1, input 0 and weights 1 makes each output's
    accumulator equal its bias, so the bias walks the accumulator over the
    values where acc * real_multiplier is k + 1/2 (and its neighbours). This
    separates multipliers that differ by one unit in Q31 and single vs
    double rounding, which random data almost never does.
    """
    rng = np.random.default_rng(31)
    for trial in range(200):
        per_channel = trial % 2 == 1
        units = 64
        in_scale = rand_scale(rng, 1e-3, 0.1)
        w_scales = [rand_scale(rng, 1e-3, 0.1) for _ in range(units if per_channel else 1)]
        out_scale = float(np.float32(in_scale * w_scales[0] * rng.uniform(0.05, 5000)))
        out_zp = int(rng.integers(-20, 20))
        mult, shift = tq.conv_per_channel_multipliers(in_scale, w_scales, out_scale)
        bias = np.empty(units, dtype=np.int32)
        for u in range(units):
            real = (
                float(np.float32(in_scale))
                * float(np.float32(w_scales[u if per_channel else 0]))
                / float(np.float32(out_scale))
            )
            half = int(rng.integers(-100, 100)) + 0.5
            bias[u] = round(half / real) + int(rng.integers(-1, 2))
        x = np.zeros((1, 1), dtype=np.int8)
        w = np.ones((units, 1), dtype=np.int8)
        m = SingleOpModel()
        xt = m.add(Tensor(x.shape, np.int8, scale=[in_scale], zero_point=[0]))
        wt = m.add(Tensor(w.shape, np.int8, data=w, scale=w_scales, zero_point=[0] * len(w_scales)))
        bs = [float(np.float32(in_scale) * np.float32(s)) for s in w_scales]
        bt = m.add(Tensor(bias.shape, np.int32, data=bias, scale=bs, zero_point=[0] * len(bs)))
        yt = m.add(Tensor((1, units), np.int8, scale=[out_scale], zero_point=[out_zp]))
        m.inputs, m.outputs = [xt], [yt]
        want = run_tflm(
            m.build(
                Op(
                    BuiltinOperator.FULLY_CONNECTED,
                    [xt, wt, bt],
                    [yt],
                    BuiltinOptions.FullyConnectedOptions,
                    schema.FullyConnectedOptionsT(),
                )
            ),
            [x],
        )[0]
        p = FcParams(input_offset=0, filter_offset=0, output_offset=out_zp, act_min=-128, act_max=127)
        got = k.fully_connected_s8(p, mult, shift, per_channel, x, w, bias)
        assert_exact(got, want, f"trial {trial} per_channel={per_channel}")

"""MEAN, PAD/PADV2, CONCATENATION, QUANTIZE, DEQUANTIZE and RESHAPE against tflite-micro."""

from __future__ import annotations

import numpy as np
import tflm_quant as tq
from kernel_testutil import assert_exact, assert_same_floats, rand_i8, rand_scale
from kernels_lib import MeanParams
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

from tests.support.kernel_model import BuiltinOperator, BuiltinOptions, Op, SingleOpModel, Tensor, run_tflm

N_CASES = 500


def mean_case(k, seed: int, dtype, max_axes: int = 2):
    rng = np.random.default_rng(seed)
    rank = int(rng.integers(1, 5))
    shape = tuple(int(rng.integers(1, 8)) for _ in range(rank))
    if rank == 4 and rng.random() < 0.4:
        axes = [1, 2] if rng.random() < 0.5 else [2, 1]  # the "global average pool" form
    else:
        n = int(rng.integers(1, min(rank, max_axes) + 1))
        axes = sorted(int(a) for a in rng.choice(rank, size=n, replace=False))
        axes = [a - rank if rng.random() < 0.3 else a for a in axes]  # some negative
        if rng.random() < 0.5:
            rng.shuffle(axes)
    keep_dims = bool(rng.random() < 0.5)
    norm = sorted({a % rank for a in axes})
    out_shape = tuple((1 if i in norm else d) for i, d in enumerate(shape) if keep_dims or i not in norm)
    m = SingleOpModel()
    if dtype == np.int8:
        in_scale, in_zp = rand_scale(rng, 1e-3, 0.5), int(rng.integers(-128, 128))
        if rng.random() < 0.25:
            out_scale, out_zp = in_scale, in_zp  # same quantization
        else:
            out_scale, out_zp = rand_scale(rng, 1e-3, 0.5), int(rng.integers(-128, 128))
        x = rand_i8(rng, shape)
        xt = m.add(Tensor(shape, np.int8, scale=[in_scale], zero_point=[in_zp]))
        yt = m.add(Tensor(out_shape, np.int8, scale=[out_scale], zero_point=[out_zp]))
    else:
        x = rng.standard_normal(shape).astype(np.float32)
        xt, yt = m.add(Tensor(shape, np.float32)), m.add(Tensor(out_shape, np.float32))
    at = m.add(Tensor((len(axes),), np.int32, data=np.array(axes, dtype=np.int32)))
    m.inputs, m.outputs = [xt], [yt]
    opt = schema.ReducerOptionsT()
    opt.keepDims = keep_dims
    want = run_tflm(m.build(Op(BuiltinOperator.MEAN, [xt, at], [yt], BuiltinOptions.ReducerOptions, opt)), [x])[0]
    what = f"seed {seed} shape={shape} axes={axes} keep_dims={keep_dims}"
    if dtype == np.int8:
        p = MeanParams(**tq.mean_params(in_scale, in_zp, out_scale, out_zp))
        assert_exact(k.mean_s8(p, x, axes, out_shape), want, what + f" q=({in_scale},{in_zp})->({out_scale},{out_zp})")
    else:
        assert_same_floats(k.mean_f32(x, axes, out_shape), want, what)


def test_mean_s8_randomized(k):
    for seed in range(N_CASES):
        mean_case(k, 19000 + seed, np.int8)


def test_mean_f32_randomized(k):
    for seed in range(N_CASES // 2):
        mean_case(k, 20000 + seed, np.float32)


def test_mean_many_axes_randomized(k):
    """Up to 4 reduced axes (TFLM's micro MEAN handles rank <= 4)."""
    for seed in range(N_CASES // 2):
        mean_case(k, 29000 + seed, np.int8, max_axes=4)
        mean_case(k, 29500 + seed, np.float32, max_axes=4)


def pad_case(k, seed: int, dtype):
    rng = np.random.default_rng(seed)
    rank = int(rng.integers(1, 5))
    shape = tuple(int(rng.integers(1, 6)) for _ in range(rank))
    pads = rng.integers(0, 4, size=(rank, 2)).astype(np.int32)
    v2 = rng.random() < 0.4
    out_shape = tuple(int(d + p[0] + p[1]) for d, p in zip(shape, pads))
    m = SingleOpModel()
    if dtype == np.int8:
        scale, zp = rand_scale(rng), int(rng.integers(-128, 128))
        x = rand_i8(rng, shape)
        xt = m.add(Tensor(shape, np.int8, scale=[scale], zero_point=[zp]))
        yt = m.add(Tensor(out_shape, np.int8, scale=[scale], zero_point=[zp]))
        const = np.array([int(rng.integers(-128, 128))], dtype=np.int8)
        ct = Tensor((1,), np.int8, data=const, scale=[scale], zero_point=[zp]) if v2 else None
        pad_value = int(const[0]) if v2 else zp
    else:
        x = rng.standard_normal(shape).astype(np.float32)
        xt, yt = m.add(Tensor(shape, np.float32)), m.add(Tensor(out_shape, np.float32))
        const = np.array([rng.standard_normal()], dtype=np.float32)
        ct = Tensor((1,), np.float32, data=const) if v2 else None
        pad_value = float(const[0]) if v2 else 0.0
    pt = m.add(Tensor(pads.shape, np.int32, data=pads))
    inputs = [xt, pt] + ([m.add(ct)] if v2 else [])
    m.inputs, m.outputs = [xt], [yt]
    if v2:
        op = Op(BuiltinOperator.PADV2, inputs, [yt], BuiltinOptions.PadV2Options, schema.PadV2OptionsT())
    else:
        op = Op(BuiltinOperator.PAD, inputs, [yt], BuiltinOptions.PadOptions, schema.PadOptionsT())
    want = run_tflm(m.build(op), [x])[0]
    got = k.pad(x, pads[:, 0], pads[:, 1], pad_value)
    what = f"seed {seed} shape={shape} pads={pads.tolist()} v2={v2}"
    if dtype == np.int8:
        assert_exact(got, want, what)
    else:
        assert_same_floats(got, want, what)


def test_pad_s8_randomized(k):
    for seed in range(N_CASES):
        pad_case(k, 21000 + seed, np.int8)


def test_pad_f32_randomized(k):
    for seed in range(N_CASES // 2):
        pad_case(k, 22000 + seed, np.float32)


def concat_case(k, seed: int, dtype):
    rng = np.random.default_rng(seed)
    rank = int(rng.integers(1, 5))
    base = [int(rng.integers(1, 5)) for _ in range(rank)]
    axis = int(rng.integers(0, rank))
    n = int(rng.integers(1, 5))
    shapes = []
    for _ in range(n):
        s = list(base)
        s[axis] = int(rng.integers(1, 5))
        shapes.append(tuple(s))
    out_shape = list(base)
    out_shape[axis] = sum(s[axis] for s in shapes)
    call_axis = axis - rank if rng.random() < 0.3 else axis
    m = SingleOpModel()
    if dtype == np.int8:
        scale, zp = rand_scale(rng), int(rng.integers(-128, 128))
        xs = [rand_i8(rng, s) for s in shapes]
        ts = [m.add(Tensor(s, np.int8, scale=[scale], zero_point=[zp])) for s in shapes]
        yt = m.add(Tensor(out_shape, np.int8, scale=[scale], zero_point=[zp]))
    else:
        xs = [rng.standard_normal(s).astype(np.float32) for s in shapes]
        ts = [m.add(Tensor(s, np.float32)) for s in shapes]
        yt = m.add(Tensor(out_shape, np.float32))
    m.inputs, m.outputs = ts, [yt]
    opt = schema.ConcatenationOptionsT()
    opt.axis = call_axis
    want = run_tflm(m.build(Op(BuiltinOperator.CONCATENATION, ts, [yt], BuiltinOptions.ConcatenationOptions, opt)), xs)[
        0
    ]
    got = k.concatenation(call_axis, xs)
    what = f"seed {seed} shapes={shapes} axis={call_axis}"
    if dtype == np.int8:
        assert_exact(got, want, what)
    else:
        assert_same_floats(got, want, what)


def test_concatenation_s8_randomized(k):
    for seed in range(N_CASES):
        concat_case(k, 23000 + seed, np.int8)


def test_concatenation_f32_randomized(k):
    for seed in range(N_CASES // 2):
        concat_case(k, 24000 + seed, np.float32)


def quantize_model(shape, in_q, out_q):
    m = SingleOpModel()
    x = m.add(
        Tensor(shape, np.float32) if in_q is None else Tensor(shape, np.int8, scale=[in_q[0]], zero_point=[in_q[1]])
    )
    y = m.add(Tensor(shape, np.int8, scale=[out_q[0]], zero_point=[out_q[1]]))
    m.inputs, m.outputs = [x], [y]
    return m.build(Op(BuiltinOperator.QUANTIZE, [x], [y]))


def test_quantize_f32_s8_randomized(k):
    for seed in range(N_CASES):
        rng = np.random.default_rng(25000 + seed)
        shape = (int(rng.integers(1, 200)),)
        if rng.random() < 0.3:
            scale = float(2.0 ** -int(rng.integers(0, 10)))  # exact .5 ties below
            x = ((rng.integers(-300, 300, size=shape) + 0.5) * scale).astype(np.float32)
        else:
            scale = rand_scale(rng, 1e-3, 1.0)
            x = (rng.standard_normal(shape) * scale * 100).astype(np.float32)
        zp = int(rng.integers(-128, 128))
        want = run_tflm(quantize_model(shape, None, (scale, zp)), [x])[0]
        assert_exact(k.quantize_f32_s8(float(np.float32(scale)), zp, x), want, f"seed {seed} scale={scale} zp={zp}")


def test_requantize_s8_randomized(k):
    for seed in range(N_CASES):
        rng = np.random.default_rng(26000 + seed)
        shape = (int(rng.integers(1, 300)),)
        in_q = (rand_scale(rng, 1e-3, 0.5), int(rng.integers(-128, 128)))
        out_q = (rand_scale(rng, 1e-3, 0.5), int(rng.integers(-128, 128)))
        x = rand_i8(rng, shape)
        want = run_tflm(quantize_model(shape, in_q, out_q), [x])[0]
        mult, shift = tq.requantize_params(in_q[0], out_q[0])
        assert_exact(k.requantize_s8(in_q[1], out_q[1], mult, shift, x), want, f"seed {seed} {in_q}->{out_q}")


def test_dequantize_s8_f32_randomized(k):
    for seed in range(N_CASES):
        rng = np.random.default_rng(27000 + seed)
        shape = (int(rng.integers(1, 300)),)
        scale, zp = rand_scale(rng, 1e-6, 10.0), int(rng.integers(-128, 128))
        x = rand_i8(rng, shape)
        m = SingleOpModel()
        xt = m.add(Tensor(shape, np.int8, scale=[scale], zero_point=[zp]))
        yt = m.add(Tensor(shape, np.float32))
        m.inputs, m.outputs = [xt], [yt]
        want = run_tflm(m.build(Op(BuiltinOperator.DEQUANTIZE, [xt], [yt])), [x])[0]
        assert_same_floats(k.dequantize_s8_f32(scale, zp, x), want, f"seed {seed} scale={scale} zp={zp}")


def test_reshape_randomized(k):
    for seed in range(N_CASES // 5):
        rng = np.random.default_rng(28000 + seed)
        shape = tuple(int(rng.integers(1, 5)) for _ in range(int(rng.integers(1, 5))))
        new_shape = (int(np.prod(shape)),) if rng.random() < 0.5 else tuple(reversed(shape))
        m = SingleOpModel()
        if rng.random() < 0.5:
            scale, zp = rand_scale(rng), int(rng.integers(-128, 128))
            x = rand_i8(rng, shape)
            xt = m.add(Tensor(shape, np.int8, scale=[scale], zero_point=[zp]))
            yt = m.add(Tensor(new_shape, np.int8, scale=[scale], zero_point=[zp]))
        else:
            x = rng.standard_normal(shape).astype(np.float32)
            xt, yt = m.add(Tensor(shape, np.float32)), m.add(Tensor(new_shape, np.float32))
        st = m.add(Tensor((len(new_shape),), np.int32, data=np.array(new_shape, dtype=np.int32)))
        m.inputs, m.outputs = [xt], [yt]
        opt = schema.ReshapeOptionsT()
        opt.newShape = list(new_shape)
        want = run_tflm(m.build(Op(BuiltinOperator.RESHAPE, [xt, st], [yt], BuiltinOptions.ReshapeOptions, opt)), [x])[
            0
        ]
        got = k.reshape(x, new_shape)
        assert got.shape == want.shape
        assert np.array_equal(got.view(np.uint8), np.asarray(want).view(np.uint8)), f"seed {seed}"

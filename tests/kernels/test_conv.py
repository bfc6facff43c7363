"""CONV_2D and DEPTHWISE_CONV_2D against the tflite-micro interpreter."""

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
from kernels_lib import ConvF32Params, ConvParams
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

from tests.support.kernel_model import BuiltinOperator, BuiltinOptions, Op, SingleOpModel, Tensor, run_tflm

N_CASES = 600


def random_geometry(rng, depthwise: bool):
    while True:
        batch = int(rng.integers(1, 3))
        kh, kw = int(rng.integers(1, 5)), int(rng.integers(1, 5))
        sh, sw = int(rng.integers(1, 4)), int(rng.integers(1, 4))
        dh, dw = (int(rng.integers(1, 4)), int(rng.integers(1, 4))) if rng.random() < 0.4 else (1, 1)
        h, w = int(rng.integers(1, 12)), int(rng.integers(1, 12))
        padding = "SAME" if rng.random() < 0.5 else "VALID"
        oh, ow = out_size(padding, h, kh, sh, dh), out_size(padding, w, kw, sw, dw)
        if oh >= 1 and ow >= 1:
            break
    cin = int(rng.integers(1, 9))
    if depthwise:
        mult = int(rng.integers(1, 4))
        cout = cin * mult
    else:
        mult = 1
        cout = int(rng.integers(1, 9))
    fcin = cin
    if not depthwise and rng.random() < 0.2:  # grouped convolution
        groups = int(rng.integers(2, 4))
        cin = fcin * groups
        cout = groups * int(rng.integers(1, 4))
    return dict(
        batch=batch,
        h=h,
        w=w,
        cin=cin,
        fcin=fcin,
        cout=cout,
        kh=kh,
        kw=kw,
        sh=sh,
        sw=sw,
        dh=dh,
        dw=dw,
        padding=padding,
        oh=oh,
        ow=ow,
        depth_multiplier=mult,
    )


def build_conv_model(g, depthwise, act, x_q, w_data, b_data, q, dtype):
    m = SingleOpModel()
    in_shape = (g["batch"], g["h"], g["w"], g["cin"])
    out_shape = (g["batch"], g["oh"], g["ow"], g["cout"])
    if dtype == np.int8:
        x = m.add(Tensor(in_shape, np.int8, scale=[q["in_scale"]], zero_point=[q["in_zp"]]))
        wt = m.add(
            Tensor(
                w_data.shape,
                np.int8,
                data=w_data,
                scale=q["w_scales"],
                zero_point=[0] * len(q["w_scales"]),
                quantized_dimension=3 if depthwise else 0,
            )
        )
        inputs = [x, wt]
        if b_data is not None:
            b_scales = [float(np.float32(q["in_scale"]) * np.float32(s)) for s in q["w_scales"]]
            bt = m.add(
                Tensor(
                    b_data.shape,
                    np.int32,
                    data=b_data,
                    scale=b_scales,
                    zero_point=[0] * len(b_scales),
                    quantized_dimension=0,
                )
            )
            inputs.append(bt)
        else:
            inputs.append(-1)
        y = m.add(Tensor(out_shape, np.int8, scale=[q["out_scale"]], zero_point=[q["out_zp"]]))
    else:
        x = m.add(Tensor(in_shape, np.float32))
        wt = m.add(Tensor(w_data.shape, np.float32, data=w_data))
        inputs = [x, wt]
        inputs.append(m.add(Tensor(b_data.shape, np.float32, data=b_data)) if b_data is not None else -1)
        y = m.add(Tensor(out_shape, np.float32))
    m.inputs, m.outputs = [x], [y]
    if depthwise:
        opt = schema.DepthwiseConv2DOptionsT()
        opt.depthMultiplier = g["depth_multiplier"]
        code, otype = BuiltinOperator.DEPTHWISE_CONV_2D, BuiltinOptions.DepthwiseConv2DOptions
    else:
        opt = schema.Conv2DOptionsT()
        code, otype = BuiltinOperator.CONV_2D, BuiltinOptions.Conv2DOptions
    opt.padding = PAD_CODE[g["padding"]]
    opt.strideH, opt.strideW = g["sh"], g["sw"]
    opt.dilationHFactor, opt.dilationWFactor = g["dh"], g["dw"]
    opt.fusedActivationFunction = ACT_CODE[act]
    return m.build(Op(code, inputs, [y], otype, opt))


def run_case(k, seed: int, depthwise: bool, extreme: bool = False):
    rng = np.random.default_rng(seed)
    g = random_geometry(rng, depthwise)
    act = ACTIVATIONS[int(rng.integers(0, 4))]
    per_channel = rng.random() < 0.6
    has_bias = rng.random() < 0.85
    in_scale, out_scale = rand_scale(rng, 1e-3, 0.1), rand_scale(rng, 1e-3, 0.5)
    in_zp, out_zp = int(rng.integers(-128, 128)), int(rng.integers(-128, 128))
    nq = g["cout"] if per_channel else 1
    w_scales = [rand_scale(rng, 1e-4, 0.05) for _ in range(nq)]
    if depthwise:
        w_shape = (1, g["kh"], g["kw"], g["cout"])
    else:
        w_shape = (g["cout"], g["kh"], g["kw"], g["fcin"])
    w = rand_i8(rng, w_shape)
    w[w == -128] = -127  # symmetric weights, as the converter produces
    b = rng.integers(-20000, 20000, size=g["cout"]).astype(np.int32) if has_bias else None
    x = rand_i8(rng, (g["batch"], g["h"], g["w"], g["cin"]))
    if extreme:  # saturating values, zero points at the ends, multipliers far from 1
        x = rng.choice(np.array([-128, 127, -127, 0], dtype=np.int8), size=x.shape)
        w = rng.choice(np.array([-127, 127], dtype=np.int8), size=w.shape)
        in_zp, out_zp = int(rng.choice([-128, 127, 0])), int(rng.choice([-128, 127, 0]))
        in_scale, out_scale = rand_scale(rng, 1e-6, 1.0), rand_scale(rng, 1e-6, 1.0)
        w_scales = [rand_scale(rng, 1e-6, 1.0) for _ in range(nq)]
        if b is not None:
            b = rng.integers(-(1 << 24), 1 << 24, size=g["cout"]).astype(np.int32)
    q = dict(in_scale=in_scale, in_zp=in_zp, out_scale=out_scale, out_zp=out_zp, w_scales=w_scales)
    # TFLM's DEPTHWISE_CONV_2D crashes (segfault in the interpreter) when the
    # optional bias is absent: give it an all-zero bias, which is the same
    # arithmetic, and still run our kernel without one.
    tflm_b = b if (b is not None or not depthwise) else np.zeros(g["cout"], dtype=np.int32)
    model = build_conv_model(g, depthwise, act, x, w, tflm_b, q, np.int8)
    want = run_tflm(model, [x])[0]

    mult, shift = tq.conv_per_channel_multipliers(in_scale, w_scales, out_scale)
    lo, hi = tq.activation_range_int8(act, out_scale, out_zp)
    pad_h = compute_padding(g["sh"], g["dh"], g["h"], g["kh"], g["oh"])
    pad_w = compute_padding(g["sw"], g["dw"], g["w"], g["kw"], g["ow"])
    p = ConvParams(
        stride_h=g["sh"],
        stride_w=g["sw"],
        dilation_h=g["dh"],
        dilation_w=g["dw"],
        pad_h=pad_h,
        pad_w=pad_w,
        depth_multiplier=g["depth_multiplier"],
        input_offset=-in_zp,
        output_offset=out_zp,
        act_min=lo,
        act_max=hi,
    )
    out_shape = (g["batch"], g["oh"], g["ow"], g["cout"])
    fn = k.depthwise_conv2d_s8 if depthwise else k.conv2d_s8
    got = fn(p, mult, shift, per_channel, x, w, b, out_shape)
    assert_exact(got, want, f"seed {seed} {g} act={act} per_channel={per_channel}")


def run_case_f32(k, seed: int, depthwise: bool):
    rng = np.random.default_rng(seed)
    g = random_geometry(rng, depthwise)
    act = ACTIVATIONS[int(rng.integers(0, 4))]
    if depthwise:
        w_shape = (1, g["kh"], g["kw"], g["cout"])
    else:
        w_shape = (g["cout"], g["kh"], g["kw"], g["fcin"])
    w = rng.standard_normal(w_shape).astype(np.float32)
    b = rng.standard_normal(g["cout"]).astype(np.float32) if rng.random() < 0.85 else None
    x = rng.standard_normal((g["batch"], g["h"], g["w"], g["cin"])).astype(np.float32)
    tflm_b = b if (b is not None or not depthwise) else np.zeros(g["cout"], dtype=np.float32)
    model = build_conv_model(g, depthwise, act, x, w, tflm_b, None, np.float32)
    want = run_tflm(model, [x])[0]
    lo, hi = tq.activation_range_f32(act)
    pad_h = compute_padding(g["sh"], g["dh"], g["h"], g["kh"], g["oh"])
    pad_w = compute_padding(g["sw"], g["dw"], g["w"], g["kw"], g["ow"])
    p = ConvF32Params(
        stride_h=g["sh"],
        stride_w=g["sw"],
        dilation_h=g["dh"],
        dilation_w=g["dw"],
        pad_h=pad_h,
        pad_w=pad_w,
        depth_multiplier=g["depth_multiplier"],
        act_min=lo,
        act_max=hi,
    )
    got = k.conv2d_f32(p, x, w, b, (g["batch"], g["oh"], g["ow"], g["cout"]), depthwise=depthwise)
    assert_same_floats(got, want, f"seed {seed} {g} act={act}")


def test_conv2d_s8_randomized(k):
    for seed in range(N_CASES):
        run_case(k, 1000 + seed, depthwise=False)


def test_depthwise_conv2d_s8_randomized(k):
    for seed in range(N_CASES):
        run_case(k, 2000 + seed, depthwise=True)


def test_conv2d_s8_extremes(k):
    for seed in range(N_CASES // 3):
        run_case(k, 5000 + seed, depthwise=False, extreme=True)


def test_depthwise_conv2d_s8_extremes(k):
    for seed in range(N_CASES // 3):
        run_case(k, 6000 + seed, depthwise=True, extreme=True)


def test_conv2d_f32_randomized(k):
    for seed in range(N_CASES // 3):
        run_case_f32(k, 3000 + seed, depthwise=False)


def test_depthwise_conv2d_f32_randomized(k):
    for seed in range(N_CASES // 3):
        run_case_f32(k, 4000 + seed, depthwise=True)


def test_padding_helpers_match_tflm_formulas(k):
    import ctypes as C

    for padding in ("SAME", "VALID"):
        for in_size in range(1, 10):
            for f in range(1, 5):
                for s in range(1, 4):
                    for d in range(1, 3):
                        want = out_size(padding, in_size, f, s, d)
                        if want >= 1:
                            off = C.c_int32(0)
                            got = k.lib.hil_compute_padding(s, d, in_size, f, want, C.byref(off))
                            assert got == compute_padding(s, d, in_size, f, want)

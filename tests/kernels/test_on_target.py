"""The kernels give the same bytes on emulated targets as on the host.

Random small cases of every kernel run on QEMU's ATmega2560 (AVR: 16-bit
int, 8-bit core, avr-libc float) and mps2-an500 (Cortex-M7, hard float).
Their outputs must equal the host build's, which the other tests hold equal
to the tflite-micro interpreter. Skipped when a cross compiler or QEMU is
missing (scripts/setup.sh installs gcc-avr, gcc-arm-none-eabi and QEMU).
"""

from __future__ import annotations

import numpy as np
import ontarget
import pytest
import tflm_quant as tq
from kernel_testutil import ACTIVATIONS, compute_padding, out_size, rand_i8, rand_scale
from kernels_lib import (
    AddParams,
    ConvF32Params,
    ConvParams,
    Dims,
    FcParams,
    LogisticParams,
    MeanParams,
    MulParams,
    PoolParams,
    SoftmaxParams,
    nshape,
)

CASES_PER_KERNEL = 25


def conv_geometry(rng, depthwise, wide=False, deep=False):
    """wide: channel counts for the DSP kernels' 4-channel blocks and tails, multiplier 1 mostly.
    deep: 3x3 windows of 114-130 channels, beyond the DSP conv's 1,024-byte gathered window."""
    while True:
        h, w = int(rng.integers(1, 7)), int(rng.integers(1, 7))
        kh, kw = (3, 3) if deep else (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
        sh, sw = int(rng.integers(1, 3)), int(rng.integers(1, 3))
        dh, dw = int(rng.integers(1, 3)), int(rng.integers(1, 3))
        padding = "SAME" if rng.random() < 0.5 else "VALID"
        oh, ow = out_size(padding, h, kh, sh, dh), out_size(padding, w, kw, sw, dw)
        if oh >= 1 and ow >= 1:
            break
    cin = int(rng.integers(114, 131)) if deep else int(rng.integers(1, 41 if wide else 5))
    mult = (1 if wide and rng.random() < 0.7 else int(rng.integers(1, 3))) if depthwise else 1
    cout = cin * mult if depthwise else int(rng.integers(1, 11 if wide else 5))
    return dict(
        h=h,
        w=w,
        kh=kh,
        kw=kw,
        sh=sh,
        sw=sw,
        dh=dh,
        dw=dw,
        oh=oh,
        ow=ow,
        cin=cin,
        cout=cout,
        mult=mult,
        pad_h=compute_padding(sh, dh, h, kh, oh),
        pad_w=compute_padding(sw, dw, w, kw, ow),
    )


def extreme_bias_and_scale(rng, n):
    """Biases up to 1.5 * 2^30 and output scales down to 1e-6 (positive shifts): the DSP kernels'
    long requantisation path (hil_dsp_narrow_ok false) and saturated outputs."""
    b = rng.integers(-(3 << 29), 3 << 29, size=n).astype(np.int32)
    return b, rand_scale(rng, 1e-6, 0.5)


def odd_parameters(rng, mult, input_offset, lo, hi):
    """One parameter no valid model has, which sends the DSP kernels to their portable loop or
    (FC input offsets up to 2000) through wider 16-bit lanes: an input offset beyond int8,
    activation bounds beyond int8, or an INT32_MIN multiplier (the saturating case)."""
    kind = int(rng.integers(0, 3))
    mult = np.array(mult, dtype=np.int32)
    if kind == 0:
        input_offset = int(rng.choice([-1, 1]) * rng.integers(129, 2000))
    elif kind == 1:
        lo, hi = -int(rng.integers(129, 1000)), int(rng.integers(128, 1000))
    else:
        mult[0] = np.iinfo(np.int32).min
    return mult, input_offset, lo, hi


def case_conv(k, rng, depthwise, dtype, wide=False, deep=False, extreme=False, odd=False):
    g = conv_geometry(rng, depthwise, wide or extreme or odd, deep)
    xs, os = (1, g["h"], g["w"], g["cin"]), (1, g["oh"], g["ow"], g["cout"])
    ws = (1, g["kh"], g["kw"], g["cout"]) if depthwise else (g["cout"], g["kh"], g["kw"], g["cin"])
    c = ontarget.Case()
    name = "hil_depthwise_conv2d" if depthwise else "hil_conv2d"
    if dtype == np.int8:
        x, w = rand_i8(rng, xs), rand_i8(rng, ws)
        b = rng.integers(-30000, 30000, size=g["cout"]).astype(np.int32)
        in_s, out_s = rand_scale(rng, 1e-3, 0.1), rand_scale(rng, 1e-3, 0.5)
        if extreme:
            b, out_s = extreme_bias_and_scale(rng, g["cout"])
        per_channel = bool(rng.random() < 0.5)
        w_scales = [rand_scale(rng, 1e-4, 0.05) for _ in range(g["cout"] if per_channel else 1)]
        mult, shift = tq.conv_per_channel_multipliers(in_s, w_scales, out_s)
        zi, zo = int(rng.integers(-128, 128)), int(rng.integers(-128, 128))
        lo, hi = tq.activation_range_int8(ACTIVATIONS[int(rng.integers(0, 4))], out_s, zo)
        x_off = -zi
        if odd:
            mult, x_off, lo, hi = odd_parameters(rng, mult, x_off, lo, hi)
        p = ConvParams(g["sh"], g["sw"], g["dh"], g["dw"], g["pad_h"], g["pad_w"], g["mult"], x_off, zo, lo, hi)
        fn = k.depthwise_conv2d_s8 if depthwise else k.conv2d_s8
        want = fn(p, mult, shift, per_channel, x, w, b, os)
        c.buf("p", p, "hil_conv_params_t")
        c.buf("m", mult, "int32_t")
        c.buf("s", shift, "int32_t")
        c.line(f"hil_requant_t rq = {{m, s, {int(per_channel)}}};")
        et, call_rq = "int8_t", "&rq, "
    else:
        x = rng.standard_normal(xs).astype(np.float32)
        w = rng.standard_normal(ws).astype(np.float32)
        b = rng.standard_normal(g["cout"]).astype(np.float32)
        lo, hi = tq.activation_range_f32(ACTIVATIONS[int(rng.integers(0, 4))])
        p = ConvF32Params(g["sh"], g["sw"], g["dh"], g["dw"], g["pad_h"], g["pad_w"], g["mult"], lo, hi)
        want = k.conv2d_f32(p, x, w, b, os, depthwise=depthwise)
        c.buf("p", p, "hil_conv_f32_params_t")
        et, call_rq = "float", ""
    bt = "int32_t" if dtype == np.int8 else "float"
    c.buf("xd", Dims(*xs), "hil_dims_t")
    c.buf("x", x, et)
    c.buf("wd", Dims(*ws), "hil_dims_t")
    c.buf("w", w, et)
    c.buf("b", b, bt)
    c.buf("od", Dims(*os), "hil_dims_t")
    c.out("o", et, want.nbytes)
    sfx = "s8" if dtype == np.int8 else "f32"
    c.call = f"{name}_{sfx}(p, {call_rq}xd, x, wd, w, b, od, o)"
    return c, want


def case_fc(k, rng, dtype, long_rows=False, extreme=False, odd=False):
    batches, units = int(rng.integers(1, 4)), int(rng.integers(1, 10))
    depth = int(rng.integers(30, 200)) if long_rows else int(rng.integers(1, 30))
    c = ontarget.Case()
    if dtype == np.int8:
        x, w = rand_i8(rng, (batches, depth)), rand_i8(rng, (units, depth))
        b = rng.integers(-30000, 30000, size=units).astype(np.int32)
        in_s, out_s = rand_scale(rng, 1e-3, 0.1), rand_scale(rng, 1e-3, 0.5)
        if extreme:
            b, out_s = extreme_bias_and_scale(rng, units)
        per_channel = bool(rng.random() < 0.5)
        mult, shift = tq.conv_per_channel_multipliers(
            in_s, [rand_scale(rng, 1e-4, 0.05) for _ in range(units if per_channel else 1)], out_s
        )
        zi, zo, zw = int(rng.integers(-128, 128)), int(rng.integers(-128, 128)), int(rng.integers(-5, 5))
        lo, hi = tq.activation_range_int8(ACTIVATIONS[int(rng.integers(0, 4))], out_s, zo)
        x_off = -zi
        if odd:
            mult, x_off, lo, hi = odd_parameters(rng, mult, x_off, lo, hi)
        p = FcParams(x_off, -zw, zo, lo, hi)
        want = k.fully_connected_s8(p, mult, shift, per_channel, x, w, b)
        c.buf("p", p, "hil_fc_params_t")
        c.buf("m", mult, "int32_t")
        c.buf("s", shift, "int32_t")
        c.line(f"hil_requant_t rq = {{m, s, {int(per_channel)}}};")
        c.buf("x", x, "int8_t")
        c.buf("w", w, "int8_t")
        c.buf("b", b, "int32_t")
        c.out("o", "int8_t", want.nbytes)
        c.call = f"hil_fully_connected_s8(p, &rq, {batches}, {depth}, {units}, x, w, b, o)"
    else:
        x = rng.standard_normal((batches, depth)).astype(np.float32)
        w = rng.standard_normal((units, depth)).astype(np.float32)
        b = rng.standard_normal(units).astype(np.float32)
        lo, hi = tq.activation_range_f32(ACTIVATIONS[int(rng.integers(0, 4))])
        want = k.fully_connected_f32(lo, hi, x, w, b)
        c.buf("lohi", np.array([lo, hi], dtype=np.float32), "float")
        c.buf("x", x, "float")
        c.buf("w", w, "float")
        c.buf("b", b, "float")
        c.out("o", "float", want.nbytes)
        c.call = f"hil_fully_connected_f32(lohi[0], lohi[1], {batches}, {depth}, {units}, x, w, b, o)"
    return c, want


def case_pool(k, rng, kind, dtype):
    while True:
        h, w, ch = int(rng.integers(1, 8)), int(rng.integers(1, 8)), int(rng.integers(1, 5))
        fh, fw, sh, sw = (int(rng.integers(1, 4)) for _ in range(4))
        padding = "SAME" if rng.random() < 0.5 else "VALID"
        oh, ow = out_size(padding, h, fh, sh, 1), out_size(padding, w, fw, sw, 1)
        if oh >= 1 and ow >= 1:
            break
    p = PoolParams(sh, sw, fh, fw, compute_padding(sh, 1, h, fh, oh), compute_padding(sw, 1, w, fw, ow))
    p.act_min, p.act_max = tq.activation_range_int8(ACTIVATIONS[int(rng.integers(0, 4))], 0.05, 3)
    p.act_min_f, p.act_max_f = tq.activation_range_f32(ACTIVATIONS[int(rng.integers(0, 4))])
    xs, os = (1, h, w, ch), (1, oh, ow, ch)
    x = rand_i8(rng, xs) if dtype == np.int8 else rng.standard_normal(xs).astype(np.float32)
    want = k.pool(kind, p, x, os)
    et, sfx = ("int8_t", "s8") if dtype == np.int8 else ("float", "f32")
    c = ontarget.Case()
    c.buf("p", p, "hil_pool_params_t")
    c.buf("xd", Dims(*xs), "hil_dims_t")
    c.buf("x", x, et)
    c.buf("od", Dims(*os), "hil_dims_t")
    c.out("o", et, want.nbytes)
    c.call = f"hil_{kind}pool_{sfx}(p, xd, x, od, o)"
    return c, want


def case_binary(k, rng, kind, dtype):
    rank = int(rng.integers(1, 5))
    so = [int(rng.integers(1, 5)) for _ in range(rank)]
    sa = [d if rng.random() < 0.6 else 1 for d in so]
    sb = [d if rng.random() < 0.6 else 1 for d in so]
    so = list(np.broadcast_shapes(tuple(sa), tuple(sb)))
    c = ontarget.Case()
    if dtype == np.int8:
        a, b = rand_i8(rng, sa), rand_i8(rng, sb)
        s1, s2, s3 = (rand_scale(rng, 1e-3, 0.5) for _ in range(3))
        z1, z2, z3 = (int(rng.integers(-128, 128)) for _ in range(3))
        lo, hi = tq.activation_range_int8(ACTIVATIONS[int(rng.integers(0, 4))], s3, z3)
        if kind == "add":
            p, pt = AddParams(**tq.add_params(s1, z1, s2, z2, s3, z3), act_min=lo, act_max=hi), "hil_add_params_t"
        else:
            p, pt = MulParams(**tq.mul_params(s1, z1, s2, z2, s3, z3), act_min=lo, act_max=hi), "hil_mul_params_t"
        want = k.binary_s8(kind, p, a, b, tuple(so))
        c.buf("p", p, pt)
        et, first = "int8_t", "p"
    else:
        a, b = rng.standard_normal(sa).astype(np.float32), rng.standard_normal(sb).astype(np.float32)
        lo, hi = tq.activation_range_f32(ACTIVATIONS[int(rng.integers(0, 4))])
        want = k.binary_f32(kind, lo, hi, a, b, tuple(so))
        c.buf("lohi", np.array([lo, hi], dtype=np.float32), "float")
        et, first = "float", "lohi[0], lohi[1]"
    c.buf("sa", nshape(sa), "hil_shape_t")
    c.buf("a", a, et)
    c.buf("sb", nshape(sb), "hil_shape_t")
    c.buf("b", b, et)
    c.buf("so", nshape(so), "hil_shape_t")
    c.out("o", et, want.nbytes)
    c.call = f"hil_{kind}_{'s8' if dtype == np.int8 else 'f32'}({first}, sa, a, sb, b, so, o)"
    return c, want


def case_softmax(k, rng, dtype):
    rows, depth = int(rng.integers(1, 5)), int(rng.integers(1, 40))
    c = ontarget.Case()
    if dtype == np.int8:
        x = rand_i8(rng, (rows, depth))
        beta = 1.0 if rng.random() < 0.5 else float(np.float32(rng.uniform(0.1, 3)))
        p = SoftmaxParams(**tq.softmax_params(beta, rand_scale(rng, 1e-3, 0.5)))
        want = k.softmax_s8(p, x)
        c.buf("p", p, "hil_softmax_params_t")
        c.buf("x", x, "int8_t")
        c.out("o", "int8_t", want.nbytes)
        c.call = f"hil_softmax_s8(p, {rows}, {depth}, x, o)"
    else:
        x = (rng.standard_normal((rows, depth)) * 4).astype(np.float32)
        want = k.softmax_f32(1.0, x)
        c.buf("x", x, "float")
        c.out("o", "float", want.nbytes)
        c.call = f"hil_softmax_f32(1.0f, {rows}, {depth}, x, o)"
    return c, want


def case_logistic(k, rng, dtype):
    n = int(rng.integers(1, 200))
    c = ontarget.Case()
    if dtype == np.int8:
        x = rand_i8(rng, (n,))
        p = LogisticParams(**tq.logistic_params(rand_scale(rng, 1e-3, 0.5), int(rng.integers(-128, 128))))
        want = k.logistic_s8(p, x)
        c.buf("p", p, "hil_logistic_params_t")
        c.buf("x", x, "int8_t")
        c.out("o", "int8_t", want.nbytes)
        c.call = f"hil_logistic_s8(p, {n}, x, o)"
    else:
        x = (rng.standard_normal(n) * 8).astype(np.float32)
        want = k.logistic_f32(x)
        c.buf("x", x, "float")
        c.out("o", "float", want.nbytes)
        c.call = f"hil_logistic_f32({n}, x, o)"
    return c, want


def case_mean(k, rng, dtype):
    rank = int(rng.integers(1, 5))
    shape = tuple(int(rng.integers(1, 6)) for _ in range(rank))  # <= 2.5 KB of floats: AVR RAM
    axes = sorted(int(a) for a in rng.choice(rank, size=int(rng.integers(1, rank + 1)), replace=False))
    out_shape = tuple(1 if i in axes else d for i, d in enumerate(shape))
    c = ontarget.Case()
    c.buf("sh", nshape(shape), "hil_shape_t")
    c.buf("ax", np.array(axes, dtype=np.int32), "int32_t")
    if dtype == np.int8:
        x = rand_i8(rng, shape)
        p = MeanParams(
            **tq.mean_params(
                rand_scale(rng), int(rng.integers(-128, 128)), rand_scale(rng), int(rng.integers(-128, 128))
            )
        )
        want = k.mean_s8(p, x, axes, out_shape)
        c.buf("p", p, "hil_mean_params_t")
        c.buf("x", x, "int8_t")
        c.out("o", "int8_t", want.nbytes)
        c.call = f"hil_mean_s8(p, sh, x, ax, {len(axes)}, o)"
    else:
        x = rng.standard_normal(shape).astype(np.float32)
        want = k.mean_f32(x, axes, out_shape)
        c.buf("x", x, "float")
        c.out("o", "float", want.nbytes)
        c.call = f"hil_mean_f32(sh, x, ax, {len(axes)}, o)"
    return c, want


def case_pad_concat(k, rng):
    rank = int(rng.integers(1, 5))
    shape = tuple(int(rng.integers(1, 5)) for _ in range(rank))
    c = ontarget.Case()
    if rng.random() < 0.5:
        x = rand_i8(rng, shape)
        pads = rng.integers(0, 3, size=(rank, 2)).astype(np.int32)
        value = int(rng.integers(-128, 128))
        want = k.pad(x, pads[:, 0], pads[:, 1], value)
        c.buf("sh", nshape(shape), "hil_shape_t")
        c.buf("x", x, "int8_t")
        c.buf("pb", np.ascontiguousarray(pads[:, 0]), "int32_t")
        c.buf("pa", np.ascontiguousarray(pads[:, 1]), "int32_t")
        c.out("o", "int8_t", want.nbytes)
        c.call = f"hil_pad_s8(sh, x, pb, pa, {value}, o)"
    else:
        axis = int(rng.integers(0, rank))
        xs = []
        for _ in range(int(rng.integers(1, 4))):
            s = list(shape)
            s[axis] = int(rng.integers(1, 4))
            xs.append(rand_i8(rng, tuple(s)))
        want = k.concatenation(axis, xs)
        for i, x in enumerate(xs):
            c.buf(f"s{i}", nshape(x.shape), "hil_shape_t")
            c.buf(f"x{i}", x, "int8_t")
        names = ", ".join(f"s{i}" for i in range(len(xs)))
        datas = ", ".join(f"x{i}" for i in range(len(xs)))
        c.line(f"const hil_shape_t *shapes[] = {{{names}}};")
        c.line(f"const int8_t *inputs[] = {{{datas}}};")
        c.out("o", "int8_t", want.nbytes)
        c.call = f"hil_concatenation_s8({axis}, {len(xs)}, shapes, inputs, o)"
    return c, want


def case_quant(k, rng):
    n = int(rng.integers(1, 100))
    c = ontarget.Case()
    which = int(rng.integers(0, 3))
    scale, zp = rand_scale(rng, 1e-3, 1.0), int(rng.integers(-128, 128))
    if which < 2:
        c.buf("sc", np.array([scale], dtype=np.float32), "float")
    if which == 0:
        x = (rng.standard_normal(n) * scale * 100).astype(np.float32)
        want = k.quantize_f32_s8(scale, zp, x)
        c.buf("x", x, "float")
        c.out("o", "int8_t", want.nbytes)
        c.call = f"hil_quantize_f32_s8(sc[0], {zp}, {n}, x, o)"
    elif which == 1:
        x = rand_i8(rng, (n,))
        want = k.dequantize_s8_f32(scale, zp, x)
        c.buf("x", x, "int8_t")
        c.out("o", "float", want.nbytes)
        c.call = f"hil_dequantize_s8_f32(sc[0], {zp}, {n}, x, o)"
    else:
        x = rand_i8(rng, (n,))
        m, s = tq.requantize_params(scale, rand_scale(rng, 1e-3, 1.0))
        zo = int(rng.integers(-128, 128))
        want = k.requantize_s8(zp, zo, m, s, x)
        c.buf("x", x, "int8_t")
        c.out("o", "int8_t", want.nbytes)
        c.call = f"hil_requantize_s8({zp}, {zo}, {m}L, {s}, {n}, x, o)"
    return c, want


GENERATORS = {
    "conv_s8": lambda k, r: case_conv(k, r, False, np.int8),
    "dwconv_s8": lambda k, r: case_conv(k, r, True, np.int8),
    "fc_s8": lambda k, r: case_fc(k, r, np.int8),
    "avgpool_s8": lambda k, r: case_pool(k, r, "avg", np.int8),
    "maxpool_s8": lambda k, r: case_pool(k, r, "max", np.int8),
    "add_s8": lambda k, r: case_binary(k, r, "add", np.int8),
    "mul_s8": lambda k, r: case_binary(k, r, "mul", np.int8),
    "softmax_s8": lambda k, r: case_softmax(k, r, np.int8),
    "logistic_s8": lambda k, r: case_logistic(k, r, np.int8),
    "mean_s8": lambda k, r: case_mean(k, r, np.int8),
    "pad_concat_s8": case_pad_concat,
    "quantize": case_quant,
    "conv_f32": lambda k, r: case_conv(k, r, False, np.float32),
    "dwconv_f32": lambda k, r: case_conv(k, r, True, np.float32),
    "fc_f32": lambda k, r: case_fc(k, r, np.float32),
    "avgpool_f32": lambda k, r: case_pool(k, r, "avg", np.float32),
    "maxpool_f32": lambda k, r: case_pool(k, r, "max", np.float32),
    "add_f32": lambda k, r: case_binary(k, r, "add", np.float32),
    "mul_f32": lambda k, r: case_binary(k, r, "mul", np.float32),
    "softmax_f32": lambda k, r: case_softmax(k, r, np.float32),
    "logistic_f32": lambda k, r: case_logistic(k, r, np.float32),
    "mean_f32": lambda k, r: case_mean(k, r, np.float32),
    # aimed at the ARMv7E-M DSP kernels (firmware/src/kernels/arm/); appended so the cases above
    # keep their random draws
    "conv_s8_wide": lambda k, r: case_conv(k, r, False, np.int8, wide=True),
    "dwconv_s8_wide": lambda k, r: case_conv(k, r, True, np.int8, wide=True),
    "fc_s8_long": lambda k, r: case_fc(k, r, np.int8, long_rows=True),
    "conv_s8_deep": lambda k, r: case_conv(k, r, False, np.int8, deep=True),
    "conv_s8_extreme": lambda k, r: case_conv(k, r, False, np.int8, extreme=True),
    "dwconv_s8_extreme": lambda k, r: case_conv(k, r, True, np.int8, extreme=True),
    "fc_s8_extreme": lambda k, r: case_fc(k, r, np.int8, long_rows=True, extreme=True),
    "conv_s8_odd": lambda k, r: case_conv(k, r, False, np.int8, odd=True),
    "dwconv_s8_odd": lambda k, r: case_conv(k, r, True, np.int8, odd=True),
    "fc_s8_odd": lambda k, r: case_fc(k, r, np.int8, long_rows=True, odd=True),
}


TOO_LARGE_FOR_AVR = ("conv_s8_deep#",)


def all_cases(k, seed: int):
    rng = np.random.default_rng(seed)
    cases, wants, labels = [], [], []
    for name, gen in GENERATORS.items():
        for i in range(CASES_PER_KERNEL):
            c, want = gen(k, rng)
            cases.append(c)
            wants.append(np.ascontiguousarray(want).tobytes())
            labels.append(f"{name}#{i}")
    return cases, wants, labels


@pytest.mark.parametrize("target", sorted(ontarget.TARGETS))
def test_kernels_on_target_match_host(k, target, tmp_path):
    if not ontarget.available(target):
        pytest.skip(f"cross compiler or QEMU for {target} not installed")
    cases, wants, labels = all_cases(k, 4242)
    if target == "avr":  # the deep conv cases need more than the ATmega2560's 8 KB of RAM
        keep = [i for i, label in enumerate(labels) if not label.startswith(tuple(TOO_LARGE_FOR_AVR))]
        cases, wants, labels = [cases[i] for i in keep], [wants[i] for i in keep], [labels[i] for i in keep]
    failures = []
    # AVR images must stay below 64 KB of flash (see ontarget.build): <= 40 cases, <= 12 KB of data
    limit, max_cases = (12 * 1024, 40) if target == "avr" else (1 << 30, 1 << 30)
    chunks, current, size = [], [], 0
    for i, c in enumerate(cases):
        n = sum(len(raw) for _, raw in c.data)
        if current and (size + n > limit or len(current) >= max_cases):
            chunks.append(current)
            current, size = [], 0
        current.append(i)
        size += n
    chunks.append(current)
    for j, idx in enumerate(chunks):
        work = tmp_path / f"image{j}"
        work.mkdir()
        elf = ontarget.build(target, [cases[i] for i in idx], work)
        results = ontarget.run(target, elf, len(idx))
        for pos, i in enumerate(idx):
            rc, got = results[pos]
            if rc != 0 or got != wants[i]:
                failures.append(labels[i])
    assert not failures, f"{target}: {len(failures)} of {len(cases)} differ from the host: {failures}"

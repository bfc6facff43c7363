"""ADD and MUL (with broadcasting) against tflite-micro."""

from __future__ import annotations

import numpy as np
import tflm_quant as tq
from kernel_testutil import ACT_CODE, ACTIVATIONS, assert_exact, assert_same_floats, rand_i8, rand_scale
from kernels_lib import AddParams, MulParams
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

from tests.support.kernel_model import BuiltinOperator, BuiltinOptions, Op, SingleOpModel, Tensor, run_tflm

N_CASES = 500


def random_broadcast_shapes(rng, max_rank: int):
    rank = int(rng.integers(1, max_rank + 1))
    out = [int(rng.integers(1, 6)) for _ in range(rank)]
    mode = rng.random()
    if mode < 0.3:  # same shape
        return out, list(out), list(out)
    a = [d if rng.random() < 0.6 else 1 for d in out]
    b = [d if rng.random() < 0.6 else 1 for d in out]
    # drop leading dims now and then (rank broadcasting)
    if rng.random() < 0.3:
        a = a[int(rng.integers(0, rank)) :]
    if rng.random() < 0.3:
        b = b[int(rng.integers(0, rank)) :]
    if not a:
        a = [1]
    if not b:
        b = [1]
    out = list(np.broadcast_shapes(tuple(a), tuple(b)))
    return a, b, out


def binary_case(k, seed: int, kind: str, dtype, extreme: bool = False):
    rng = np.random.default_rng(seed)
    sa, sb, so = random_broadcast_shapes(rng, 4 if kind == "mul" else 5)
    act = ACTIVATIONS[int(rng.integers(0, 4))]
    m = SingleOpModel()
    if dtype == np.int8:
        s1, s2 = rand_scale(rng, 1e-3, 0.5), rand_scale(rng, 1e-3, 0.5)
        so_scale = rand_scale(rng, 1e-3, 0.5) if kind == "add" else rand_scale(rng, 1e-4, 0.1)
        if rng.random() < 0.15:
            s2 = s1  # equal input scales
        z1, z2, zo = (int(rng.integers(-128, 128)) for _ in range(3))
        a, b = rand_i8(rng, sa), rand_i8(rng, sb)
        if extreme:  # values and zero points at the ends of the range, scales far apart
            ends = np.array([-128, 127, -127, 0], dtype=np.int8)
            a, b = rng.choice(ends, size=sa), rng.choice(ends, size=sb)
            z1, z2, zo = (int(rng.choice([-128, 127, 0])) for _ in range(3))
            s1, s2, so_scale = (rand_scale(rng, 1e-5, 1.0) for _ in range(3))
        t1 = m.add(Tensor(sa, np.int8, scale=[s1], zero_point=[z1]))
        t2 = m.add(Tensor(sb, np.int8, scale=[s2], zero_point=[z2]))
        to = m.add(Tensor(so, np.int8, scale=[so_scale], zero_point=[zo]))
    else:
        a = rng.standard_normal(sa).astype(np.float32)
        b = rng.standard_normal(sb).astype(np.float32)
        t1, t2, to = m.add(Tensor(sa, np.float32)), m.add(Tensor(sb, np.float32)), m.add(Tensor(so, np.float32))
    m.inputs, m.outputs = [t1, t2], [to]
    if kind == "add":
        opt, code, otype = schema.AddOptionsT(), BuiltinOperator.ADD, BuiltinOptions.AddOptions
    else:
        opt, code, otype = schema.MulOptionsT(), BuiltinOperator.MUL, BuiltinOptions.MulOptions
    opt.fusedActivationFunction = ACT_CODE[act]
    want = run_tflm(m.build(Op(code, [t1, t2], [to], otype, opt)), [a, b])[0]
    what = f"seed {seed} {kind} {sa}+{sb}->{so} act={act}"
    if dtype == np.int8:
        lo, hi = tq.activation_range_int8(act, so_scale, zo)
        if kind == "add":
            p = AddParams(**tq.add_params(s1, z1, s2, z2, so_scale, zo), act_min=lo, act_max=hi)
        else:
            p = MulParams(**tq.mul_params(s1, z1, s2, z2, so_scale, zo), act_min=lo, act_max=hi)
        assert_exact(k.binary_s8(kind, p, a, b, tuple(so)), want, what)
    else:
        lo, hi = tq.activation_range_f32(act)
        assert_same_floats(k.binary_f32(kind, lo, hi, a, b, tuple(so)), want, what)


def test_add_s8_randomized(k):
    for seed in range(N_CASES):
        binary_case(k, 11000 + seed, "add", np.int8)


def test_mul_s8_randomized(k):
    for seed in range(N_CASES):
        binary_case(k, 12000 + seed, "mul", np.int8)


def test_add_s8_extremes(k):
    for seed in range(N_CASES // 2):
        binary_case(k, 15000 + seed, "add", np.int8, extreme=True)


def test_mul_s8_extremes(k):
    for seed in range(N_CASES // 2):
        binary_case(k, 16000 + seed, "mul", np.int8, extreme=True)


def test_add_f32_randomized(k):
    for seed in range(N_CASES // 2):
        binary_case(k, 13000 + seed, "add", np.float32)


def test_mul_f32_randomized(k):
    for seed in range(N_CASES // 2):
        binary_case(k, 14000 + seed, "mul", np.float32)

"""SOFTMAX and LOGISTIC against tflite-micro.

int8 must match exactly. The float versions use the portable hil_expf
instead of the libm expf TFLM calls, so they are compared with a tolerance
(documented in docs/kernels.md); hil_expf itself is checked against
numpy's float32 exp in ulps.
"""

from __future__ import annotations

import numpy as np
import tflm_quant as tq
from kernel_testutil import assert_exact, rand_i8, rand_scale
from kernels_lib import LogisticParams, SoftmaxParams
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

from tests.support.kernel_model import BuiltinOperator, BuiltinOptions, Op, SingleOpModel, Tensor, run_tflm

N_CASES = 500


def assert_within_ulps(got, want, max_ulps: int, what: str):
    """Same sign, at most max_ulps float32 steps apart."""
    want = np.asarray(want, dtype=np.float32).reshape(got.shape)
    assert np.all(np.signbit(got) == np.signbit(want)), what
    d = np.abs(got.view(np.int32).astype(np.int64) - want.view(np.int32).astype(np.int64))
    assert d.max() <= max_ulps, f"{what}: {int(d.max())} ulps apart at {np.unravel_index(d.argmax(), d.shape)}"


def random_shape(rng):
    rank = int(rng.integers(1, 5))
    return tuple(int(rng.integers(1, 7)) for _ in range(rank - 1)) + (int(rng.integers(1, 40)),)


def softmax_model(shape, beta, dtype, in_scale=None, in_zp=None):
    m = SingleOpModel()
    if dtype == np.int8:
        x = m.add(Tensor(shape, np.int8, scale=[in_scale], zero_point=[in_zp]))
        y = m.add(Tensor(shape, np.int8, scale=[1.0 / 256], zero_point=[-128]))
    else:
        x, y = m.add(Tensor(shape, np.float32)), m.add(Tensor(shape, np.float32))
    m.inputs, m.outputs = [x], [y]
    opt = schema.SoftmaxOptionsT()
    opt.beta = beta
    return m.build(Op(BuiltinOperator.SOFTMAX, [x], [y], BuiltinOptions.SoftmaxOptions, opt))


def test_softmax_s8_randomized(k):
    for seed in range(N_CASES):
        rng = np.random.default_rng(15000 + seed)
        shape = random_shape(rng)
        beta = 1.0 if rng.random() < 0.5 else float(np.float32(rng.uniform(0.1, 3.0)))
        in_scale, in_zp = rand_scale(rng, 1e-3, 0.5), int(rng.integers(-128, 128))
        x = rand_i8(rng, shape)
        if rng.random() < 0.2:  # rows with many ties at the max
            x[..., ::2] = x.max()
        want = run_tflm(softmax_model(shape, beta, np.int8, in_scale, in_zp), [x])[0]
        p = SoftmaxParams(**tq.softmax_params(beta, in_scale))
        assert_exact(k.softmax_s8(p, x), want, f"seed {seed} shape={shape} beta={beta} scale={in_scale}")


def test_softmax_f32_randomized_close(k):
    for seed in range(N_CASES // 2):
        rng = np.random.default_rng(16000 + seed)
        shape = random_shape(rng)
        beta = 1.0 if rng.random() < 0.5 else float(np.float32(rng.uniform(0.1, 3.0)))
        x = (rng.standard_normal(shape) * 4).astype(np.float32)
        want = run_tflm(softmax_model(shape, beta, np.float32), [x])[0]
        assert_within_ulps(k.softmax_f32(beta, x), want, 4, f"seed {seed} shape={shape} beta={beta}")


def logistic_model(shape, dtype, in_scale=None, in_zp=None):
    m = SingleOpModel()
    if dtype == np.int8:
        x = m.add(Tensor(shape, np.int8, scale=[in_scale], zero_point=[in_zp]))
        y = m.add(Tensor(shape, np.int8, scale=[1.0 / 256], zero_point=[-128]))
    else:
        x, y = m.add(Tensor(shape, np.float32)), m.add(Tensor(shape, np.float32))
    m.inputs, m.outputs = [x], [y]
    return m.build(Op(BuiltinOperator.LOGISTIC, [x], [y]))


def test_logistic_s8_randomized(k):
    for seed in range(N_CASES):
        rng = np.random.default_rng(17000 + seed)
        shape = random_shape(rng)
        in_scale, in_zp = rand_scale(rng, 1e-3, 0.5), int(rng.integers(-128, 128))
        x = rand_i8(rng, shape)
        want = run_tflm(logistic_model(shape, np.int8, in_scale, in_zp), [x])[0]
        p = LogisticParams(**tq.logistic_params(in_scale, in_zp))
        assert_exact(k.logistic_s8(p, x), want, f"seed {seed} shape={shape} scale={in_scale} zp={in_zp}")


def test_logistic_s8_all_inputs(k):
    """Every int8 input value at a spread of scales."""
    x = np.arange(-128, 128, dtype=np.int8)
    for i, scale in enumerate(np.geomspace(1e-4, 2.0, 60)):
        scale = float(np.float32(scale))
        zp = (i * 37) % 256 - 128
        want = run_tflm(logistic_model(x.shape, np.int8, scale, zp), [x])[0]
        p = LogisticParams(**tq.logistic_params(scale, zp))
        assert_exact(k.logistic_s8(p, x), want, f"scale={scale} zp={zp}")


def test_logistic_f32_randomized_close(k):
    for seed in range(N_CASES // 2):
        rng = np.random.default_rng(18000 + seed)
        shape = random_shape(rng)
        x = (rng.standard_normal(shape) * 8).astype(np.float32)
        want = run_tflm(logistic_model(shape, np.float32), [x])[0]
        assert_within_ulps(k.logistic_f32(x), want, 3, f"seed {seed} shape={shape}")


def test_hil_expf_within_2ulp_of_numpy(k):
    xs = np.concatenate(
        [np.linspace(-103, 88.7, 20001, dtype=np.float32), np.float32([0.0, -0.0, 1e-30, -1e-30, 88.72, -87.3, -100.0])]
    )
    got = np.array([k.lib.hil_expf(float(v)) for v in xs], dtype=np.float32)
    want = np.exp(xs.astype(np.float64)).astype(np.float32)
    ulp = np.abs(got.view(np.int32).astype(np.int64) - want.view(np.int32).astype(np.int64))
    normal = want > np.float32(1.2e-38)
    assert ulp[normal].max() <= 2, f"max ulp error {ulp[normal].max()}"
    assert np.isinf(k.lib.hil_expf(100.0)) and k.lib.hil_expf(-200.0) == 0.0

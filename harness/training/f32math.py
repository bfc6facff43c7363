"""float32 exp, log and rounding exactly as firmware/src/training/train_math.c computes them.

Every operation is one IEEE float32 operation on numpy float32 scalars or arrays, in the order the C
code performs it (docs/training_spec.md section "Float32 helpers"); nothing goes through libm or
float64, so host and device agree bit for bit.
"""

from __future__ import annotations

import numpy as np

F = np.float32
_LOG2E = F(1.44269504088896341)
_LN2_HI = F(6.93145751953125e-1)
_LN2_LO = F(1.42860682030941723212e-6)
_EXP_COEFFS = [F(1) / F(40320), F(1) / F(5040), F(1) / F(720), F(1) / F(120), F(1) / F(24), F(1) / F(6), F(0.5)]
_LOG_COEFFS = [F(1) / F(9), F(1) / F(7), F(1) / F(5), F(1) / F(3)]
_SQRT2 = F(1.41421356)


def _pow2i(k: int) -> np.float32:
    return np.array([(k + 127) << 23], np.uint32).view(np.float32)[0]


def _trunc_to_int(x: np.float32) -> int:
    """C's (int32_t) cast of a float: toward zero."""
    return int(np.trunc(x))


def expf(x: np.float32) -> np.float32:
    """hil_expf (src/kernels/activations.c): range reduction by ln2 (hi/lo split), Taylor series to r^8, times 2^k."""
    x = F(x)
    if x != x:
        return x + x
    if x > F(88.72283935546875):
        return F(np.inf)
    if x < F(-103.972084045410156):
        return F(0.0)
    t = x * _LOG2E
    k = _trunc_to_int(t + F(0.5) if t >= F(0) else t - F(0.5))
    kf = F(k)
    r = (x - kf * _LN2_HI) - kf * _LN2_LO
    p = _EXP_COEFFS[0]
    for coeff in _EXP_COEFFS[1:]:
        p = p * r + coeff
    p = p * r
    p = p * r
    y = F(1) + (r + p)
    if k > 127:
        return y * _pow2i(127) * _pow2i(k - 127)
    if k < -126:
        return y * _pow2i(-126) * _pow2i(k + 126)
    return y * _pow2i(k)


def logf(x: np.float32) -> np.float32:
    """train_logf for positive normal x: x = m * 2^e, m in [sqrt(1/2), sqrt(2)),
    log m = 2 atanh(s), s = (m-1)/(m+1), series to s^9."""
    x = F(x)
    bits = int(np.array([x], np.float32).view(np.uint32)[0])
    e = ((bits >> 23) & 0xFF) - 127
    m = np.array([(bits & 0x7FFFFF) | 0x3F800000], np.uint32).view(np.float32)[0]
    if m > _SQRT2:
        m = m * F(0.5)
        e += 1
    f = m - F(1)
    s = f / (F(2) + f)
    z = s * s
    p = _LOG_COEFFS[0]
    for coeff in _LOG_COEFFS[1:]:
        p = p * z + coeff
    p = p * z
    two_s = s + s
    log_m = two_s + two_s * p
    ef = F(e)
    return ef * _LN2_HI + (ef * _LN2_LO + log_m)


def round_to_int(values: np.ndarray, limit: float) -> np.ndarray:
    """train_round: NaN -> 0, clamp to [-limit, limit], add +-0.5 (float32), truncate toward zero."""
    v = np.asarray(values, np.float32)
    v = np.where(np.isnan(v), F(0), v)
    lim = F(limit)
    v = np.where(v > lim, lim, v)
    v = np.where(v < -lim, -lim, v)
    v = np.where(v >= F(0), v + F(0.5), v - F(0.5)).astype(np.float32)
    return np.trunc(v).astype(np.int64)


def hash32(values: np.ndarray | int) -> np.ndarray:
    """train_hash32: Wellons' lowbias32 integer hash, uint32 arithmetic (wrapping)."""
    x = np.asarray(values, np.uint32).copy()
    x ^= x >> np.uint32(16)
    x *= np.uint32(0x7FEB352D)
    x ^= x >> np.uint32(15)
    x *= np.uint32(0x846CA68B)
    x ^= x >> np.uint32(16)
    return x


def rounding_base(seed: int, step: int, layer: int) -> np.uint32:
    """train_rounding_base: the counter-based stream of one layer in one step."""
    return np.uint32(hash32(np.uint32(layer) ^ hash32(np.uint32(step & 0xFFFFFFFF) ^ hash32(seed))))


def uniform(base: np.uint32, indices: np.ndarray) -> np.ndarray:
    """train_uniform: u in [0, 1) of each weight index, (hash32(index ^ base) >> 8) * 2^-24."""
    h = hash32(np.asarray(indices, np.uint32) ^ base)
    return ((h >> np.uint32(8)).astype(np.float32) * F(1.0 / 16777216.0)).astype(np.float32)


def stochastic_round(values: np.ndarray, limit: float, u: np.ndarray) -> np.ndarray:
    """train_round_stochastic: NaN -> 0, clamp to [-limit, limit], floor(v + u) in float32."""
    v = np.asarray(values, np.float32)
    v = np.where(np.isnan(v), F(0), v)
    lim = F(limit)
    v = np.where(v > lim, lim, v)
    v = np.where(v < -lim, -lim, v)
    return np.floor((v + u).astype(np.float32)).astype(np.int64)

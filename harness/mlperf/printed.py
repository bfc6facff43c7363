"""The firmware's printed m-results values against the reference's int8 output, at the precision
the firmware printed (docs/mlperf_tiny.md, "What is compared").

MLPerf Tiny firmware prints the dequantized output, (q - zero_point) * scale, usually "%0.3f";
some print the int8 values themselves. Each printed value is turned back into the int8 value it
stands for, so that compare.judge compares int8 tensors exactly:

- integers only (no '.', no exponent), all within [-128, 127]: the int8 values themselves, exact;
- otherwise real values: a printed value v agrees with the reference's q when
  |v - (q - zp) * scale| <= half a unit of v's last printed digit (+ float32 rounding); it then
  stands for q. A value that agrees with no int8 near the reference's stands for the nearest
  int8 value other than the reference's (so the verdict counts it as differing).

Where scale is at least one printed unit, only one int8 value prints as v: the comparison is
exact ("resolved"). Where it is smaller, several int8 values print alike and the comparison is
only as fine as the print; `Decoded.resolved` counts the elements where it was exact.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from ..errors import HarnessError

FLOAT32_SLACK = 4 * 2.0**-24  # relative: the firmware computes (q - zp) * scale in float32


@dataclass(frozen=True)
class Decoded:
    values: np.ndarray  # int8, in the output's shape
    resolved: int  # elements whose printed value fits exactly one int8 value
    raw_int8: bool  # the firmware printed the int8 values themselves


class PrintedTooCoarsely(HarnessError):
    """A printed value fits every int8 value: that element cannot be compared (exit 2)."""


def _half_unit(token: str) -> float:
    """Half a unit of the token's last printed digit ("0.125" -> 0.0005, "1.5e-3" -> 0.00005);
    capped where a float64 ends (a unit that large fits every int8 value anyway)."""
    exponent = int(Decimal(token).as_tuple().exponent)
    return 0.5 * 10.0 ** min(exponent, 300)


def _is_integer(token: str) -> bool:
    return token.lstrip("+-").isdigit()


def dequantized(q: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """(q - zp) * scale in float32, as the reference submissions compute it."""
    return (q.astype(np.int32) - np.int32(zero_point)).astype(np.float32) * np.float32(scale)


def decode(tokens: list[str], reference: np.ndarray, scale: float, zero_point: int) -> Decoded:
    """The int8 values the printed `tokens` stand for, next to the reference output (int8)."""
    reference = np.asarray(reference)
    if all(_is_integer(t) for t in tokens) and all(-128 <= int(t) <= 127 for t in tokens):
        values = np.array([int(t) for t in tokens], np.int8).reshape(reference.shape)
        return Decoded(values, values.size, True)
    ref = reference.reshape(-1).astype(np.int32)
    all_q = np.arange(-128, 128, dtype=np.int32)
    levels = dequantized(all_q, scale, zero_point).astype(np.float64)
    out = np.empty(ref.size, np.int8)
    resolved = 0
    for i, token in enumerate(tokens):
        printed = float(token)
        if not math.isfinite(printed):
            out[i] = _other_than(ref[i], ref[i] + 1)
            continue
        tolerance = _half_unit(token) + FLOAT32_SLACK * abs(printed)
        agrees = np.abs(levels - printed) <= tolerance
        if agrees.all():  # "0e9": it would agree with any device output, so it compares nothing
            raise PrintedTooCoarsely(
                f"m-results value {i} {token!r} is printed too coarsely to tell any two int8 values "
                f"apart (output scale {scale:g}): nothing could be compared"
            )
        resolved += int(agrees.sum() == 1)
        if agrees[ref[i] + 128]:
            out[i] = ref[i]
        else:
            nearest = int(all_q[np.argmin(np.abs(levels - printed))])
            out[i] = _other_than(
                ref[i], nearest if nearest != ref[i] else ref[i] + (1 if printed > levels[ref[i] + 128] else -1)
            )
    return Decoded(out.reshape(reference.shape), resolved, False)


def _other_than(reference: int, candidate: int) -> int:
    """`candidate` in int8 range and different from `reference`."""
    candidate = min(127, max(-128, candidate))
    if candidate == reference:
        candidate = reference - 1 if reference == 127 else reference + 1
    return candidate

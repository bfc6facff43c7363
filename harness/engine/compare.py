"""Verdicts: device outputs against the tflite-micro reference.

int8 (and any integer) tensors must match exactly. float32 tensors are compared with a tolerance
(the device's float kernels use their own exp, so they are close to, not identical with, TFLM):
relative L2 error at most FLOAT_REL_L2_TOLERANCE.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

FLOAT_REL_L2_TOLERANCE = 1e-5


@dataclass
class TensorComparison:
    name: str
    dtype: str
    elements: int
    exact_matches: int
    max_abs_diff: float
    rel_l2: float | None = None  # float tensors only
    cosine: float | None = None
    passed: bool = True

    @property
    def differing(self) -> int:
        return self.elements - self.exact_matches

    def describe(self) -> str:
        text = (f"{self.name} ({self.dtype}): {self.exact_matches}/{self.elements} exact, "
                f"max abs diff {self.max_abs_diff:g}")
        if self.rel_l2 is not None:
            text += f", rel L2 {self.rel_l2:.3g}, cosine {self.cosine:.8f}"
        return text + ("" if self.passed else "  MISMATCH")


def compare_tensor(name: str, got: np.ndarray, want: np.ndarray) -> TensorComparison:
    got, want = np.asarray(got), np.asarray(want).reshape(np.shape(got))
    exact = int(np.sum(got == want))
    diff = np.abs(got.astype(np.float64) - want.astype(np.float64))
    result = TensorComparison(name, str(got.dtype), int(got.size), exact,
                              float(diff.max()) if diff.size else 0.0)
    if np.issubdtype(got.dtype, np.floating):
        g, w = got.astype(np.float64).ravel(), want.astype(np.float64).ravel()
        norm = float(np.linalg.norm(w))
        result.rel_l2 = float(np.linalg.norm(g - w) / norm) if norm else float(np.linalg.norm(g))
        denominator = float(np.linalg.norm(g) * norm)
        result.cosine = float(g @ w / denominator) if denominator else float(np.array_equal(g, w))
        result.passed = bool(np.all(np.isfinite(g))) and result.rel_l2 <= FLOAT_REL_L2_TOLERANCE
    else:
        result.passed = exact == got.size
    return result


@dataclass
class Verdict:
    """All outputs of one or more invocations."""

    outputs: list[TensorComparison] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.outputs)

    def as_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, "outputs": [asdict(c) for c in self.outputs]}


def merge(name: str, comparisons: list[TensorComparison]) -> TensorComparison:
    """One line for a tensor compared over many inputs: totals and worst values."""
    first = comparisons[0]
    rel = [c.rel_l2 for c in comparisons if c.rel_l2 is not None]
    cos = [c.cosine for c in comparisons if c.cosine is not None]
    return TensorComparison(
        name, first.dtype, sum(c.elements for c in comparisons),
        sum(c.exact_matches for c in comparisons), max(c.max_abs_diff for c in comparisons),
        max(rel) if rel else None, min(cos) if cos else None, all(c.passed for c in comparisons))


@dataclass(frozen=True)
class LayerMismatch:
    op_index: int
    opcode: str
    tensor: int
    tensor_name: str
    differing: int
    elements: int

    def describe(self) -> str:
        return (f"first diverging layer: {self.op_index} ({self.opcode}), tensor {self.tensor} "
                f"({self.tensor_name}): {self.differing} of {self.elements} elements differ")


def first_diverging_layer(ops: list, tensor_names: dict[int, str], device: dict[int, np.ndarray],
                          reference: dict[int, np.ndarray]) -> LayerMismatch | None:
    """Walks operators in order; the first whose output differs from the reference (exactly for
    int8, beyond the tolerance for float32)."""
    for index, op in enumerate(ops):
        for tensor in op.outputs:
            check = compare_tensor(tensor_names[tensor], device[tensor], reference[tensor])
            if not check.passed:
                return LayerMismatch(index, op.opcode, tensor, tensor_names[tensor],
                                     check.differing, check.elements)
    return None

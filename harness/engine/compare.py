"""Verdicts: device outputs against the tflite-micro reference.

int8 (and any integer) tensors must match exactly. float32 tensors are compared with a tolerance
(the device's float kernels use their own exp, so they are close to, not identical with, TFLM):
relative L2 error at most FLOAT_REL_L2_TOLERANCE. `judge` is the one verdict of `hil run`, `hil
bench`, `run_model` and the on-device backbone; what each compares is in docs/verdicts.md.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ..errors import HarnessError

FLOAT_REL_L2_TOLERANCE = 1e-5
SHOWN_LAYERS = 3  # differing operator outputs listed by describe(); the JSON has them all


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
        text = (
            f"{self.name} ({self.dtype}): {self.exact_matches}/{self.elements} exact, "
            f"max abs diff {self.max_abs_diff:g}"
        )
        if self.rel_l2 is not None:
            text += f", rel L2 {self.rel_l2:.3g}, cosine {self.cosine:.8f}"
        return text + ("" if self.passed else "  MISMATCH")


def compare_tensor(name: str, got: np.ndarray, want: np.ndarray) -> TensorComparison:
    got, want = np.asarray(got), np.asarray(want).reshape(np.shape(got))
    exact = int(np.sum(got == want))
    diff = np.abs(got.astype(np.float64) - want.astype(np.float64))
    result = TensorComparison(name, str(got.dtype), int(got.size), exact, float(diff.max()) if diff.size else 0.0)
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


class NothingCompared(HarnessError):
    """A verdict was asked for over zero compared elements: it could only be a false PASS."""


@dataclass
class Verdict:
    """Every compared tensor of one or more invocations (docs/verdicts.md): the graph outputs
    over all inputs and, with per-layer, every operator's output. It cannot exist over zero
    elements, so it can never PASS having compared nothing."""

    outputs: list[TensorComparison] = field(default_factory=list)
    layers: list[TensorComparison] = field(default_factory=list)  # per-layer: operator outputs
    layer_mismatch: LayerMismatch | None = None

    def __post_init__(self) -> None:
        if not self.outputs:
            raise NothingCompared("no graph output was compared with the reference")
        if self.elements == 0:
            raise NothingCompared("the compared tensors have no elements: nothing was compared")

    @property
    def elements(self) -> int:
        return sum(c.elements for c in (*self.outputs, *self.layers))

    @property
    def exact(self) -> int:
        return sum(c.exact_matches for c in (*self.outputs, *self.layers))

    @property
    def passed(self) -> bool:
        return all(c.passed for c in (*self.outputs, *self.layers))

    def summary(self) -> str:
        """The one line every verdict prints: what it compared, and the outcome."""
        layers = f" and {len(self.layers)} operator outputs" if self.layers else ""
        return (
            f"{'PASS' if self.passed else 'FAIL'}: compared {self.elements} elements of "
            f"{len(self.outputs)} graph outputs{layers}, {self.exact} exact"
        )

    def describe(self) -> str:
        lines = [c.describe() for c in self.outputs]
        differing = [c for c in self.layers if not c.passed]
        lines += [f"operator output {c.describe()}" for c in differing[:SHOWN_LAYERS]]
        if len(differing) > SHOWN_LAYERS:
            lines.append(f"... and {len(differing) - SHOWN_LAYERS} more differing operator outputs")
        if self.layer_mismatch:
            lines.append(self.layer_mismatch.describe())
        return "\n".join(lines + [self.summary()])

    def as_dict(self) -> dict[str, Any]:
        data = {
            "passed": self.passed,
            "compared_elements": self.elements,
            "exact_elements": self.exact,
            "outputs": [asdict(c) for c in self.outputs],
        }
        if self.layers:
            data["layers"] = [asdict(c) for c in self.layers]
        if self.layer_mismatch:
            data["first_diverging_layer"] = vars(self.layer_mismatch)
        return data


def merge(name: str, comparisons: list[TensorComparison]) -> TensorComparison:
    """One line for a tensor compared over many inputs: totals and worst values."""
    first = comparisons[0]
    rel = [c.rel_l2 for c in comparisons if c.rel_l2 is not None]
    cos = [c.cosine for c in comparisons if c.cosine is not None]
    return TensorComparison(
        name,
        first.dtype,
        sum(c.elements for c in comparisons),
        sum(c.exact_matches for c in comparisons),
        max(c.max_abs_diff for c in comparisons),
        max(rel) if rel else None,
        min(cos) if cos else None,
        all(c.passed for c in comparisons),
    )


@dataclass(frozen=True)
class LayerMismatch:
    op_index: int
    opcode: str
    tensor: int
    tensor_name: str
    differing: int
    elements: int

    def describe(self) -> str:
        return (
            f"first diverging layer: {self.op_index} ({self.opcode}), tensor {self.tensor} "
            f"({self.tensor_name}): {self.differing} of {self.elements} elements differ"
        )


def first_diverging_layer(
    ops: Sequence,
    tensor_names: Mapping[int, str],
    device: Mapping[int, np.ndarray],
    reference: Mapping[int, np.ndarray],
) -> LayerMismatch | None:
    """Walks operators in order; the first whose output differs from the reference (exactly for
    int8, beyond the tolerance for float32)."""
    for index, op in enumerate(ops):
        for tensor in op.outputs:
            check = compare_tensor(tensor_names[tensor], device[tensor], reference[tensor])
            if not check.passed:
                return LayerMismatch(index, op.opcode, tensor, tensor_names[tensor], check.differing, check.elements)
    return None


def judge(
    graph_outputs: Sequence[int],
    ops: Sequence,
    tensor_names: Mapping[int, str],
    device_runs: Sequence[Mapping[int, np.ndarray]],
    reference_runs: Sequence[Mapping[int, np.ndarray]],
    device_layers: Mapping[int, np.ndarray] | None = None,
    reference_layers: Mapping[int, np.ndarray] | None = None,
) -> Verdict:
    """The one verdict of `hil run`, `hil bench` and `run_model`: every graph output of every run
    (tensor -> value, device and reference), and with per-layer values (one run read operator by
    operator) every operator's output too, naming the first diverging layer."""
    if not device_runs:
        raise NothingCompared("no input was run: nothing was compared")
    outputs = [
        merge(
            tensor_names[t],
            [
                compare_tensor(tensor_names[t], device[t], reference[t])
                for device, reference in zip(device_runs, reference_runs, strict=True)
            ],
        )
        for t in dict.fromkeys(graph_outputs)
    ]
    if device_layers is None:
        return Verdict(outputs)
    if reference_layers is None:
        raise ValueError("per-layer device values need the reference's per-layer values")
    layers = [compare_tensor(tensor_names[t], device_layers[t], reference_layers[t]) for op in ops for t in op.outputs]
    return Verdict(outputs, layers, first_diverging_layer(ops, tensor_names, device_layers, reference_layers))

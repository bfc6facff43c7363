"""Verdicts of hil run and hil bench: exact int8, float tolerance, first diverging layer, what
was compared (docs/verdicts.md)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from harness.engine.compare import (
    FLOAT_REL_L2_TOLERANCE,
    NothingCompared,
    Verdict,
    compare_tensor,
    first_diverging_layer,
    judge,
    merge,
)


def test_int8_must_match_exactly():
    want = np.arange(-5, 5, dtype=np.int8)
    assert compare_tensor("y", want.copy(), want).passed
    got = want.copy()
    got[3] += 1
    c = compare_tensor("y", got, want)
    assert not c.passed and c.differing == 1 and c.max_abs_diff == 1


def test_float_tolerance_and_statistics():
    want = np.linspace(-1, 1, 100, dtype=np.float32)
    close = want + np.float32(1e-7)
    c = compare_tensor("y", close, want)
    assert c.passed and c.rel_l2 <= FLOAT_REL_L2_TOLERANCE and c.cosine > 0.999999
    far = want * np.float32(1.01)
    assert not compare_tensor("y", far, want).passed
    assert not compare_tensor("y", np.full_like(want, np.nan), want).passed


def test_merge_keeps_totals_and_worst_case():
    want = np.zeros(4, np.int8)
    ok, bad = compare_tensor("y", want, want), compare_tensor("y", np.array([0, 0, 0, 9], np.int8), want)
    merged = merge("y", [ok, bad])
    assert (merged.elements, merged.exact_matches, merged.max_abs_diff, merged.passed) == (8, 7, 9, False)


def test_first_diverging_layer_is_named():
    ops = [
        SimpleNamespace(opcode="CONV_2D", outputs=[1]),
        SimpleNamespace(opcode="ADD", outputs=[2]),
        SimpleNamespace(opcode="SOFTMAX", outputs=[3]),
    ]
    names = {1: "a", 2: "b", 3: "c"}
    reference = {t: np.zeros(6, np.int8) for t in names}
    device = {t: v.copy() for t, v in reference.items()}
    assert first_diverging_layer(ops, names, device, reference) is None
    device[2][:2] = 1
    device[3][:] = 5
    found = first_diverging_layer(ops, names, device, reference)
    assert (found.op_index, found.opcode, found.tensor, found.differing) == (1, "ADD", 2, 2)
    assert found.describe() == "first diverging layer: 1 (ADD), tensor 2 (b): 2 of 6 elements differ"


def test_a_verdict_over_nothing_cannot_exist():
    with pytest.raises(NothingCompared, match="no graph output was compared"):
        Verdict([])
    empty = compare_tensor("y", np.zeros((1, 0), np.int8), np.zeros((1, 0), np.int8))
    with pytest.raises(NothingCompared, match="have no elements"):
        Verdict([empty])
    with pytest.raises(NothingCompared, match="no input was run"):
        judge([1], [], {1: "y"}, [], [])


# x (0) -> OP_A -> a (1) -> OP_B -> y (2); graph outputs y and x (x is written by no operator)
OPS = [SimpleNamespace(opcode="OP_A", outputs=[1]), SimpleNamespace(opcode="OP_B", outputs=[2])]
NAMES = {0: "x", 1: "a", 2: "y"}


def _values(**changed) -> dict[int, np.ndarray]:
    values = {t: np.full(4, t, np.int8) for t in NAMES}
    values.update({next(t for t, n in NAMES.items() if n == name): v for name, v in changed.items()})
    return values


def test_judge_counts_every_graph_output_of_every_run():
    reference = [_values(), _values()]
    verdict = judge([2, 0], OPS, NAMES, [_values(), _values()], reference)
    assert verdict.passed and [c.name for c in verdict.outputs] == ["y", "x"]
    assert (verdict.elements, verdict.exact) == (16, 16)
    assert verdict.summary() == "PASS: compared 16 elements of 2 graph outputs, 16 exact"
    assert verdict.as_dict()["compared_elements"] == 16 and verdict.as_dict()["exact_elements"] == 16


def test_a_graph_output_no_operator_writes_is_compared():
    bad = _values(x=np.array([0, 0, 0, 9], np.int8))
    verdict = judge([2, 0], OPS, NAMES, [bad], [_values()], bad, _values())
    assert not verdict.passed and verdict.layer_mismatch is None  # every operator output matched
    assert (verdict.elements, verdict.exact) == (16, 15)
    assert verdict.summary().startswith("FAIL: compared 16 elements of 2 graph outputs and 2 operator outputs")


def test_per_layer_a_hidden_layer_difference_fails_the_verdict():
    """A wrong intermediate that the graph outputs hide (a saturating later layer) fails too."""
    device_layers = _values(a=np.array([1, 1, 1, 7], np.int8))
    verdict = judge([2], OPS, NAMES, [_values()], [_values()], device_layers, _values())
    assert not verdict.passed and all(c.passed for c in verdict.outputs)
    assert verdict.layer_mismatch.op_index == 0 and verdict.layer_mismatch.tensor_name == "a"
    data = verdict.as_dict()
    assert data["first_diverging_layer"]["opcode"] == "OP_A" and len(data["layers"]) == 2
    assert (data["compared_elements"], data["exact_elements"]) == (12, 11)

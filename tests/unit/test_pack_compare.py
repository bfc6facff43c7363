"""Verdicts of hil run: exact int8, float tolerance, first diverging layer."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from harness.engine.compare import FLOAT_REL_L2_TOLERANCE, compare_tensor, first_diverging_layer, merge


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
    ops = [SimpleNamespace(opcode="CONV_2D", outputs=[1]), SimpleNamespace(opcode="ADD", outputs=[2]),
           SimpleNamespace(opcode="SOFTMAX", outputs=[3])]
    names = {1: "a", 2: "b", 3: "c"}
    reference = {t: np.zeros(6, np.int8) for t in names}
    device = {t: v.copy() for t, v in reference.items()}
    assert first_diverging_layer(ops, names, device, reference) is None
    device[2][:2] = 1
    device[3][:] = 5
    found = first_diverging_layer(ops, names, device, reference)
    assert (found.op_index, found.opcode, found.tensor, found.differing) == (1, "ADD", 2, 2)
    assert "first diverging layer: 1 (ADD), tensor 2 (b): 2 of 6 elements differ" == found.describe()

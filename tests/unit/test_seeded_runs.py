"""Host-side rules of the verdict path: the seed formula, slot batches, the repeat check's resolution."""

from __future__ import annotations

import numpy as np
import pytest

from harness.cli import main as hil
from harness.engine.seeded_inputs import case_seed, xorshift_bytes
from harness.engine.session import slot_batches
from harness.errors import CheckFailed
from harness.metrics.timing import RegionTiming
from harness.metrics.workloads import _check_repeats, repeat_tolerance
from harness.shared_models import SHARED_MODELS


def test_the_seed_formula_is_the_documented_one():
    assert case_seed(3, 2, 1) == 3 * 1_000_003 + 2 * 7_919 + 104_729
    assert case_seed(0, 0, 0) == 1  # xorshift's fixed point is never a seed
    assert 0 < case_seed(2**32 - 1, 5, 3) < 2**32


def test_xorshift_bytes_are_the_top_bytes_of_xorshift32():
    state, expected = 1, []
    for _ in range(4):
        state ^= (state << 13) & 0xFFFFFFFF
        state ^= state >> 17
        state ^= (state << 5) & 0xFFFFFFFF
        expected.append(state >> 24)
    assert list(xorshift_bytes(1, 4)) == expected
    assert np.array_equal(xorshift_bytes(0, 64), xorshift_bytes(1, 64))


def test_slot_batches_fit_the_slot_and_hold_every_model_once():
    sizes = [334_000, 54_000, 98_500, 277_000, 2_700, 18_800, 300_600]  # the shared int8 models
    groups = slot_batches(sizes, 768 * 1024)
    assert sorted(i for g in groups for i in g) == list(range(len(sizes)))
    assert all(sum(sizes[i] + 16 for i in g) <= 768 * 1024 for g in groups)
    assert len(groups) == 2  # 1.08 MB of models: two boots are the fewest
    assert slot_batches([100, 100], 1000) == [[0, 1]]


def _timing(value: int, source: str, calls: int = 1) -> RegionTiming:
    return RegionTiming(0, "inference", calls, value, "instructions", source)


def test_the_repeat_check_allows_one_timer_step_per_call_and_no_more():
    _check_repeats("m", [[_timing(4000, "icount-timer")], [_timing(4040, "icount-timer")]], True, 40)
    _check_repeats("m", [[_timing(4000, "icount-timer", 2)], [_timing(4080, "icount-timer", 2)]], True, 40)
    with pytest.raises(CheckFailed):
        _check_repeats("m", [[_timing(4000, "icount-timer")], [_timing(4080, "icount-timer")]], True, 40)
    with pytest.raises(CheckFailed):  # the plugin counts exactly
        _check_repeats("m", [[_timing(4000, "qemu-plugin")], [_timing(4001, "qemu-plugin")]], True, 40)
    assert repeat_tolerance(_timing(0, "qemu-plugin", 3), 40) == 0
    assert repeat_tolerance(_timing(0, "icount-timer", 3), 40) == 120


def test_several_models_take_seeded_inputs_only(capsys, tmp_path):
    hello = SHARED_MODELS / "tflm_examples" / "hello_world_int8.tflite"
    x = tmp_path / "x.npy"
    np.save(x, np.zeros((1, 1), np.int8))
    status = hil(["run", "--board", "nucleo_f746", "--model", str(hello), "--model", str(hello), "--input", str(x)])
    assert status == 2
    assert "several --model" in capsys.readouterr().err

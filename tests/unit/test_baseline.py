"""Regression gates: bit-exactness, thresholds per metric, improvements, baseline files."""

import json

import pytest

from harness.baseline import (
    BaselineError,
    compare,
    flat_metrics,
    load_baseline,
    recordable_failure,
    threshold_for,
    write_baseline,
)


def _record(total: int, layer0: int, flash: int, bit_exact: bool = True, mismatch=None) -> dict:
    regions = [
        {"id": 0, "name": "inference", "layer": None, "unit": "instructions", "instructions": total},
        {"id": 8, "name": "layer0", "layer": 0, "unit": "instructions", "instructions": layer0},
    ]
    return {
        "case": "kws",
        "model": "kws.tflite",
        "board": "nucleo_f746",
        "emulator": "qemu",
        "build_id": "b",
        "bit_exact": bit_exact,
        "mismatch": mismatch,
        "metrics": {
            "timing": {"unit": "instructions", "regions": regions},
            "memory": {"flash_bytes": flash, "ram_static_bytes": 1000, "arena_used": 0},
        },
    }


@pytest.fixture
def baseline(tmp_path):
    path = tmp_path / "nucleo_f746-qemu.json"
    write_baseline(path, "nucleo_f746", "qemu", {"kws": _record(10_000, 4_000, 50_000)})
    return load_baseline(path)


def test_flat_metrics_names_units_regions_and_memory():
    flat = flat_metrics(_record(10, 4, 50)["metrics"])
    assert flat == {
        "instructions.inference": 10,
        "instructions.layer0": 4,
        "memory.flash_bytes": 50,
        "memory.ram_static_bytes": 1000,
    }


def test_the_same_run_passes(baseline):
    result = compare(baseline, {"kws": _record(10_000, 4_000, 50_000)})
    assert result.ok and result.checked == 4 and not result.improvements


def test_a_rise_above_the_threshold_names_model_metric_baseline_and_new_value(baseline):
    result = compare(baseline, {"kws": _record(10_300, 4_000, 50_000)})
    assert not result.ok
    assert result.failures == ["kws.tflite: instructions.inference baseline 10000, now 10300 (+3.00%, threshold 2.0%)"]


def test_a_rise_within_the_threshold_passes(baseline):
    assert compare(baseline, {"kws": _record(10_150, 4_000, 50_000)}).ok


def test_thresholds_per_metric_and_group_override_the_default(baseline):
    record = {"kws": _record(10_300, 4_000, 52_000)}  # instructions +3 %, flash +4 %
    assert compare(baseline, record, {"instructions": 0.05, "memory.flash_bytes": 0.05}).ok
    failures = compare(baseline, record, {"instructions": 0.05}).failures
    assert failures == ["kws.tflite: memory.flash_bytes baseline 50000, now 52000 (+4.00%, threshold 2.0%)"]
    assert threshold_for("memory.flash_bytes", {"memory": 0.1, "default": 0.3}) == 0.1
    assert threshold_for("cycles.layer3", {}) == 0.02


def test_improvements_are_reported_not_failed(baseline):
    result = compare(baseline, {"kws": _record(9_000, 4_000, 50_000)})
    assert result.ok
    assert result.improvements == [
        "kws.tflite: instructions.inference baseline 10000, now 9000 (-10.00%, threshold 2.0%)"
    ]


def test_losing_bit_exactness_fails_and_names_the_layer(baseline):
    mismatch = {"layer": 3, "layer_name": "CONV_2D", "detail": "output 17 differs"}
    result = compare(baseline, {"kws": _record(10_000, 4_000, 50_000, bit_exact=False, mismatch=mismatch)})
    assert result.failures == [
        "kws.tflite: no longer bit-exact with the reference: first difference at layer 3 (CONV_2D)"
    ]


def test_a_case_missing_from_the_baseline_is_reported_new_never_improved(baseline):
    result = compare(baseline, {"new": {**_record(1, 1, 1), "case": "new"}})
    assert result.ok and result.new == ["new: new case, not in the baseline"]
    assert not result.improvements and result.cases == 1


def test_a_new_case_must_still_be_bit_exact(baseline):
    mismatch = {"layer": 2, "layer_name": "FULLY_CONNECTED", "detail": "x"}
    result = compare(baseline, {"new": {**_record(1, 1, 1, bit_exact=False, mismatch=mismatch), "case": "new"}})
    assert result.failures == [
        "kws.tflite: not bit-exact with the reference: first difference at layer 2 (FULLY_CONNECTED)"
    ]
    assert result.new == ["new: new case, not in the baseline"] and not result.improvements


def test_a_baseline_case_not_measured_is_missing_and_fails_when_strict(baseline):
    other = {"other": {**_record(1, 1, 1), "case": "other"}}
    lenient = compare(baseline, other)
    assert lenient.ok and lenient.missing == ["kws: in the baseline, not measured by this run"]
    strict = compare(baseline, other, strict=True)
    assert strict.failures == ["missing kws: in the baseline, not measured by this run"]
    assert compare(baseline, {"kws": _record(10_000, 4_000, 50_000)}, strict=True).ok


@pytest.mark.parametrize("bit_exact", [None, "yes", 1])
def test_a_record_without_a_bit_exactness_verdict_fails(baseline, bit_exact):
    record = {**_record(10_000, 4_000, 50_000), "bit_exact": bit_exact}
    (failure,) = compare(baseline, {"kws": record}).failures
    assert failure.startswith("kws.tflite: the record has no bit-exactness verdict (bit_exact: ")
    assert recordable_failure(record) == failure


def test_a_record_whose_verdict_compared_nothing_fails(baseline):
    record = {**_record(10_000, 4_000, 50_000), "compared": {"elements": 0, "exact": 0}}
    assert compare(baseline, {"kws": record}).failures == [
        'kws.tflite: the record\'s verdict compared nothing (compared: {"elements": 0, "exact": 0})'
    ]
    assert compare(baseline, {"kws": {**record, "compared": {"elements": 8, "exact": 8}}}).ok


@pytest.mark.parametrize("metrics", [{}, None, {"timing": {"regions": []}, "memory": {}}])
def test_a_record_without_metrics_fails_new_or_not(baseline, metrics):
    for case in ("kws", "new"):
        record = {**_record(10_000, 4_000, 50_000), "case": case, "metrics": metrics}
        assert compare(baseline, {case: record}).failures == ["kws.tflite: the record has no metrics"]
    assert recordable_failure(record) == "kws.tflite: the record has no metrics"
    assert recordable_failure(_record(1, 1, 1)) is None


def test_a_baseline_metric_the_record_lacks_fails(baseline):
    record = _record(10_000, 4_000, 50_000)
    record["metrics"]["memory"].pop("flash_bytes")
    result = compare(baseline, {"kws": record})
    assert result.failures == ["kws.tflite: memory.flash_bytes baseline 50000, not measured now"]


def test_update_keeps_the_thresholds_of_the_previous_baseline(tmp_path):
    path = tmp_path / "b.json"
    previous = {"thresholds": {"default": 0.02, "memory.flash_bytes": 0.0}}
    write_baseline(path, "nucleo_f746", "qemu", {"kws": _record(1, 1, 1)}, previous)
    assert json.loads(path.read_text())["thresholds"] == previous["thresholds"]


def test_missing_and_malformed_baselines_are_clear_errors(tmp_path):
    with pytest.raises(BaselineError, match="hil baseline update"):
        load_baseline(tmp_path / "none.json")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(BaselineError, match="not valid JSON"):
        load_baseline(tmp_path / "bad.json")
    (tmp_path / "empty.json").write_text("{}")
    with pytest.raises(BaselineError, match="no `cases`"):
        load_baseline(tmp_path / "empty.json")


def test_a_hand_edited_baseline_names_the_case_and_field(tmp_path):
    path = tmp_path / "b.json"
    path.write_text(json.dumps({"cases": {"kws": {"bit_exact": True, "metrics": {"memory.flash_bytes": "50 KB"}}}}))
    with pytest.raises(BaselineError, match="case kws: metric `memory.flash_bytes` must be a number"):
        load_baseline(path)
    path.write_text(json.dumps({"cases": {"kws": {"bit_exact": True}}}))
    with pytest.raises(BaselineError, match="case kws: field `metrics` is missing"):
        load_baseline(path)

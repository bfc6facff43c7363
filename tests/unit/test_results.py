"""The results file: append-only JSON Lines that survive a killed writer, and resume keys."""

import json
import os

import pytest

from harness.results import ResultsError, ResultsFile, case_key, new_record


def _record(case: str, **fields) -> dict:
    return new_record(board="nucleo_f746", emulator="qemu", build_id="b1", case=case, **fields)


def test_appended_records_read_back_in_order(tmp_path):
    results = ResultsFile(tmp_path / "sub" / "r.jsonl")
    results.append(_record("a", metrics={"timing": {"total": 5}}))
    results.append(_record("b", seed=3))
    records = list(results.records())
    assert [r["case"] for r in records] == ["a", "b"]
    assert records[0]["metrics"] == {"timing": {"total": 5}}
    assert records[1]["harness_version"] and records[1]["time"]


def test_a_torn_last_line_is_skipped_and_cut_before_the_next_append(tmp_path):
    path = tmp_path / "r.jsonl"
    results = ResultsFile(path)
    results.append(_record("a"))
    with path.open("ab") as stream:  # a writer killed mid-record
        stream.write(b'{"case": "b", "boa')
    assert [r["case"] for r in results.records()] == ["a"]
    results.append(_record("c"))
    assert [r["case"] for r in results.records()] == ["a", "c"]
    assert all(json.loads(line) for line in path.read_text().splitlines())


def test_a_corrupt_line_in_the_middle_is_an_error(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text(json.dumps(_record("a")) + "\nnot json\n" + json.dumps(_record("b")) + "\n")
    with pytest.raises(ResultsError, match="line 2"):
        list(ResultsFile(path).records())


def test_completed_keys_tell_a_rerun_what_to_skip(tmp_path):
    results = ResultsFile(tmp_path / "r.jsonl")
    first = _record("m", model_sha256="abc", seed=1)
    results.append(first)
    keys = results.completed_keys()
    assert case_key(first) in keys
    assert case_key(_record("m", model_sha256="abc", seed=2)) not in keys  # other inputs
    assert case_key({**first, "build_id": "b2"}) not in keys  # other firmware


def test_a_resumed_run_gets_the_newest_recorded_record_of_each_key(tmp_path):
    results = ResultsFile(tmp_path / "r.jsonl")
    results.append(_record("m", seed=1, verdict="fail", bit_exact=False))
    results.append(_record("m", seed=1, verdict="pass", bit_exact=True))
    results.append(_record("m", seed=2))
    completed = results.completed()
    assert completed[case_key(_record("m", seed=1))]["bit_exact"] is True  # to be judged again
    assert len(completed) == 2


def test_latest_keeps_the_newest_record_per_case_and_filters_by_board(tmp_path):
    results = ResultsFile(tmp_path / "r.jsonl")
    results.append(_record("a", verdict="fail"))
    results.append(_record("a", verdict="pass"))
    results.append(new_record(board="netduinoplus2", emulator="qemu", build_id="x", case="a"))
    latest = results.latest("nucleo_f746", "qemu")
    assert list(latest) == ["a"] and latest["a"]["verdict"] == "pass"


def test_a_missing_file_has_no_records(tmp_path):
    assert list(ResultsFile(tmp_path / "none.jsonl").records()) == []


def test_an_unwritable_path_is_a_clear_error(tmp_path):
    (tmp_path / "dir.jsonl").mkdir()
    with pytest.raises(ResultsError, match="cannot write results file"):
        ResultsFile(tmp_path / "dir.jsonl").append(_record("a"))


def test_a_record_without_a_key_field_names_the_line_and_field(tmp_path):
    path = tmp_path / "r.jsonl"
    older = {k: v for k, v in _record("a").items() if k != "emulator"}
    path.write_text(json.dumps(_record("ok")) + "\n" + json.dumps(older) + "\n")
    with pytest.raises(ResultsError, match=r"r.jsonl line 2: field `emulator` is missing"):
        list(ResultsFile(path).records())


def test_a_region_without_its_count_names_the_region(tmp_path):
    path = tmp_path / "r.jsonl"
    region = {"name": "layer0", "layer": 0, "unit": "cycles"}
    path.write_text(json.dumps(_record("a", metrics={"timing": {"regions": [region]}})) + "\n")
    with pytest.raises(ResultsError, match=r"line 1: metrics.timing.regions\[0\]: field `cycles` is missing"):
        list(ResultsFile(path).records())


def test_a_fifo_is_not_read(tmp_path):
    fifo = tmp_path / "r.jsonl"
    os.mkfifo(fifo)
    with pytest.raises(ResultsError, match="it is a FIFO"):
        list(ResultsFile(fifo).records())
    with pytest.raises(ResultsError, match="not a regular file"):
        ResultsFile(fifo).append(_record("a"))

"""Under --json every error is one JSON object on stderr, argparse's usage errors too."""

from __future__ import annotations

import json

import pytest

from harness.cli import main


@pytest.mark.parametrize(
    "argv, problem",
    [
        (["run", "--json", "--board", "nucleo_f746"], "hil run: the following arguments are required: --model"),
        (["train", "--json", "--task", "toy", "--steps", "x"], "hil train: argument --steps: not an integer: 'x'"),
        (["bench", "--json", "--board", "nucleo_f746", "--repeat", "two"], "hil bench: argument --repeat"),
    ],
)
def test_a_usage_error_under_json_is_one_json_line(argv, problem, capsys):
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    (line,) = capsys.readouterr().err.strip().splitlines()
    error = json.loads(line)
    assert stopped.value.code == 2 and error["exit_status"] == 2 and error["type"] == "UsageError"
    assert error["error"].startswith(problem), error


def test_without_json_a_usage_error_is_argparse_s(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--task", "toy", "--steps", "x"])
    err = capsys.readouterr().err
    assert err.startswith("usage: hil train") and "error: argument --steps" in err

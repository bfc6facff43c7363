"""pytest support for measurements (loaded by harness/pytest_plugin.py).

Options:
  --hil-results FILE      append a record per measured case to FILE (JSON Lines)
  --hil-baseline [FILE]   compare each measured case with a baseline (default
                          baselines/<board>-<emulator>.json in the rootdir); a regression fails the test
  --hil-threshold M=F     allowed rise of metric (or group) M, e.g. instructions=0.05
Fixtures:
  measured_dut   session-scoped emulated board with the instruction-counting plugin attached
  hil_metrics    hil_metrics(record) records a bench record (harness/metrics/workloads.py): its
                 numbers become JUnit properties `hil.<metric>`, it is appended to --hil-results
                 and gated by --hil-baseline (docs/verdicts.md: a case the baseline does not
                 hold must still be bit-exact; a record with no metrics or verdict fails)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from .baseline import baseline_path, compare, flat_metrics, load_baseline
from .errors import HarnessError
from .metrics.measured_dut import MeasuredDut
from .progress import Progress
from .pytest_plugin import open_or_fail
from .results import ResultsFile

AUTO = "auto"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("hil", "hardware-in-the-loop")
    group.addoption("--hil-results", type=Path, help="append measured records to this JSON Lines file")
    group.addoption(
        "--hil-baseline",
        nargs="?",
        const=AUTO,
        default=None,
        help="fail measured tests that regress against this baseline "
        "(default file: baselines/<board>-<emulator>.json in the rootdir)",
    )
    group.addoption(
        "--hil-threshold",
        action="append",
        default=[],
        help="allowed rise METRIC=FRACTION, e.g. instructions=0.05 (default 0.02)",
    )


def _thresholds(config: pytest.Config) -> dict[str, float]:
    thresholds = {}
    for text in config.getoption("hil_threshold"):
        metric, _, value = text.partition("=")
        try:
            thresholds[metric] = float(value)
        except ValueError:
            raise pytest.UsageError(f"--hil-threshold expects METRIC=FRACTION, got {text!r}") from None
    return thresholds


@pytest.fixture(scope="session")
def measured_dut(hil_options: Any, record_testsuite_property: Callable[[str, object], None]) -> Iterator[MeasuredDut]:
    device = open_or_fail(
        lambda: MeasuredDut.open(
            hil_options.require_board(),
            hil_options.emulator,
            progress=Progress(),
            port=hil_options.port,
            baud=hil_options.baud,
            probe_serial=hil_options.probe,
            timeout=hil_options.timeout,
        )
    )
    record_testsuite_property("hil_board", device.dut.board.name)
    record_testsuite_property("hil_emulator", device.dut.variant.emulator)
    record_testsuite_property("hil_firmware_build_id", device.dut.info.build_id if device.dut.info else "")
    record_testsuite_property("hil_timing", "qemu-plugin" if device.log else device.plugin_note or "device timer")
    yield device
    device.close()


@pytest.fixture
def hil_metrics(pytestconfig: pytest.Config, request: pytest.FixtureRequest) -> Callable[[dict[str, Any]], None]:
    results_path = pytestconfig.getoption("hil_results")
    baseline_option = pytestconfig.getoption("hil_baseline")

    def record_property(name: str, value: object) -> None:  # pytest's own warns under xunit2
        request.node.user_properties.append((name, value))

    def record(measured: dict[str, Any]) -> None:
        record_property("hil.case", measured["case"])
        record_property("hil.build_id", measured.get("build_id", ""))
        if measured.get("model_sha256"):
            record_property("hil_model_sha256", measured["model_sha256"])
        for metric, value in flat_metrics(measured.get("metrics", {})).items():
            record_property(f"hil.{metric}", value)
        if results_path:
            ResultsFile(results_path).append(measured)
        if baseline_option:
            path = (
                baseline_path(measured["board"], measured["emulator"])
                if baseline_option == AUTO
                else Path(baseline_option)
            )
            try:
                result = compare(load_baseline(path), {measured["case"]: measured}, _thresholds(pytestconfig))
            except HarnessError as exc:
                pytest.fail(str(exc), pytrace=False)
            for line in result.improvements:
                record_property("hil.improved", line)
            for line in result.new:  # gated too: a new case must still be bit-exact
                record_property("hil.new", line)
            if not result.ok:
                pytest.fail("regression against " + str(path) + ":\n" + "\n".join(result.failures), pytrace=False)

    return record

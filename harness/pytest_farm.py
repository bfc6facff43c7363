"""pytest options for sharing boards: locks, labgrid places, pytest-xdist workers.

  --lock-timeout SECONDS   wait this long for a busy real board or place (default: fail at once,
                           or $HIL_LOCK_TIMEOUT); the message names the holder.
  --lg-place NAME[,NAME]   reach the board through a labgrid place (a pool: first free one).
  --lg-coordinator H:P     the labgrid coordinator (default $LG_COORDINATOR, else 127.0.0.1:20408);
                           this option is labgrid's own pytest plugin's, used as labgrid means it.

With `pytest -n N` (pytest-xdist) each worker opens its own `dut`: an emulated board boots one
QEMU per worker, a real board or place is taken from the pool, first free one. Every test that
uses `dut` records which board instance ran it (`hil_board_instance`, a JUnit testcase
property), and the terminal summary lists the instances with their results.
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from collections.abc import Iterator

import pytest

from .dut import Dut

INSTANCE_PROPERTY = "hil_board_instance"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("hil", "hardware-in-the-loop")
    group.addoption(
        "--lock-timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="seconds to wait for a real board or labgrid place another session holds "
        "(default: $HIL_LOCK_TIMEOUT, else 0: fail at once, naming the holder)",
    )
    group.addoption(
        "--lg-place",
        metavar="NAME[,NAME...]",
        help="labgrid place(s) to run on: reserved, acquired, reached by RFC 2217, released",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(InstanceSummary(), "hil-board-instances")


def pytest_report_header(config: pytest.Config) -> str | None:
    place = config.getoption("lg_place")
    if not place:
        return None
    coordinator = config.getoption("lg_coordinator", None) or os.environ.get("LG_COORDINATOR", "127.0.0.1:20408")
    return f"hil farm: labgrid place {place} at {coordinator}"


def instance_label(dut: Dut) -> str:
    """Which board instance this worker holds: worker id, board, and where it runs."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    if dut.claim:
        where = dut.claim.label
    else:
        url = getattr(getattr(dut.target, "transport", None), "url", None)
        where = f"{dut.variant.emulator} {dut.variant.machine}" + (f" at {url}" if url else "")
    return f"{worker}: {dut.board.name} {where}"


@pytest.fixture(autouse=True)
def _record_board_instance(request: pytest.FixtureRequest) -> Iterator[None]:
    """Tags each test that uses `dut` with the instance that ran it (no effect on other tests)."""
    if "hil_dut" in request.fixturenames:  # `dut` or `hil_dut` (not another plugin's `dut`)
        request.node.user_properties.append((INSTANCE_PROPERTY, instance_label(request.getfixturevalue("hil_dut"))))
    yield


class InstanceSummary:
    """Tallies results per board instance where reports arrive (the xdist controller, or the
    only process) and lists them at the end of the run."""

    def __init__(self) -> None:
        self.results: dict[str, Counter] = defaultdict(Counter)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "call" and not (report.when == "setup" and not report.passed):
            return
        for name, value in report.user_properties:
            if name == INSTANCE_PROPERTY:
                self.results[str(value)][report.outcome] += 1

    def pytest_terminal_summary(self, terminalreporter) -> None:
        if not self.results:
            return
        terminalreporter.write_sep("-", f"hil board instances: {len(self.results)}")
        for label, outcomes in sorted(self.results.items()):
            text = ", ".join(f"{count} {outcome}" for outcome, count in sorted(outcomes.items()))
            terminalreporter.write_line(f"{label}: {text}")

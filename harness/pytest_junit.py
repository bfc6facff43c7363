"""JUnit XML properties on each test case that touched a device (registered in harness/pytest_plugin.py).

CI viewers show a test case's own properties; suite properties are lost under `pytest -n`
(pytest-xdist does not send them to the controller) and `record_property` warns under pytest's
default junit_family (xunit2). So the properties go straight into `item.user_properties`, which
pytest copies into every report (and xdist sends with them):

  hil_board, hil_emulator, hil_firmware_build_id   any test whose fixtures opened a device
  hil_model, hil_model_sha256, hil_elements_compared, hil_elements_exact,
  hil_<timer kind> (median per inference), hil_arena_bytes     each run_model call
  hil_firmware_sha256                              run_model on a user's firmware (--hil-firmware,
                                                   --hil-firmware-project): the ELF's digest, which
                                                   tells its variants apart when its own build id
                                                   does not; no hil_arena_bytes (it reports none)
  hil_training_steps, hil_losses_bit_exact,
  hil_parameters_bit_exact, hil_arena_bytes        each train_in_lockstep call (harness/pytest_training.py)
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from .dut import Dut


def add_properties(item: pytest.Item, properties: Iterable[tuple[str, object]]) -> None:
    """Appends properties to the test case, skipping a (name, value) pair it already has."""
    for prop in properties:
        if prop not in item.user_properties:
            item.user_properties.append(prop)


def device_properties(dut: Dut) -> list[tuple[str, object]]:
    return [
        ("hil_board", dut.board.name),
        ("hil_emulator", dut.variant.emulator),
        ("hil_firmware_build_id", dut.info.build_id if dut.info else ""),
    ]


def file_sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def inference_properties(
    model: str | Path, model_sha256: str, arena_bytes: int | None, result: Any
) -> list[tuple[str, object]]:
    """What one run_model call compared (result: harness.engine.session.InferenceResult);
    `arena_bytes` None when the firmware does not say."""
    outputs = result.verdict.outputs
    properties: list[tuple[str, object]] = [
        ("hil_model", Path(model).name),
        ("hil_model_sha256", model_sha256),
        ("hil_elements_compared", sum(c.elements for c in outputs)),
        ("hil_elements_exact", sum(c.exact_matches for c in outputs)),
    ]
    if arena_bytes is not None:
        properties.append(("hil_arena_bytes", arena_bytes))
    if result.instructions:
        counts = sorted(result.instructions)
        properties.append((f"hil_{result.timer_kind}", counts[len(counts) // 2]))
    return properties


def _devices(value: object) -> Iterator[Dut]:
    """The Dut a fixture value is or holds (a MeasuredDut or a session keeps it as `.dut`)."""
    if isinstance(value, Dut):
        yield value
    elif isinstance(held := getattr(value, "dut", None), Dut):
        yield held


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item: pytest.Item) -> None:
    """After set-up, every device among the test's fixtures (direct or not) tags the test case."""
    for value in list(getattr(item, "funcargs", {}).values()):
        for dut in _devices(value):
            add_properties(item, device_properties(dut))

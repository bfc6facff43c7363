"""pytest fixtures for on-device training (registered in harness/pytest_plugin.py).

training_dut       session-scoped: the board with the training firmware build
                   (harness.training.device.TRAINING_FIRMWARE_FLAGS).
device_training    a DeviceTraining on it, for one test.
train_in_lockstep  fixture returning run(setup, samples, labels, steps) -> (device, reference):
                   loads the setup, trains on device and host, fails the test at the first
                   loss that differs, and checks every weight and bias afterwards; records
                   hil_training_steps, hil_losses_bit_exact, hil_parameters_bit_exact and
                   hil_arena_bytes (the device's plan) as JUnit properties of the test case,
                   beside board, emulator and build id (harness/pytest_junit.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

from .dut import Dut
from .pytest_junit import add_properties
from .pytest_plugin import open_or_fail
from .training.device import TRAINING_FIRMWARE_FLAGS, DeviceTraining
from .training.reference import TrainingReference
from .training.run import check_parameters, lockstep
from .training.setup import TrainSetup


def open_training_dut(hil_options: Any, extra_flags: list[str] | None = None) -> Dut:
    return open_or_fail(
        lambda: hil_options.open_dut(
            timeout=max(hil_options.timeout, 30.0), extra_flags=extra_flags or TRAINING_FIRMWARE_FLAGS
        )
    )


@pytest.fixture(scope="session")
def training_dut(hil_options: Any) -> Iterator[Dut]:
    device = open_training_dut(hil_options)
    yield device
    device.close()


@pytest.fixture
def device_training(training_dut: Dut) -> DeviceTraining:
    return DeviceTraining(training_dut.link)


@pytest.fixture
def train_in_lockstep(
    device_training: DeviceTraining, request: pytest.FixtureRequest
) -> Callable[..., tuple[DeviceTraining, TrainingReference]]:
    def run(
        setup: TrainSetup, samples: np.ndarray, labels: np.ndarray, steps: int
    ) -> tuple[DeviceTraining, TrainingReference]:
        plan = device_training.load(setup)
        reference = TrainingReference(setup)
        losses = lockstep(device_training, reference, samples, labels, steps)
        compared = check_parameters(device_training, reference)
        add_properties(
            request.node,
            [
                ("hil_training_steps", steps),
                ("hil_losses_bit_exact", len(losses)),  # lockstep fails at the first that differs
                ("hil_parameters_bit_exact", compared),
                ("hil_arena_bytes", plan["arena_bytes"]),
            ],
        )
        return device_training, reference

    return run

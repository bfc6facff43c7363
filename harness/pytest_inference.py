"""pytest fixtures for on-device inference (registered in harness/pytest_plugin.py).

    def test_kws_matches_tflm(run_model):
        result = run_model("kws_ref_model.tflite", count=20, seed=1)
        assert result.verdict.passed, result.describe()

`run_model(model, inputs=None, count=1, seed=0, per_layer=False) -> InferenceResult` runs the model
on the board under test and in the tflite-micro reference: `result.device_outputs`,
`result.reference_outputs` (one list of output arrays per input set), `result.verdict` (exact for
int8, a tolerance for float32; every graph output and, with per_layer, every operator output, the
set `hil run` and `hil bench` compare: docs/verdicts.md), `result.instructions` per inference.
Under QEMU each model boots its own emulator with the packed model in the flash model slot (the
previous one is closed); on a target that does not preload the slot (a real board, Renode) the
model is streamed into the device's RAM over the session's `dut`. Each call
records board, emulator, firmware build id, model sha256, elements compared and exact,
instructions and arena as JUnit properties of the calling test (harness/pytest_junit.py).

`run_model(model, dataset="data.npz" or a folder, float_model=None, samples=None, seed=0)
-> DatasetResult` runs a labelled data set (harness/engine/dataset.py): `result.verdict` (every
sample, device against tflite-micro) and `result.accuracy` (`.metric` top1 or auc, `.device`,
`.reference`, `.float_model`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest

from .engine.accuracy import DatasetResult, run_dataset
from .engine.session import InferenceResult, InferenceSession
from .firmware_runner import FirmwareSession
from .progress import Progress
from .pytest_junit import add_properties, device_properties, file_sha256, inference_properties
from .pytest_plugin import open_or_fail


class _Sessions:
    """At most one open session: switching models closes the previous one."""

    def __init__(self, request: pytest.FixtureRequest):
        self.request = request
        self.current: tuple[str, InferenceSession | FirmwareSession] | None = None
        self.model_sha256 = ""

    def get(self, model: str | Path) -> InferenceSession | FirmwareSession:
        key = str(Path(model).resolve())
        if self.current and self.current[0] == key:
            return self.current[1]
        self.close()
        options = self.request.getfixturevalue("hil_options")
        session: InferenceSession | FirmwareSession
        firmware = self.request.config.getoption("hil_firmware")
        project = self.request.config.getoption("hil_firmware_project")
        if firmware or project:  # a firmware of the user's own (harness.firmware_runner)
            session = open_or_fail(
                lambda: FirmwareSession.open(
                    options.require_board(),
                    options.emulator,
                    model,
                    firmware=firmware,
                    project=project,
                    port=options.port,
                    baud=options.baud,
                    probe=options.probe,
                    timeout=max(options.timeout, 10.0),
                    progress=Progress(),
                )
            )
        elif options.capabilities().preloads_model_slot:
            session = open_or_fail(
                lambda: InferenceSession.open(
                    options.require_board(),
                    options.emulator,
                    model,
                    timeout=max(options.timeout, 10.0),
                    progress=Progress(),
                )
            )
        else:
            session = open_or_fail(lambda: InferenceSession.on_dut(self.request.getfixturevalue("hil_dut"), model))
        self.current = (key, session)
        self.model_sha256 = file_sha256(model)
        return session

    def close(self) -> None:
        if self.current:
            self.current[1].close()
            self.current = None


@pytest.fixture(scope="session")
def _inference_sessions(request: pytest.FixtureRequest) -> Iterator[_Sessions]:
    sessions = _Sessions(request)
    yield sessions
    sessions.close()


@pytest.fixture
def run_model(
    _inference_sessions: _Sessions, request: pytest.FixtureRequest
) -> Callable[..., InferenceResult | DatasetResult]:
    def run(
        model: str | Path,
        inputs: Sequence[Sequence[np.ndarray]] | None = None,
        count: int = 1,
        seed: int = 0,
        per_layer: bool = False,
        dataset: str | Path | None = None,
        float_model: str | Path | None = None,
        samples: int | None = None,
    ) -> InferenceResult | DatasetResult:
        session = _inference_sessions.get(model)
        add_properties(request.node, device_properties(session.dut))
        if isinstance(session, FirmwareSession) and session.elf is not None:
            add_properties(request.node, [("hil_firmware_sha256", file_sha256(session.elf))])
        result: InferenceResult | DatasetResult
        if dataset is not None:
            result = open_or_fail(lambda: run_dataset(session, dataset, float_model, samples, seed))
            inference = result.inference
        else:
            result = inference = session.run(inputs, count, seed, per_layer)
        add_properties(
            request.node,
            inference_properties(
                model,
                _inference_sessions.model_sha256,
                getattr(session.packed, "arena_size", None),  # a user's firmware reports none
                inference,
            ),
        )
        return result

    return run


@pytest.fixture
def inference_session(_inference_sessions: _Sessions) -> Callable[[str | Path], InferenceSession]:
    """The open session of a model (packed model, device model, reference), for lower-level tests."""

    def get(model: str | Path) -> InferenceSession:
        session = _inference_sessions.get(model)
        if not isinstance(session, InferenceSession):
            pytest.fail("inference_session runs the harness's own firmware, not --hil-firmware", pytrace=False)
        return session

    return get

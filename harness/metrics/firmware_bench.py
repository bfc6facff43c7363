"""`hil bench --firmware/--firmware-project`: a user's firmware measured as the engine is.

The firmware has no metrics service, only the SDK's model runner (docs/byo_firmware.md): QEMU's
plugin counts the instructions between the runner's own markers (hil_runner.c: the whole invoke,
and each region the firmware's hooks time), the device's ticks come from RUNNER_INVOKE and
RUNNER_REGIONS, memory from the ELF. Region r of the hooks is recorded as `layer<r>` (the
adapters of docs/byo_firmware.md time operator r as region r), the invoke as `inference`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..boards import load_board
from ..engine.pack import load_comparable
from ..firmware_runner import FirmwareSession, firmware_for
from ..progress import Progress
from .measured_dut import MeasuredDut
from .model_bench import ModelOutcome
from .plugin import RUNNER_MARKS, region_slots
from .timing import REGION_FIRST_LAYER, REGION_INFERENCE, DeviceRegion, DeviceTimer, RegionTiming

CASE_SUFFIX = "@firmware"  # a user's firmware's case is not the engine's case of the same model


def firmware_case(model: Path) -> str:
    return model.stem + CASE_SUFFIX


def elf_build_id(elf: Path) -> str:
    """A user's firmware's identity in records and their keys: its ELF's SHA-256 (the build id it
    reports in HELLO, if any, need not change between builds)."""
    return "elf-" + hashlib.sha256(elf.read_bytes()).hexdigest()[:16]


@dataclass
class FirmwareBench:
    """The compiled-in model of a user's firmware, as workloads.bench_model measures it."""

    session: FirmwareSession
    elf: Path

    def timed_run(self, m: MeasuredDut, seed: int) -> tuple[list[RegionTiming], str]:
        self.session.put_seeded_inputs(seed, case=0)
        _, timings = m.measure(self.session.device_model.invoke)
        layered = any(t.region_id >= REGION_FIRST_LAYER for t in timings)
        return timings, "firmware regions" if layered else "whole invoke"

    def judge(self, seed: int, name: str) -> ModelOutcome:
        """Every output of input set 0, and every layer when the firmware publishes them."""
        result = self.session.run(count=1, seed=seed, per_layer=True, layers_required=False)
        return ModelOutcome(result.verdict, [op.opcode for op in self.session.model.operators])

    def record_fields(self, m: MeasuredDut) -> dict[str, Any]:
        info = self.session.dut.info
        return {
            "build_id": elf_build_id(self.elf),
            "firmware_build_id": info.build_id if info else "",
            "firmware_sha256": hashlib.sha256(self.elf.read_bytes()).hexdigest(),
            "firmware_model_sha256": self.session.device_model.sha256,  # checked equal to the model's
            "model_flash_bytes": None,  # compiled in: part of the firmware's flash_bytes
        }

    def device_timer(self) -> DeviceTimer:
        """The last invoke's ticks and regions, once (a second read is empty: a clear)."""
        runner, info = self.session.device_model, self.session.dut.info
        regions: dict[int, DeviceRegion] = {}
        if runner.last_ticks is not None:
            regions[REGION_INFERENCE] = DeviceRegion(REGION_INFERENCE, 1, runner.last_ticks)
            for region, (calls, ticks) in runner.regions().items():
                regions[REGION_FIRST_LAYER + region] = DeviceRegion(REGION_FIRST_LAYER + region, calls, ticks)
            runner.last_ticks = None
        unit = info.timer_kind if info else "cycles"
        return DeviceTimer(unit, info.timer_units_per_tick if info else 1, 0, regions)


def _plugin_region(elf: Path) -> Callable[[int], int]:
    """The plugin's region ids (hil_runner.c: the hooks' 0..N-1, then the invoke) as the record's."""
    invoke = region_slots(elf, RUNNER_MARKS) - 1
    return lambda region: REGION_INFERENCE if region == invoke else REGION_FIRST_LAYER + region


def open_firmware_bench(
    board: str,
    emulator: str,
    model: Path,
    firmware: str | Path | None,
    project: str | Path | None,
    progress: Progress | None = None,
    use_plugin: bool = True,
    extra_flags: list[str] | None = None,
    **dut_options: Any,
) -> tuple[MeasuredDut, FirmwareBench]:
    """Builds `project` (or takes the `firmware` ELF), boots it with the plugin on its runner's
    markers and checks that it runs `model`. The MeasuredDut owns the device."""
    board_spec = load_board(board)
    tflite = load_comparable(model)  # a model that compares nothing is refused before a build or boot
    image = firmware_for(board_spec, emulator, firmware, project, model, progress, extra_flags)
    measured = MeasuredDut.open(
        board_spec,
        emulator,
        progress=progress,
        use_plugin=use_plugin,
        marks=RUNNER_MARKS,
        metrics_service=False,
        firmware=image,
        **dut_options,
    )
    try:
        bench = FirmwareBench(FirmwareSession.on(measured.dut, model, tflite), image.elf)
        measured.read_timer = bench.device_timer
        if measured.log is not None:
            measured.plugin_region = _plugin_region(image.elf)
    except BaseException:
        measured.close()
        raise
    return measured, bench

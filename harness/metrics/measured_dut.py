"""A Dut with the instruction-counting plugin attached, and measured runs on it."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..boards import Board
from ..build import Firmware
from ..dut import Dut
from ..errors import DeviceError, HarnessError
from ..progress import Progress
from .memory import device_memory, firmware_memory
from .plugin import MARK_FUNCTION, MARKS_SYMBOL, PluginError, plugin_arguments
from .timing import DeviceTimer, InstructionLog, RegionTiming, combine, read_device_regions


@dataclass
class MeasuredDut:
    """Owns a Dut; `log` is None on real boards or when the plugin could not be attached.

    The harness's firmware reports its regions through the metrics service (METRICS, MEMORY). A
    user's firmware has only the SDK's model runner: its bench sets `read_timer` (the runner's
    invoke and region ticks) and `plugin_region` (the plugin's region ids to the record's), and
    its memory comes from the ELF alone (`metrics_service` False)."""

    dut: Dut
    firmware_elf: Path | None
    log: InstructionLog | None
    plugin_note: str = ""
    _workdir: Path | None = field(default=None, repr=False)
    metrics_service: bool = True
    read_timer: Callable[[], DeviceTimer] | None = None
    plugin_region: Callable[[int], int] | None = None

    @classmethod
    def open(
        cls,
        board: str | Board,
        emulator: str = "qemu",
        progress: Progress | None = None,
        extra_flags: list[str] | None = None,
        use_plugin: bool = True,
        marks: tuple[str, str] = (MARKS_SYMBOL, MARK_FUNCTION),
        metrics_service: bool = True,
        **dut_options: Any,
    ) -> MeasuredDut:
        """`dut_options` go to Dut.open (a `slot_image`, a real board's port, a user's
        `firmware`...); `marks` names the firmware's plugin markers (plugin.RUNNER_MARKS for a
        user's firmware, which has no metrics service: `metrics_service` False)."""
        workdir = Path(tempfile.mkdtemp(prefix="hil-metrics-"))
        log_path = workdir / "regions.txt"
        seen: dict[str, Any] = {}

        def qemu_args(firmware: Firmware) -> list[str]:
            seen["elf"] = firmware.elf
            if not use_plugin:
                return []
            try:
                arguments = plugin_arguments(firmware.elf, log_path, marks)
            except PluginError as exc:  # measure with the icount timer instead, and say so
                seen["note"] = f"QEMU plugin unavailable ({exc}); using the icount timer"
                return []
            seen["plugin"] = True
            return arguments

        try:
            dut = Dut.open(
                board, emulator, progress=progress, extra_flags=extra_flags, qemu_args=qemu_args, **dut_options
            )
        except BaseException:
            shutil.rmtree(workdir, ignore_errors=True)
            raise
        log = InstructionLog(log_path) if seen.get("plugin") else None
        measured = cls(dut, seen.get("elf"), log, seen.get("note", ""), workdir, metrics_service)
        if not metrics_service:
            return measured
        try:
            read_device_regions(dut.link, clear=True)  # also: does this firmware measure at all?
        except DeviceError as exc:
            measured.close()
            if exc.code_name != "UNKNOWN_TYPE":
                raise
            raise HarnessError(
                f"the {dut.board.name} firmware has no metrics service (src/metrics is "
                f"not in its build): nothing to measure on this board"
            ) from None
        except BaseException:
            measured.close()
            raise
        return measured

    def measure(self, run: Callable[[], Any]) -> tuple[Any, list[RegionTiming]]:
        """Runs `run()` (requests to the firmware) and returns its result and region timings."""
        read = self.read_timer or (lambda: read_device_regions(self.dut.link, clear=True))
        read()
        position = self.log.position() if self.log else 0
        result = run()
        device = read()
        plugin_counts = self.log.read_from(position) if self.log else None
        if plugin_counts is not None and self.plugin_region is not None:
            plugin_counts = {self.plugin_region(region): counts for region, counts in plugin_counts.items()}
        return result, combine(device, plugin_counts)

    def memory(self, repaint_stack: bool = False) -> dict[str, int]:
        figures = firmware_memory(self.firmware_elf) if self.firmware_elf else {}
        if not self.metrics_service:
            return figures
        return {**figures, **device_memory(self.dut.link, repaint_stack)}

    def selftest(self, iterations: int, layers: int) -> int:
        return self.dut.link.call("METRICS_SELFTEST", iterations=iterations, layers=layers)["checksum"]

    def close(self) -> None:
        self.dut.close()
        if self._workdir:
            shutil.rmtree(self._workdir, ignore_errors=True)

    def __enter__(self) -> MeasuredDut:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

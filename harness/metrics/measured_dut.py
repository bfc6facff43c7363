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
from .plugin import PluginError, plugin_arguments
from .timing import InstructionLog, RegionTiming, combine, read_device_regions


@dataclass
class MeasuredDut:
    """Owns a Dut; `log` is None on real boards or when the plugin could not be attached."""

    dut: Dut
    firmware_elf: Path | None
    log: InstructionLog | None
    plugin_note: str = ""
    _workdir: Path | None = field(default=None, repr=False)

    @classmethod
    def open(
        cls,
        board: str | Board,
        emulator: str = "qemu",
        progress: Progress | None = None,
        extra_flags: list[str] | None = None,
        use_plugin: bool = True,
        **dut_options: Any,
    ) -> MeasuredDut:
        """`dut_options` go to Dut.open (a `slot_image`, a real board's port...)."""
        workdir = Path(tempfile.mkdtemp(prefix="hil-metrics-"))
        log_path = workdir / "regions.txt"
        seen: dict[str, Any] = {}

        def qemu_args(firmware: Firmware) -> list[str]:
            seen["elf"] = firmware.elf
            if not use_plugin:
                return []
            try:
                arguments = plugin_arguments(firmware.elf, log_path)
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
        measured = cls(dut, seen.get("elf"), log, seen.get("note", ""), workdir)
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
        read_device_regions(self.dut.link, clear=True)
        position = self.log.position() if self.log else 0
        result = run()
        device = read_device_regions(self.dut.link, clear=True)
        plugin_counts = self.log.read_from(position) if self.log else None
        return result, combine(device, plugin_counts)

    def memory(self, repaint_stack: bool = False) -> dict[str, int]:
        figures = firmware_memory(self.firmware_elf) if self.firmware_elf else {}
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

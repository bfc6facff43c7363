"""The harness firmware built as an MLPerf Tiny responder (firmware/src/mlperf), and QEMU booting
an MLPerf Tiny firmware (ours, or a user's ELF: harness.build.prebuilt) with a packed model in the
flash model slot or with the slot left erased."""

from __future__ import annotations

import tempfile
from pathlib import Path

from .. import build as firmware_build
from ..boards import Board
from ..errors import HarnessError
from ..progress import Progress
from ..targets.qemu import QemuTarget
from ..targets.transport import SerialTransport

# HIL_MLPERF_TINY builds the responder; --wrap=app_main makes the startup code enter it instead of
# the link's request loop; the engine service's pool shrinks to a token, its SRAM going to the
# responder's pool (firmware/src/mlperf/mlperf.c).
MLPERF_FLAGS = ["-DHIL_MLPERF_TINY=1", "-DENGINE_POOL_SIZE=16u", "-Wl,--wrap=app_main"]


def build_responder(board: Board, emulator: str, progress: Progress | None = None) -> firmware_build.Firmware:
    """Our firmware in its MLPerf Tiny mode (it announces m-model-[kws01]; its input bytes are the
    int8 tensor's, as kws01 and ad01 runners send them)."""
    return firmware_build.build(board, emulator, progress, MLPERF_FLAGS)


class SlotQemu:
    """QEMU running `firmware`, the flash model slot holding `slot_image` (or left erased)."""

    def __init__(self, board: Board, firmware: firmware_build.Firmware, slot_image: bytes | None):
        variant = board.variant("qemu")
        self.firmware = firmware
        extra: list[str] = []
        if slot_image is not None:
            slot = variant.memory.model_slot
            if len(slot_image) > slot.size:
                raise HarnessError(
                    f"packed model of {len(slot_image)} bytes does not fit {board.name}'s "
                    f"model slot of {slot.size} bytes"
                )
            path = Path(tempfile.mkdtemp(prefix="hil-mlperf-")) / "model_slot.bin"
            path.write_bytes(slot_image)
            extra = ["-device", f"loader,file={path},addr=0x{slot.origin:x},force-raw=on"]
        self.target = QemuTarget(board, variant, firmware, extra_args=extra)

    def start(self) -> SerialTransport:
        return self.target.start()

    def exit_reason(self) -> str:
        return self.target.exit_reason()

    def stop(self) -> None:
        self.target.stop()

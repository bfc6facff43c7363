"""What the firmware build needs from a board file: flags, HAL sources, memory limits, defines.

Pure functions, used by the PlatformIO pre-script (firmware/scripts/configure.py) and by tests.
"""
from __future__ import annotations

from dataclasses import dataclass

from .boards import Board
from .link.protocol import CONSTANTS

# The firmware's portable sources; everything under src/hal/ except the chosen HAL is left out.
_PORTABLE = ["+<*>", "-<hal/>", "+<hal/millis.c>"]
_ARCH_HAL = {"arm": "cortexm"}


@dataclass(frozen=True)
class FirmwareConfig:
    cpu_flags: list[str]
    common_flags: list[str]
    link_flags: list[str]
    defines: dict[str, str | int]
    memory_ld: str
    ldscript: str
    src_filter: list[str]


def cpu_flags(board: Board) -> list[str]:
    if board.arch != "arm":
        raise NotImplementedError(f"no compiler flags for arch {board.arch}")
    flags = ["-mthumb", f"-mcpu={board.core}"]
    if board.fpu:
        flags += [f"-mfpu={board.fpu}", "-mfloat-abi=hard"]
    else:
        flags += ["-mfloat-abi=soft"]
    return flags


def _c_string(text: str) -> str:
    return '\\"' + text.replace('"', "'") + '\\"'


def firmware_config(board: Board, emulator: str, build_id: str) -> FirmwareConfig:
    variant = board.variant(emulator)
    memory = variant.memory
    flash = memory.firmware_flash
    memory_ld = (
        "/* Generated from the board file by scripts/configure.py. */\n"
        "MEMORY\n{\n"
        f"    FLASH (rx) : ORIGIN = 0x{flash.origin:08X}, LENGTH = 0x{flash.size:X}\n"
        f"    RAM (rwx) : ORIGIN = 0x{memory.sram.origin:08X}, LENGTH = 0x{memory.sram.size:X}\n"
        "}\n"
    )
    timer_kind = CONSTANTS[f"TIMER_KIND_{variant.timer.kind.upper()}"]
    defines: dict[str, str | int] = {
        "HIL_BOARD_NAME": _c_string(board.name),
        "HIL_BUILD_ID": _c_string(build_id),
        "HIL_EMULATED": int(emulator != "none"),
        "HIL_BAUD": board.baud,
        "HIL_CORE_CLOCK_HZ": variant.clock_hz,
        "HIL_FLASH_SIZE": memory.flash.size,
        "HIL_SRAM_SIZE": memory.sram.size,
        "HIL_MODEL_SLOT_ADDR": memory.model_slot.origin,
        "HIL_MODEL_SLOT_SIZE": memory.model_slot.size,
        "HIL_TIMER_KIND": timer_kind,
        "HIL_TIMER_UNITS_PER_TICK": variant.timer.units_per_tick,
    }
    arch_hal = _ARCH_HAL[board.arch]
    return FirmwareConfig(
        cpu_flags=cpu_flags(board),
        common_flags=[
            "-std=c11", "-Os", "-g", "-Wall", "-Wextra", "-Werror",
            "-ffunction-sections", "-fdata-sections", "-ffp-contract=off",
        ],
        link_flags=[
            "-nostartfiles", "--specs=nano.specs", "--specs=nosys.specs",
            "-Wl,--gc-sections", "-Wl,--print-memory-usage",
        ],
        defines=defines,
        memory_ld=memory_ld,
        ldscript="ld/cortexm.ld",
        src_filter=_PORTABLE + [f"+<hal/{arch_hal}/>", f"+<hal/{variant.hal}/>"],
    )

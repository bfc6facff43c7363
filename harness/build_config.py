"""What the firmware build needs from a board file: flags, HAL sources, memory limits, defines.

Pure functions, used by the PlatformIO pre-script (firmware/scripts/configure.py) and by tests.
"""

from __future__ import annotations

from dataclasses import dataclass

from .boards import Board, Variant
from .link.protocol import CONSTANTS

# The firmware's portable sources; everything under src/hal/ except the chosen HAL is left out.
_PORTABLE = ["+<*>", "-<hal/>", "+<hal/millis.c>"]
# Code shared by every HAL of an architecture (startup, faults); AVR's is avr-libc plus hal/avr.
_ARCH_HAL = {"arm": "cortexm", "avr": None}
# Portable sources an architecture replaces: hal/avr keeps its own hal_millis (millis.c divides
# 64-bit numbers: slow on AVR).
_ARCH_REPLACED = {"arm": [], "avr": ["hal/millis.c"]}


def services_limited(board: Board) -> dict[str, str]:
    """Firmware services built for this board with a reduced feature set, with what remains
    (the board file's `firmware.engine.op_set`)."""
    return board.firmware.limited()


def services_left_out(board: Board) -> dict[str, str]:
    """Firmware services (src/<name>/) not built for this board, with the reason (the board
    file's `firmware.left_out`)."""
    return dict(board.firmware.left_out)


def service_defines(board: Board) -> dict[str, str | int]:
    """The engine's build switches for what the board file says its firmware has (engine.h)."""
    features = board.firmware
    defines: dict[str, str | int] = {}
    if not features.has("metrics"):
        defines["HIL_HAVE_METRICS"] = 0  # no metrics hooks in the engine
    if features.terse_errors:
        defines["ENGINE_TERSE_ERRORS"] = 1
    if features.op_set == "minimal":
        defines["ENGINE_OPS_MINIMAL"] = 1
    if features.engine_pool is not None:
        defines["ENGINE_POOL_SIZE"] = f"{features.engine_pool}u"
    return defines


# avr-gcc's default linker script knows only the avr5 family's largest part (128K flash, 64K data):
# these symbols give it this chip's limits, so an image that does not fit fails to link.
# The stack is not a section: AVR_STACK_RESERVE bytes of SRAM are kept free for it.
# Measured 2026-11-27 (QEMU, painted stack): 164 bytes at idle, 531 during an engine INVOKE
# (hello_world int8: 32-bit requantization math on an 8-bit core is stack-hungry).
AVR_STACK_RESERVE = 576


@dataclass(frozen=True)
class FirmwareConfig:
    cpu_flags: list[str]
    common_flags: list[str]
    link_flags: list[str]
    defines: dict[str, str | int]
    memory_ld: str
    ldscript: str | None  # None: the toolchain's default script
    src_filter: list[str]


def _arm_cpu_flags(board: Board) -> list[str]:
    flags = ["-mthumb", f"-mcpu={board.core}"]
    if board.fpu:
        flags += [f"-mfpu={board.fpu}", "-mfloat-abi=hard"]
    else:
        flags += ["-mfloat-abi=soft"]
    return flags


_CPU_FLAGS = {"arm": _arm_cpu_flags, "avr": lambda board: [f"-mmcu={board.core}"]}


def cpu_flags(board: Board) -> list[str]:
    if board.arch not in _CPU_FLAGS:
        raise NotImplementedError(f"no compiler flags for arch {board.arch}")
    return _CPU_FLAGS[board.arch](board)


def _c_string(text: str) -> str:
    return '\\"' + text.replace('"', "'") + '\\"'


def firmware_config(board: Board, emulator: str, build_id: str) -> FirmwareConfig:
    variant = board.variant(emulator)
    memory = variant.memory
    flash = memory.firmware_flash
    memory_ld = (
        "/* Generated from the board file by scripts/configure.py. */\n"
        # A build may link to less SRAM than the board has (-Wl,--defsym=HIL_SRAM_BUDGET=N: the
        # training firmware's 256 KB claim); data, bss and the stack then all fit in N bytes.
        f"HIL_RAM_LENGTH = DEFINED(HIL_SRAM_BUDGET) ? MIN(HIL_SRAM_BUDGET, 0x{memory.sram.size:X}) "
        f": 0x{memory.sram.size:X};\n"
        "MEMORY\n{\n"
        f"    FLASH (rx) : ORIGIN = 0x{flash.origin:08X}, LENGTH = 0x{flash.size:X}\n"
        f"    RAM (rwx) : ORIGIN = 0x{memory.sram.origin:08X}, LENGTH = HIL_RAM_LENGTH\n"
        "}\n"
    )
    timer_kind = CONSTANTS[f"TIMER_KIND_{variant.timer.kind.upper()}"]
    defines: dict[str, str | int] = {
        "HIL_BOARD_NAME": _c_string(board.name),
        "HIL_BUILD_ID": _c_string(build_id),
        "HIL_EMULATED": int(emulator in board.emulators),  # any variant but the real board
        "HIL_BAUD": board.baud,
        "HIL_CORE_CLOCK_HZ": variant.clock_hz,
        "HIL_FLASH_SIZE": memory.flash.size,
        "HIL_SRAM_SIZE": memory.sram.size,
        "HIL_MODEL_SLOT_ADDR": memory.model_slot.origin,
        "HIL_MODEL_SLOT_SIZE": memory.model_slot.size,
        "HIL_TIMER_KIND": timer_kind,
        "HIL_TIMER_UNITS_PER_TICK": variant.timer.units_per_tick,
    }
    if board.link_max_payload:
        defines["LINK_MAX_PAYLOAD"] = f"{board.link_max_payload}u"
    if board.link_max_message:
        defines["LINK_MAX_MESSAGE"] = f"{board.link_max_message}u"
    arch_hal = _ARCH_HAL[board.arch]
    src_filter = _PORTABLE + ([f"+<hal/{arch_hal}/>"] if arch_hal else []) + [f"+<hal/{variant.hal}/>"]
    src_filter += [
        f"-<{path}>" for path in [*(f"{name}/" for name in board.firmware.left_out), *_ARCH_REPLACED[board.arch]]
    ]
    common_flags = [
        "-std=c11",
        "-Os",
        "-g",
        "-Wall",
        "-Wextra",
        "-Werror",
        "-ffunction-sections",
        "-fdata-sections",
        "-ffp-contract=off",
    ]
    return _ARCH_CONFIG[board.arch](board, variant, defines, memory_ld, src_filter, common_flags)


def _avr_config(
    board: Board,
    variant: Variant,
    defines: dict[str, str | int],
    memory_ld: str,
    src_filter: list[str],
    common_flags: list[str],
) -> FirmwareConfig:
    defines["F_CPU"] = f"{variant.clock_hz}UL"  # avr-libc's <util/delay.h> and <util/setbaud.h>
    defines.update(service_defines(board))
    data_limit = variant.memory.sram.size - AVR_STACK_RESERVE
    return FirmwareConfig(
        cpu_flags=cpu_flags(board),
        common_flags=common_flags,
        link_flags=[
            "-Wl,--gc-sections",
            f"-Wl,--defsym=__TEXT_REGION_LENGTH__={variant.memory.firmware_flash.size}",
            f"-Wl,--defsym=__DATA_REGION_LENGTH__={data_limit}",
        ],
        defines=defines,
        memory_ld=memory_ld,
        ldscript=None,  # avr-libc's startup and avr-gcc's own linker script
        src_filter=src_filter,
    )


def _arm_config(
    board: Board,
    variant: Variant,
    defines: dict[str, str | int],
    memory_ld: str,
    src_filter: list[str],
    common_flags: list[str],
) -> FirmwareConfig:
    defines.update(service_defines(board))
    return FirmwareConfig(
        cpu_flags=cpu_flags(board),
        common_flags=common_flags,
        link_flags=[
            "-nostartfiles",
            "--specs=nano.specs",
            "--specs=nosys.specs",
            "-Wl,--gc-sections",
            "-Wl,--print-memory-usage",
        ],
        defines=defines,
        memory_ld=memory_ld,
        ldscript="ld/cortexm.ld",
        src_filter=src_filter,
    )


_ARCH_CONFIG = {"avr": _avr_config, "arm": _arm_config}

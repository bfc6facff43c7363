"""The training firmware is linked to a 256 KB SRAM region (the paper's claim), not to the board's
larger SRAM: over that region it does not link, and the device's measured peak lies inside it."""

from __future__ import annotations

import pytest

from harness.boards import load_board
from harness.build import BuildError, build
from harness.training.device import TRAINING_FIRMWARE_FLAGS, TRAINING_SRAM_REGION_BYTES
from harness.training.planner import firmware_sram_region
from harness.training.toy import toy_data, toy_setup


def test_the_training_firmware_is_linked_to_256_kb_and_measures_its_peak_inside(
    hil_options, training_dut, train_in_lockstep
):
    firmware = build(load_board(hil_options.require_board()), hil_options.emulator, extra_flags=TRAINING_FIRMWARE_FLAGS)
    region = firmware_sram_region(firmware.elf)  # the build training_dut booted (cached)
    assert region == TRAINING_SRAM_REGION_BYTES == 256 * 1024
    assert training_dut.info.sram_size > region  # the emulated board has more; the firmware may not use it
    setup = toy_setup(seed=3)
    x, y = toy_data(setup, 3, seed=4)
    device, _ = train_in_lockstep(setup, x, y, 3)
    memory = device.memory()
    assert memory["stack_high_water"] > 0 and memory["measured_peak"] <= region


def test_a_training_firmware_whose_data_and_stack_reserve_exceed_its_region_does_not_link(hil_options):
    # the training arena and the engine pool (~205 KB of .data + .bss) fit 212 KB, the 16 KB stack reserve does not
    flags = [*(flag for flag in TRAINING_FIRMWARE_FLAGS if "HIL_SRAM_BUDGET" not in flag)]
    flags.append(f"-Wl,--defsym=HIL_SRAM_BUDGET={212 * 1024}")
    with pytest.raises(BuildError, match="less than MIN_STACK_SIZE left for the stack"):
        build(load_board(hil_options.require_board()), hil_options.emulator, extra_flags=flags)

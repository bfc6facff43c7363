"""Measurements: exact instruction counts in QEMU (a TCG plugin), device timer regions, memory.

plugin.py     builds tools/qemu_plugin/insn_regions.c and makes its QEMU arguments from the ELF
timing.py     per-region counts: plugin instructions (QEMU) and device timer ticks (METRICS)
memory.py     flash and static RAM from the ELF, stack/arena/training from the device (MEMORY)
session.py    a Dut opened with the plugin attached, and one measured run
"""

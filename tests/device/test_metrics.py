"""The metrics service on the real firmware in QEMU: exact instruction counts, timer, memory."""

import itertools

import pytest

from harness.errors import DeviceError
from harness.metrics.measured_dut import MeasuredDut
from harness.metrics.memory import firmware_memory
from harness.metrics.timing import read_device_regions

pytestmark = pytest.mark.usefixtures("hil_options")


@pytest.fixture(scope="module")
def measured(hil_options):
    hil_options.require("counts_instructions")
    with MeasuredDut.open(hil_options.board, hil_options.emulator) as device:
        yield device


def _layers(timings):
    return [t.value for t in timings if t.name.startswith("layer")]


def test_plugin_counts_are_exact_and_repeatable(measured):
    assert measured.log is not None, measured.plugin_note
    checksum, first = measured.measure(lambda: measured.selftest(500, 4))
    again, second = measured.measure(lambda: measured.selftest(500, 4))
    assert checksum == again
    assert [(t.name, t.value) for t in first] == [(t.name, t.value) for t in second]
    assert {t.source for t in first} == {"qemu-plugin"} and {t.unit for t in first} == {"instructions"}
    layers = _layers(first)
    # Part i does (i + 1) * 500 identical loop steps: exact counts grow by the same number each time.
    steps = [b - a for a, b in itertools.pairwise(layers)]
    assert len(set(steps)) == 1 and steps[0] > 500
    total = next(t.value for t in first if t.name == "selftest")
    assert sum(layers) < total < sum(layers) + 100 * len(layers)  # plus loop and marker overhead


def test_the_icount_timer_agrees_with_the_plugin_to_its_resolution(measured):
    read_device_regions(measured.dut.link, clear=True)
    position = measured.log.position()
    measured.selftest(2000, 2)
    device = read_device_regions(measured.dut.link, clear=True)
    exact = measured.log.read_from(position)
    assert device.unit == "instructions" and device.units_per_tick == measured.dut.info.timer_units_per_tick
    for region_id, counts in exact.items():
        # The device's own window adds a timer read and a call on each side.
        assert abs(device.units(region_id) - counts[0]) <= device.units_per_tick + 64, region_id


def test_memory_figures_agree_between_elf_and_device(measured):
    memory = measured.memory(repaint_stack=True)
    elf = firmware_memory(measured.firmware_elf)
    assert memory["ram_static_bytes"] == elf["data_bytes"] + elf["bss_bytes"]
    assert 0 < memory["flash_bytes"] <= measured.dut.info.flash_size
    assert 0 < memory["stack_high_water"] < memory["stack_size"]
    measured.selftest(10, 1)
    assert 0 < measured.memory()["stack_high_water"] <= memory["stack_size"]


def test_bad_selftest_requests_are_refused(measured):
    with pytest.raises(DeviceError, match="BAD_REQUEST"):
        measured.dut.link.call("METRICS_SELFTEST", iterations=1, layers=0)


def test_ballast_variant_shows_more_ram_and_flash(measured, hil_options):
    flags = ["-DHIL_BALLAST_RAM_BYTES=1024", "-DHIL_BALLAST_FLASH_BYTES=2048"]  # RAM is nearly full
    with MeasuredDut.open(hil_options.board, hil_options.emulator, extra_flags=flags) as bigger:
        grown = bigger.memory()
    normal = measured.memory()
    assert grown["ram_static_bytes"] - normal["ram_static_bytes"] >= 1024
    # The 2 KB array lands in .rodata, where it can fill up to 8 bytes of padding the smaller
    # image had before .ARM.exidx (8-byte aligned): the image grows by 2048 less that padding.
    assert grown["flash_bytes"] - normal["flash_bytes"] >= 2048 - 8


def test_without_the_plugin_the_timer_counts_instructions(hil_options):
    hil_options.require("counts_instructions")
    with MeasuredDut.open(hil_options.board, hil_options.emulator, use_plugin=False) as device:
        _, timings = device.measure(lambda: device.selftest(1000, 2))
    assert {t.source for t in timings} == {"icount-timer"} and {t.unit for t in timings} == {"instructions"}
    assert all(t.value > 0 for t in timings)

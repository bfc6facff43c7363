"""Per-region timing: exact instruction counts from the QEMU plugin, timer ticks from the device.

Units are never mixed up: on a real Cortex-M board the device timer is the DWT cycle counter
("cycles"); in QEMU there are no cycles, only executed instructions ("instructions"), counted
exactly by the plugin or, as a fallback, read from a timer driven by `-icount shift=0` (exact to
the timer's resolution, `units_per_tick` instructions).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .. import contracts
from ..errors import LinkError
from ..link import protocol
from ..link.client import Link

# Region ids and the METRICS reply's entries: harness/contracts/metrics.yaml (which also
# generates the firmware's metrics_regions.h).
_METRICS = contracts.load("metrics")
REGION_INFERENCE = _METRICS.value("REGION_INFERENCE")
REGION_SELFTEST = _METRICS.value("REGION_SELFTEST")
REGION_TRAINING_STEP = _METRICS.value("REGION_TRAINING_STEP")
REGION_FIRST_LAYER = _METRICS.value("REGION_FIRST_LAYER")
REGION_NAMES = {REGION_INFERENCE: "inference", REGION_SELFTEST: "selftest", REGION_TRAINING_STEP: "training_step"}
ENTRY = _METRICS.records["region_entry"]


def region_name(region_id: int) -> str:
    if region_id >= REGION_FIRST_LAYER:
        return f"layer{region_id - REGION_FIRST_LAYER}"
    return REGION_NAMES.get(region_id, f"region{region_id}")


def layer_index(region_id: int) -> int | None:
    return region_id - REGION_FIRST_LAYER if region_id >= REGION_FIRST_LAYER else None


@dataclass(frozen=True)
class DeviceRegion:
    region_id: int
    calls: int
    ticks: int


@dataclass(frozen=True)
class DeviceTimer:
    unit: str  # "cycles" or "instructions"
    units_per_tick: int
    hz: int
    regions: dict[int, DeviceRegion]

    def units(self, region_id: int) -> int:
        return self.regions[region_id].ticks * self.units_per_tick


def read_device_regions(link: Link, clear: bool = True) -> DeviceTimer:
    """The firmware's region totals since its last clear (METRICS)."""
    reply = link.call("METRICS", clear=int(clear))
    entries = reply["entries"]
    if len(entries) != reply["regions"] * ENTRY.size:
        raise LinkError(f"METRICS reply has {len(entries)} entry bytes for {reply['regions']} regions")
    regions = {}
    for offset in range(0, len(entries), ENTRY.size):
        entry = ENTRY.unpack(entries, offset)
        if entry["calls"]:
            regions[entry["id"]] = DeviceRegion(entry["id"], entry["calls"], entry["ticks"])
    unit = "cycles" if reply["timer_kind"] == protocol.CONSTANTS["TIMER_KIND_CYCLES"] else "instructions"
    return DeviceTimer(unit, reply["timer_units_per_tick"], reply["timer_hz"], regions)


class InstructionLog:
    """The plugin's output file: one line "<region id> <instructions>" per region end."""

    def __init__(self, path: Path):
        self.path = path
        path.touch()

    def position(self) -> int:
        return self.path.stat().st_size

    def read_from(self, position: int) -> dict[int, list[int]]:
        """Instructions of each region ended since `position`, one number per call."""
        with self.path.open("rb") as stream:
            stream.seek(position)
            text = stream.read().decode()
        counts: dict[int, list[int]] = {}
        for line in text.splitlines():
            region_id, instructions = line.split()
            counts.setdefault(int(region_id), []).append(int(instructions))
        return counts


@dataclass(frozen=True)
class RegionTiming:
    """One region of one measured run; `value` is in `unit` (summed over `calls`)."""

    region_id: int
    name: str
    calls: int
    value: int
    unit: str  # "instructions" (emulators) or "cycles" (real boards)
    source: str  # "qemu-plugin" (exact), "icount-timer" (exact to the timer's resolution), "dwt"

    def as_dict(self) -> dict:
        return {
            "id": self.region_id,
            "name": self.name,
            "layer": layer_index(self.region_id),
            "calls": self.calls,
            self.unit: self.value,
            "unit": self.unit,
            "source": self.source,
        }


def combine(device: DeviceTimer, plugin_counts: dict[int, list[int]] | None) -> list[RegionTiming]:
    """Region timings of one run: the plugin's exact counts where present, else the device timer."""
    timings = []
    for region_id in sorted(device.regions):
        region = device.regions[region_id]
        exact = (plugin_counts or {}).get(region_id)
        if exact is not None and len(exact) != region.calls:
            raise LinkError(
                f"the QEMU plugin saw {len(exact)} ends of {region_name(region_id)}, the firmware {region.calls}"
            )
        if exact is not None:
            value, unit, source = sum(exact), "instructions", "qemu-plugin"
        else:
            value, unit = device.units(region_id), device.unit
            source = "dwt" if unit == "cycles" else "icount-timer"
        timings.append(RegionTiming(region_id, region_name(region_id), region.calls, value, unit, source))
    return timings

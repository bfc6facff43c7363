"""Memory figures: flash and static RAM from the firmware ELF, the rest from the device (MEMORY)."""

from __future__ import annotations

from pathlib import Path

from elftools.elf.constants import SH_FLAGS
from elftools.elf.elffile import ELFFile

from ..link.client import Link

RUNTIME_REGIONS = (".stack", ".heap")  # reserved for run time, reported by the device instead


def firmware_memory(elf: Path) -> dict[str, int]:
    """Bytes of flash (code, constants, .data's initial image) and of static RAM (.data + .bss)."""
    figures = {"text_bytes": 0, "rodata_bytes": 0, "data_bytes": 0, "bss_bytes": 0}
    with elf.open("rb") as stream:
        for section in ELFFile(stream).iter_sections():
            flags, size = section["sh_flags"], section["sh_size"]
            if not flags & SH_FLAGS.SHF_ALLOC or section.name in RUNTIME_REGIONS or size == 0:
                continue
            if section["sh_type"] == "SHT_NOBITS":
                figures["bss_bytes"] += size
            elif flags & SH_FLAGS.SHF_WRITE:
                figures["data_bytes"] += size
            elif flags & SH_FLAGS.SHF_EXECINSTR or section.name in (".isr_vector", ".vectors"):
                figures["text_bytes"] += size
            else:
                figures["rodata_bytes"] += size
    figures["flash_bytes"] = figures["text_bytes"] + figures["rodata_bytes"] + figures["data_bytes"]
    figures["ram_static_bytes"] = figures["data_bytes"] + figures["bss_bytes"]
    return figures


def device_memory(link: Link, repaint_stack: bool = False) -> dict[str, int]:
    """Stack high-water mark and the buffers the engine and training reported (MEMORY)."""
    reply = link.call("MEMORY", repaint_stack=int(repaint_stack))
    return {key: reply[key] for key in ("stack_size", "stack_high_water", "arena_size", "arena_used", "training_bytes")}

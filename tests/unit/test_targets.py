"""Targets by capability: the registry, what each target declares, and the QEMU target owning
its flash model slot image (no QEMU started here: tests/device boot the real thing)."""

from pathlib import Path

import pytest

from harness.boards import EMULATORS, load_board
from harness.build import Firmware
from harness.dut import Dut
from harness.errors import BoardError, HarnessError
from harness.pytest_plugin import HilOptions, missing_capabilities
from harness.targets.base import CAPABILITY_TEXT, FLASH_AT_BOOT, FLASH_WITH_FLASHER, Target
from harness.targets.qemu import QemuTarget
from harness.targets.registry import TARGETS, capabilities, target_class


def test_the_registry_names_every_emulator_choice_and_each_is_a_target():
    assert tuple(TARGETS) == EMULATORS and "none" in TARGETS
    for name in TARGETS:
        cls = target_class(name)
        assert issubclass(cls, Target) and cls.name == name
    with pytest.raises(BoardError, match="unknown target .*'nosuch'"):
        target_class("nosuch")


def test_capabilities_are_declared_per_target_and_board():
    nucleo, uno = load_board("nucleo_f746"), load_board("uno")
    qemu, real = capabilities(nucleo, "qemu"), capabilities(nucleo, "none")
    assert qemu.emulated and qemu.preloads_model_slot and qemu.counts_instructions and qemu.can_reset
    assert not qemu.needs_claim and qemu.flash == FLASH_AT_BOOT
    assert real.needs_claim and real.flash == FLASH_WITH_FLASHER
    assert not (real.emulated or real.preloads_model_slot or real.counts_instructions)
    assert not capabilities(uno, "qemu").counts_instructions  # QEMU's AVR machine has no -icount
    renode = capabilities(nucleo, "renode")
    assert renode.emulated and not renode.preloads_model_slot
    with pytest.raises(ValueError, match="unknown target capability 'flies'"):
        qemu.has("flies")


def test_a_skip_reason_names_the_missing_capability_and_the_run():
    options = HilOptions(board="nucleo_f746", emulator="none", port=None, baud=None, probe=None, timeout=5.0)
    reason = missing_capabilities(options, ("emulated", "preloads_model_slot"), "why not")
    assert reason == (
        f"needs a target that {CAPABILITY_TEXT['emulated']} and "
        f"{CAPABILITY_TEXT['preloads_model_slot']} (why not); this run: --emulator=none on nucleo_f746"
    )
    qemu = HilOptions(board="nucleo_f746", emulator="qemu", port=None, baud=None, probe=None, timeout=5.0)
    assert missing_capabilities(qemu, ("counts_instructions", "can_reset")) is None


def test_a_slot_image_is_refused_before_anything_on_a_target_that_cannot_preload_it():
    # a real board: refused before its port is looked for (no board is attached here)
    with pytest.raises(HarnessError, match="--emulator=none cannot load the flash model slot at boot"):
        Dut.open("nucleo_f746", "none", slot_image=b"\0" * 16)


def _firmware(tmp_path: Path) -> Firmware:
    elf = tmp_path / "firmware.elf"
    return Firmware("nucleo_f746", "qemu", "nucleo_f746_qemu", elf, elf.with_suffix(".bin"), elf.with_suffix(".hex"))


def test_the_qemu_target_owns_its_slot_image_and_removes_it_when_stopped(tmp_path):
    board = load_board("nucleo_f746")
    target = QemuTarget(board, board.variant("qemu"), _firmware(tmp_path), slot_image=b"model")
    (loader,) = [arg for arg in target.command(1234) if arg.startswith("loader,")]
    slot_file = Path(loader.split("file=")[1].split(",")[0])
    assert slot_file.read_bytes() == b"model"
    assert f"addr=0x{board.variant('qemu').memory.model_slot.origin:x}" in loader
    target.stop()  # never started: only the work folder to remove
    assert not slot_file.exists() and not slot_file.parent.exists()


def test_a_slot_image_larger_than_the_slot_is_refused(tmp_path):
    board = load_board("nucleo_f746")
    size = board.variant("qemu").memory.model_slot.size
    with pytest.raises(HarnessError, match=f"slot image of {size + 1} bytes does not fit nucleo_f746's model slot"):
        QemuTarget(board, board.variant("qemu"), _firmware(tmp_path), slot_image=bytes(size + 1))


def test_a_socket_transport_closes_at_once_and_reconnects_to_the_same_url():
    import socket
    import time

    from harness.targets.transport import SerialTransport

    with socket.create_server(("127.0.0.1", 0)) as server:
        url = f"socket://127.0.0.1:{server.getsockname()[1]}"
        transport = SerialTransport(url)
        first, _ = server.accept()
        start = time.monotonic()
        transport.disconnect()
        assert time.monotonic() - start < 0.1  # pyserial's own close sleeps 0.3 s
        transport.reconnect()
        second, _ = server.accept()
        second.sendall(b"again")
        assert transport.read(2.0) == b"again"
        transport.close()
        first.close()
        second.close()

"""Bad --firmware / --firmware-project arguments: one line and exit 2, before any build or boot."""

from __future__ import annotations

import pytest

from harness.cli import main
from harness.shared_models import SHARED_MODELS

HELLO = SHARED_MODELS / "tflm_examples" / "hello_world_int8.tflite"
pytestmark = pytest.mark.skipif(not HELLO.exists(), reason="shared models not available")


def _one_error(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    (line,) = err.strip().splitlines()
    return line


def test_missing_elf(tmp_path, capsys):
    status = main(["run", "--board", "nucleo_f746", "--model", str(HELLO), "--firmware", str(tmp_path / "no.elf")])
    assert status == 2
    assert "no.elf: no such firmware ELF file" in _one_error(capsys)


def test_a_file_that_is_no_elf(tmp_path, capsys):
    fake = tmp_path / "app.elf"
    fake.write_bytes(b"MZ not an elf")
    assert main(["run", "--board", "nucleo_f746", "--model", str(HELLO), "--firmware", str(fake)]) == 2
    assert "app.elf: not an ELF file" in _one_error(capsys)


def test_project_without_platformio_ini(tmp_path, capsys):
    assert main(["run", "--board", "nucleo_f746", "--model", str(HELLO), "--firmware-project", str(tmp_path)]) == 2
    assert "not a PlatformIO project (no platformio.ini)" in _one_error(capsys)


def test_project_without_the_boards_environment(tmp_path, capsys):
    (tmp_path / "platformio.ini").write_text("[env:other]\nplatform = native\n")
    assert main(["run", "--board", "netduinoplus2", "--model", str(HELLO), "--firmware-project", str(tmp_path)]) == 2
    assert "no [env:netduinoplus2_qemu] environment" in _one_error(capsys)


def test_firmware_and_project_are_exclusive(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        main(
            [
                "run",
                "--board",
                "nucleo_f746",
                "--model",
                str(HELLO),
                "--firmware",
                "a.elf",
                "--firmware-project",
                str(tmp_path),
            ]
        )
    assert stop.value.code == 2

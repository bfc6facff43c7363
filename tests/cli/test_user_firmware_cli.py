"""Bad --firmware / --firmware-project arguments: one line and exit 2, before any build or boot."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import flatbuffers
import numpy as np
import pytest
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

from harness.cli import main
from harness.shared_models import SHARED_MODELS

REPO = Path(__file__).resolve().parents[2]
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
    assert "no.elf: cannot read firmware ELF file (No such file or directory)" in _one_error(capsys)


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


def _elf(elf_class: int = 1, kind: int = 2, machine: int = 40, shoff: int = 0, shnum: int = 0) -> bytes:
    """An ELF header (e_ident, then e_type, e_machine, ... e_shstrndx) with no tables behind it."""
    ident = b"\x7fELF" + bytes([elf_class, 1, 1]) + bytes(9)
    return ident + struct.pack("<HHIIIIIHHHHHH", kind, machine, 1, 0, 0, shoff, 0, 52, 32, 0, 40, shnum, 0)


def _make(kind: str, path):
    if kind == "directory":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "huge":
        with open(path, "wb") as sparse:
            sparse.write(_elf())
            sparse.truncate(300 * 1024 * 1024)
    else:
        path.write_bytes(
            {
                "cut short header": _elf()[:30],
                "64-bit": _elf(elf_class=2),
                "object file": _elf(kind=1),
                "x86": _elf(machine=3),
                "sections past the end": _elf(shoff=4096, shnum=3),
            }[kind]
        )
    return path


BAD_ELVES = {  # what is given as --firmware: what the one line says
    "directory": "cannot read firmware ELF file (it is a directory, not a regular file)",
    "fifo": "cannot read firmware ELF file (it is a FIFO, not a regular file)",  # opening it would hang
    "huge": "314572800 bytes is no microcontroller firmware ELF",
    "cut short header": "the ELF header is cut short (30 bytes), not a firmware for nucleo_f746 (arm)",
    "64-bit": "a 64-bit or big-endian ELF file",
    "object file": "an ELF file of type 1 (not an executable)",
    "x86": "an ELF file for machine 3 (want 40)",
    "sections past the end": "an ELF file that cannot be read",
}


@pytest.mark.parametrize("kind", BAD_ELVES)
@pytest.mark.parametrize("command", ["run", "bench", "mlperf"])
def test_a_firmware_that_is_no_firmware_elf_is_one_line(kind, command, tmp_path, capsys):
    """Refused before QEMU is given it: QEMU either fails with no reason the user sees, or boots
    garbage; the bench's ELF reader used to end in an ELFParseError traceback (exit 3)."""
    elf = _make(kind, tmp_path / "app.elf")
    extra = ["--protocol", "mlperf-tiny"] if command == "mlperf" else []
    model = SHARED_MODELS / "mlperf_tiny" / "kws_ref_model.tflite" if command == "mlperf" else HELLO
    verb = "bench" if command == "bench" else "run"
    assert main([verb, "--board", "nucleo_f746", "--model", str(model), "--firmware", str(elf), *extra]) == 2
    line = _one_error(capsys)
    assert f"{elf}: " in line and BAD_ELVES[kind] in line, line


def _without_outputs(tmp_path):
    fb = schema.ModelT.InitFromPackedBuf((SHARED_MODELS / "mlperf_tiny" / "kws_ref_model.tflite").read_bytes(), 0)
    fb.subgraphs[0].outputs = np.array([], np.int32)
    builder = flatbuffers.Builder(0)
    builder.Finish(fb.Pack(builder), file_identifier=b"TFL3")
    path = tmp_path / "no_outputs.tflite"
    path.write_bytes(bytes(builder.Output()))
    return path


@pytest.mark.parametrize(
    "args",
    [
        ["run", "--board", "nucleo_f746", "--firmware", "app.elf"],
        ["bench", "--board", "nucleo_f746", "--firmware", "app.elf"],
        ["run", "--protocol", "mlperf-tiny", "--port", "socket://127.0.0.1:9"],  # was an IndexError (exit 3)
    ],
)
def test_a_model_that_compares_nothing_is_refused_on_every_firmware(args, tmp_path, capsys):
    """As `hil pack` refuses it (docs/verdicts.md), before any ELF is read or port opened."""
    model = _without_outputs(tmp_path)
    assert main([*args, "--model", str(model)]) == 2
    assert f"{model}: the model has no outputs: a run would compare nothing" in _one_error(capsys)


def test_a_project_that_does_not_compile_is_one_line_naming_the_error(tmp_path, monkeypatch, capsys):
    """The build's output (dozens of lines) goes to a log; the line names the compiler's errors."""
    monkeypatch.setenv("HIL_BUILD_DIR", str(tmp_path / "cache"))
    project = tmp_path / "broken"
    (project / "src").mkdir(parents=True)
    (project / "platformio.ini").write_text(f"[env:nucleo_f746_qemu]\nplatform = symlink://{REPO}/firmware/platform\n")
    (project / "src" / "main.c").write_text("int main(void) { return this is not C; }\n")
    argv = ["run", "--board", "nucleo_f746", "--model", str(HELLO), "--firmware-project", str(project)]
    assert main(argv) == 2
    line = _one_error(capsys)
    assert f"build of {project} (nucleo_f746_qemu) failed: src/main.c:1:25: error: 'this' undeclared" in line, line
    log = Path(line.rsplit("full output in ", 1)[1].rstrip(")"))
    assert log.is_file() and "Compiling" in log.read_text()


def test_a_platformio_ini_that_is_not_text_is_one_line(tmp_path, capsys):
    (tmp_path / "platformio.ini").write_bytes(b"\xff\xfe[env:x]\n")
    assert main(["run", "--board", "nucleo_f746", "--model", str(HELLO), "--firmware-project", str(tmp_path)]) == 2
    assert "no [env:nucleo_f746_qemu] environment" in _one_error(capsys)

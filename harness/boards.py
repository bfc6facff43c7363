"""Board definitions: `boards/<name>.yaml`, loaded and validated.

Board files are looked up, first match wins, in: the user's project's folders (`boards/` beside
the pytest rootdir, `--boards-dir`, ini `hil_boards_dir`: added with `add_boards_dirs`; `boards/`
in the current directory), `$HIL_BOARDS_DIR` (os.pathsep-separated), then the built-in boards
shipped with the harness. A project board may so replace a built-in one of the same name.

A board file describes the real board (MCU, core, memory, serial link, how to flash it), what
the harness firmware has on it (`firmware:`: services, the engine's op set and pool; default:
everything) and the ways it can be emulated. `Board.variant(emulator)` resolves one of them into
what a build and a target need: the PlatformIO environment, the HAL, the memory map and the timer.
The emulators are the targets of harness/targets/registry.py.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, overload

import yaml

from .errors import BoardError
from .resources import builtin_boards_dir
from .targets.registry import REAL_BOARD, TARGET_NAMES

EMULATORS = TARGET_NAMES  # --emulator values: "none" (a real board) and the emulated targets
SERVICES = ("engine", "metrics", "training")  # firmware/src/<name>/ beside the always-built link
OP_SETS = ("full", "minimal")  # the engine's operators; minimal: ENGINE_OPS_MINIMAL (engine.h)
_SIZE = re.compile(r"^\s*(\d+)\s*([KM]?)B?\s*$", re.IGNORECASE)


_project_boards_dirs: list[Path] = []


def add_boards_dirs(directories: list[Path]) -> None:
    """Searches these folders (a project's own boards) before the others, earliest first."""
    for directory in reversed(directories):
        if directory not in _project_boards_dirs:
            _project_boards_dirs.insert(0, directory)


def boards_dirs() -> list[Path]:
    """The folders searched for board files, in order (see the module's docstring)."""
    env = [Path(p) for p in os.environ.get("HIL_BOARDS_DIR", "").split(os.pathsep) if p]
    folders, seen = [], set()
    for folder in [*_project_boards_dirs, Path.cwd() / "boards", *env, builtin_boards_dir()]:
        key = folder.resolve()
        if key not in seen and folder.is_dir():
            seen.add(key)
            folders.append(folder)
    return folders


def parse_size(value: Any) -> int:
    """`320K`, `1M`, `4096` or an int -> bytes."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    match = _SIZE.match(str(value))
    if not match:
        raise ValueError(f"expected a size like 320K, 1M or 4096, got {value!r}")
    number, unit = int(match.group(1)), match.group(2).upper()
    return number * {"": 1, "K": 1024, "M": 1024 * 1024}[unit]


@dataclass(frozen=True)
class Region:
    origin: int
    size: int

    @property
    def end(self) -> int:
        return self.origin + self.size


@dataclass(frozen=True)
class MemoryMap:
    flash: Region
    sram: Region
    model_slot: Region  # absolute address range inside flash

    @property
    def firmware_flash(self) -> Region:
        """The part of flash left to the firmware image, below the model slot."""
        return Region(self.flash.origin, self.model_slot.origin - self.flash.origin)


@dataclass(frozen=True)
class Timer:
    kind: str  # "cycles" or "instructions"
    source: str
    units_per_tick: int


@dataclass(frozen=True)
class FirmwareFeatures:
    """What the harness firmware has on a board (the board file's `firmware:`)."""

    left_out: dict[str, str] = field(default_factory=dict)  # service -> why it is not built
    op_set: str = "full"
    op_set_note: str | None = None  # what a reduced op set still runs (shown when tests skip)
    engine_pool: int | None = None  # ENGINE_POOL_SIZE; None: the SRAM the firmware leaves
    terse_errors: bool = False  # ENGINE_TERSE_ERRORS: error codes without their texts
    fault_report: bool = True  # a hard fault is reported with its registers (SELFTEST_FAULT)

    @property
    def services(self) -> tuple[str, ...]:
        return tuple(name for name in SERVICES if name not in self.left_out)

    def has(self, service: str) -> bool:
        return service in self.services

    def limited(self) -> dict[str, str]:
        """Services built with a reduced feature set, with what remains."""
        return {"engine": self.op_set_note or f"op set {self.op_set}"} if self.op_set != "full" else {}


@dataclass(frozen=True)
class Variant:
    """One way to run a board: on the real hardware or in one emulator."""

    board: str
    emulator: str  # "none" for real hardware
    pio_env: str
    hal: str
    memory: MemoryMap
    timer: Timer
    clock_hz: int
    machine: str | None = None
    stand_in: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Board:
    name: str
    title: str
    mcu: str
    arch: str
    core: str
    fpu: str | None
    clock_hz: int
    memory: MemoryMap
    timer: Timer
    baud: int
    uart: str
    usb_vid: int | None
    usb_pid: int | None
    upload_tool: str | None
    upload_command: str | None
    upload_probe_option: str | None
    upload_model_command: str | None  # writes the packed model into the flash model slot
    variants: dict[str, Variant]
    path: Path
    link_max_payload: int | None = None  # the link's buffer sizes, when the firmware's defaults
    link_max_message: int | None = None  # (LINK_MAX_PAYLOAD/MESSAGE in link.h) do not fit the RAM
    firmware: FirmwareFeatures = field(default_factory=FirmwareFeatures)

    def variant(self, emulator: str) -> Variant:
        if emulator not in self.variants:
            known = ", ".join(sorted(self.variants))
            raise BoardError(f"board {self.name} cannot run with --emulator={emulator}; it supports: {known}")
        return self.variants[emulator]

    @property
    def emulators(self) -> list[str]:
        return [name for name in self.variants if name != REAL_BOARD]


class _Reader:
    """Reads fields from a board file's mapping, naming the field in every error."""

    def __init__(self, path: Path, data: Any, prefix: str = ""):
        if not isinstance(data, dict):
            raise BoardError(f"{path}: {prefix or 'the file'} must be a mapping")
        self.path, self.data, self.prefix = path, data, prefix

    def _name(self, key: str) -> str:
        return f"{self.prefix}.{key}" if self.prefix else key

    def fail(self, key: str, problem: str) -> BoardError:
        return BoardError(f"{self.path}: field '{self._name(key)}': {problem}")

    def has(self, key: str) -> bool:
        return self.data.get(key) is not None

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
        if key not in self.data or self.data[key] is None:
            if default is ...:
                raise self.fail(key, "missing")
            return default
        value = self.data[key]
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
            names = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
            raise self.fail(key, f"expected {names}, got {value!r}")
        return value

    def size(self, key: str) -> int:
        try:
            return parse_size(self.get(key, (int, str)))
        except ValueError as exc:
            raise self.fail(key, str(exc)) from None

    @overload
    def sub(self, key: str) -> _Reader: ...
    @overload
    def sub(self, key: str, default: None) -> _Reader | None: ...

    def sub(self, key: str, default: Any = ...) -> _Reader | None:
        """The mapping under `key` as a reader; without a default a missing one is an error."""
        value = self.get(key, dict, default)
        return None if value is None else _Reader(self.path, value, self._name(key))


def _read_memory(reader: _Reader) -> MemoryMap:
    flash, sram, slot = reader.sub("flash"), reader.sub("sram"), reader.sub("model_slot")
    flash_region = Region(flash.get("origin", int), flash.size("size"))
    slot_region = Region(flash_region.origin + slot.get("offset", int), slot.size("size"))
    if slot_region.end > flash_region.end:
        raise reader.fail("model_slot", "does not fit inside flash")
    return MemoryMap(flash_region, Region(sram.get("origin", int), sram.size("size")), slot_region)


def _read_timer(reader: _Reader) -> Timer:
    kind = reader.get("kind", str)
    if kind not in ("cycles", "instructions"):
        raise reader.fail("kind", f"expected 'cycles' or 'instructions', got {kind!r}")
    return Timer(kind, reader.get("source", str), reader.get("units_per_tick", int))


def _read_firmware(reader: _Reader | None) -> FirmwareFeatures:
    if reader is None:
        return FirmwareFeatures()
    left_out = reader.sub("left_out", None) or _Reader(reader.path, {}, reader._name("left_out"))
    reasons = {}
    for service in left_out.data:
        if service not in SERVICES:
            raise left_out.fail(service, f"unknown service; expected one of {', '.join(SERVICES)}")
        reasons[service] = left_out.get(service, str)
    engine = reader.sub("engine", None) or _Reader(reader.path, {}, reader._name("engine"))
    op_set = engine.get("op_set", str, "full")
    if op_set not in OP_SETS:
        raise engine.fail("op_set", f"expected one of {', '.join(OP_SETS)}, got {op_set!r}")
    return FirmwareFeatures(
        left_out=reasons,
        op_set=op_set,
        op_set_note=engine.get("op_set_note", str, None),
        engine_pool=engine.size("pool") if engine.has("pool") else None,
        terse_errors=engine.get("terse_errors", bool, False),
        fault_report=reader.get("fault_report", bool, True),
    )


def _read_board(path: Path) -> Board:
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise BoardError(f"{path}: not valid YAML: {exc}") from None
    top = _Reader(path, data)
    name = top.get("name", str)
    if name != path.stem:
        raise top.fail("name", f"is {name!r} but the file is {path.name}; they must agree")
    arch = top.get("arch", str)
    if arch not in ("arm", "avr"):
        raise top.fail("arch", f"expected 'arm' or 'avr', got {arch!r}")
    memory = _read_memory(top.sub("memory"))
    timer = _read_timer(top.sub("timer"))
    serial, build, upload = top.sub("serial"), top.sub("build"), top.sub("upload", None)
    usb = serial.sub("usb", None)
    link = top.sub("link", None)
    firmware = _read_firmware(top.sub("firmware", None))

    clock_hz = top.get("clock_hz", int)
    variants = {
        REAL_BOARD: Variant(name, REAL_BOARD, build.get("pio_env", str), build.get("hal", str), memory, timer, clock_hz)
    }
    emulators = top.sub("emulators", None) or _Reader(path, {}, "emulators")
    for emulator in emulators.data:
        if emulator not in EMULATORS or emulator == REAL_BOARD:
            known = tuple(name for name in EMULATORS if name != REAL_BOARD)
            raise emulators.fail(emulator, f"unknown emulator; expected one of {known}")
        emu = emulators.sub(emulator)
        variants[emulator] = Variant(
            board=name,
            emulator=emulator,
            pio_env=emu.get("pio_env", str, build.get("pio_env", str)),
            hal=emu.get("hal", str, build.get("hal", str)),
            memory=_read_memory(emu.sub("memory")) if emu.has("memory") else memory,
            timer=_read_timer(emu.sub("timer")) if emu.has("timer") else timer,
            clock_hz=emu.get("clock_hz", int, clock_hz),
            machine=emu.get("machine", str, None),
            stand_in=emu.get("stand_in", str, None),
            extra={k: v for k, v in emu.data.items() if k not in _VARIANT_KEYS},
        )

    return Board(
        name=name,
        title=top.get("title", str),
        mcu=top.get("mcu", str),
        arch=arch,
        core=top.get("core", str),
        fpu=top.get("fpu", str, None),
        clock_hz=clock_hz,
        memory=memory,
        timer=timer,
        baud=serial.get("baud", int),
        uart=serial.get("uart", str),
        usb_vid=usb.get("vid", int) if usb else None,
        usb_pid=usb.get("pid", int) if usb else None,
        upload_tool=upload.get("tool", str, None) if upload else None,
        upload_command=upload.get("command", str, None) if upload else None,
        upload_probe_option=upload.get("probe_option", str, None) if upload else None,
        upload_model_command=upload.get("model_command", str, None) if upload else None,
        variants=variants,
        path=path,
        link_max_payload=link.get("max_payload", int, None) if link else None,
        link_max_message=link.get("max_message", int, None) if link else None,
        firmware=firmware,
    )


_VARIANT_KEYS = {"pio_env", "hal", "memory", "timer", "clock_hz", "machine", "stand_in"}


def _search(directory: Path | None) -> list[Path]:
    return [directory] if directory else boards_dirs()


def known_boards(directory: Path | None = None) -> list[str]:
    return sorted({p.stem for folder in _search(directory) for p in folder.glob("*.yaml")})


def board_file(name: str, directory: Path | None = None) -> Path | None:
    """The board file `name` resolves to (the first folder holding it), or None."""
    if not re.fullmatch(r"[A-Za-z0-9_\-]+", name):
        return None
    return next((f / f"{name}.yaml" for f in _search(directory) if (f / f"{name}.yaml").is_file()), None)


def load_board(name: str, directory: Path | None = None) -> Board:
    path = board_file(name, directory)
    if path is None:
        known = ", ".join(known_boards(directory)) or "(none)"
        raise BoardError(f"unknown board {name!r}; known boards: {known}")
    return _read_board(path)


def load_board_file(path: str | Path) -> Board:
    """A board from its file, wherever it is (the firmware build is told which file to read)."""
    path = Path(path)
    if not path.is_file():
        raise BoardError(f"board file {path} does not exist")
    return _read_board(path)


def load_all_boards(directory: Path | None = None) -> list[Board]:
    return [load_board(name, directory) for name in known_boards(directory)]

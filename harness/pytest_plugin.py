"""pytest plugin (entry point `pytest11`): `pytest --board=nucleo_f746 [--emulator=qemu]`.

Fixtures:
  dut          session-scoped: builds (incrementally), boots or reaches the board, shakes hands
               (`hil_dut` is the same, a name no other plugin uses; with a board named, `dut`
               is the harness's even where pytest-embedded, which has a `dut` too, is installed).
  fresh_dut    a new emulated instance for a test that stops or breaks the firmware.
  hil_options  the resolved options (board, emulator, port, ...).
Markers:
  @pytest.mark.boards("nucleo_f746", ...)   run the test only on these boards.
  @pytest.mark.requires("counts_instructions", ...)   run the test only on a target with these
      capabilities (harness/targets/base.py; `hil_options.require(...)` inside a fixture or test).
More fixtures come from the modules in `pytest_plugins` (run_model, measured_dut, ...).
Defaults come from the ini file (`hil_board`, `hil_emulator`), so a project can make plain
`pytest` run on its usual board. Options other pytest plugins also define (pytest-embedded's
`--port`, `--baud`) are spelled `--hil-port`, `--hil-baud`, so both plugins install side by side.

The project is the pytest rootdir: its `boards/` folder (and `--boards-dir`, ini
`hil_boards_dir`) add board files to the built-in ones, and baselines default to its
`baselines/`. Every test that touched a device records board, emulator and firmware build id as
properties of its own JUnit test case (harness/pytest_junit.py), and the suite properties too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

from .boards import EMULATORS, add_boards_dirs, load_board
from .commands import positive_int, positive_seconds
from .dut import Dut
from .errors import HarnessError, NoBoardFound
from .progress import Progress
from .resources import set_project_dir
from .shutdown import install_stop_handlers, restore_handlers
from .targets.base import CAPABILITY_TEXT, Capabilities
from .targets.registry import REAL_BOARD, TARGET_NAMES, capabilities, target_class

T = TypeVar("T")
_STOP_HANDLERS = pytest.StashKey[dict]()

# The services' fixtures and options, each in its own module.
pytest_plugins = [
    "harness.pytest_boards",
    "harness.pytest_farm",
    "harness.pytest_junit",  # before the modules that import it (assertion rewriting)
    "harness.pytest_inference",
    "harness.pytest_metrics",
    "harness.pytest_training",
]


@dataclass(frozen=True)
class HilOptions:
    board: str | None
    emulator: str
    port: str | None
    baud: int | None
    probe: str | None
    timeout: float
    lock_timeout: float | None = None  # these three: harness.pytest_farm's options
    place: str | None = None
    coordinator: str | None = None

    def require_board(self) -> str:
        if not self.board:
            raise HarnessError("no board chosen: run pytest --board=NAME (see `hil boards`)")
        return self.board

    def capabilities(self) -> Capabilities:
        """What the target under test can do for the board under test."""
        return capabilities(load_board(self.require_board()), REAL_BOARD if self.place else self.emulator)

    def require(self, *names: str, why: str = "") -> None:
        """Skips the calling test unless the target under test has every capability named."""
        reason = missing_capabilities(self, names, why)
        if reason:
            pytest.skip(reason)

    def open_dut(self, **overrides: Any) -> Dut:
        """Dut.open with these options; `overrides` (timeout, extra_flags...) replace or add."""
        options = dict(
            port=self.port,
            baud=self.baud,
            probe_serial=self.probe,
            timeout=self.timeout,
            progress=Progress(),
            lock_timeout=self.lock_timeout,
            place=self.place,
            coordinator=self.coordinator,
        )
        return Dut.open(self.require_board(), self.emulator, **{**options, **overrides})


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("hil", "hardware-in-the-loop")
    group.addoption("--board", help="board to test on (default: ini option hil_board)")
    group.addoption(
        "--emulator",
        choices=EMULATORS,
        help="qemu/renode, or none for a real board (default: ini option hil_emulator, else none)",
    )
    group.addoption("--hil-port", help="serial port or pyserial URL of a real board (default: found by USB ID)")
    group.addoption("--hil-baud", type=positive_int, help="baud rate of a real board (default: the board file's)")
    group.addoption("--probe", help="serial number of the debug probe, when several boards are attached")
    group.addoption(
        "--hil-timeout",
        type=positive_seconds,
        default=5.0,
        help="seconds to wait for each reply (default 5); INVOKE waits at least this long",
    )
    group.addoption(
        "--boards-dir",
        action="append",
        default=[],
        type=Path,
        metavar="DIR",
        help="more board files, searched before the built-in ones (repeatable; "
        "default: boards/ beside the rootdir, and ini option hil_boards_dir)",
    )
    group.addoption(
        "--hil-firmware",
        metavar="ELF",
        help="run_model on a firmware of your own with its model compiled in (docs/byo_firmware.md)",
    )
    group.addoption(
        "--hil-firmware-project",
        metavar="DIR",
        help="run_model on your PlatformIO project, built for the board with each model",
    )
    parser.addini("hil_board", "default board for --board")
    parser.addini("hil_emulator", "default for --emulator", default="none")
    parser.addini(
        "hil_boards_dir", "folder(s) of the project's board files, relative to the ini file", type="paths", default=[]
    )


def missing_capabilities(options: HilOptions, names: tuple[str, ...], why: str = "") -> str | None:
    """The skip reason when the target under test lacks one of `names`, else None."""
    can = options.capabilities()
    lacking = [name for name in names if not can.has(name)]
    if not lacking:
        return None
    target = f"--emulator={REAL_BOARD if options.place else options.emulator}"
    return (
        f"needs a target that {' and '.join(CAPABILITY_TEXT[name] for name in lacking)}"
        f"{f' ({why})' if why else ''}; this run: {target} on {options.board}"
    )


@pytest.hookimpl(trylast=True)  # last, so that harness.pytest_dut is the last plugin registered
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "boards(*names): run the test only on these boards")
    config.addinivalue_line(
        "markers",
        "requires(*capabilities): run the test only on a target with these capabilities (harness/targets/base.py)",
    )
    set_project_dir(config.rootpath)
    add_boards_dirs(project_boards_dirs(config))
    board = _options(config).board
    if board:
        try:
            load_board(board)
        except HarnessError as exc:  # an unknown board is a usage error, said once
            raise pytest.UsageError(str(exc)) from None
        config.pluginmanager.import_plugin("harness.pytest_dut")  # `dut` is the harness's even beside pytest-embedded's
    # SIGTERM/SIGHUP (a cancelled CI job, a closed terminal) end the session as Ctrl-C does:
    # fixtures are torn down, so QEMU and the reference workers stop.
    config.stash[_STOP_HANDLERS] = install_stop_handlers()


def pytest_unconfigure(config: pytest.Config) -> None:
    restore_handlers(config.stash.get(_STOP_HANDLERS, {}))


def project_boards_dirs(config: pytest.Config) -> list[Path]:
    """The project's board folders, first searched first: --boards-dir, hil_boards_dir, boards/."""
    given = [
        path if path.is_absolute() else config.invocation_params.dir / path for path in config.getoption("boards_dir")
    ]
    return [*given, *config.getini("hil_boards_dir"), config.rootpath / "boards"]


def _options(config: pytest.Config) -> HilOptions:
    return HilOptions(
        board=config.getoption("board") or config.getini("hil_board") or None,
        emulator=config.getoption("emulator") or config.getini("hil_emulator") or "none",
        port=config.getoption("hil_port"),
        baud=config.getoption("hil_baud"),
        probe=config.getoption("probe"),
        timeout=config.getoption("hil_timeout"),
        lock_timeout=config.getoption("lock_timeout", None),
        place=config.getoption("lg_place", None),
        coordinator=config.getoption("lg_coordinator", None),
    )


def pytest_report_header(config: pytest.Config) -> str:
    options = _options(config)
    return f"hil: board={options.board} emulator={options.emulator}" + (f" port={options.port}" if options.port else "")


def pytest_runtest_setup(item: pytest.Item) -> None:
    marker = item.get_closest_marker("boards")
    if marker:
        board = _options(item.config).board
        if board not in marker.args:
            pytest.skip(f"only for boards {', '.join(marker.args)} (this run: {board})")
    needed = tuple(name for mark in item.iter_markers("requires") for name in mark.args)
    if needed:
        options = _options(item.config)
        reason = missing_capabilities(options, needed) if options.board else "no board chosen (--board)"
        if reason:
            pytest.skip(reason)


@pytest.fixture(scope="session")
def hil_options(pytestconfig: pytest.Config) -> HilOptions:
    """The resolved options. Every device fixture depends on it, so a test that needs an emulator
    this machine lacks (Renode is optional) is skipped with the reason instead of erroring."""
    options = _options(pytestconfig)
    missing = target_class(options.emulator).missing_optional_tool() if options.emulator in TARGET_NAMES else None
    if missing:
        pytest.skip(missing)
    return options


NO_BOARD_EXIT_STATUS = 2  # as `hil`: the run could not be made


def open_or_fail(open_device: Callable[[], T]) -> T:
    """Opens a device for a fixture; a harness error fails the tests that need it, in one line.
    No board attached ends the whole session at once: every other device test would only
    look for the same board again."""
    try:
        return open_device()
    except HarnessError as exc:
        error = exc
    # raised outside the except block, so pytest shows no "During handling of ..." chain
    if isinstance(error, NoBoardFound):
        pytest.exit(str(error), returncode=NO_BOARD_EXIT_STATUS)
    pytest.fail(str(error), pytrace=False)


@pytest.fixture(scope="session")
def hil_dut(hil_options: HilOptions, record_testsuite_property: Callable[[str, object], None]) -> Iterator[Dut]:
    """The session's device; `dut` is the same (see harness/pytest_dut.py), `hil_dut` a name no other plugin has."""
    device = open_or_fail(hil_options.open_dut)
    record_testsuite_property("hil_board", device.board.name)
    record_testsuite_property("hil_emulator", device.variant.emulator)
    record_testsuite_property("hil_firmware_build_id", device.info.build_id if device.info else "")
    yield device
    device.close()


@pytest.fixture(scope="session")
def dut(hil_dut: Dut) -> Dut:
    """Session-scoped: built, booted or reached, and handshaken once."""
    return hil_dut


@pytest.fixture
def fresh_dut(hil_options: HilOptions) -> Iterator[Dut]:
    """A new emulated instance, for tests that stop or break the firmware."""
    hil_options.require("emulated", why="the test stops the firmware")
    device = open_or_fail(hil_options.open_dut)
    yield device
    device.close()

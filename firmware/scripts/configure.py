"""PlatformIO `pre:` script: configures one environment from its board file.

Each environment in platformio.ini names a board (`custom_board`) and how it runs
(`custom_emulator`: none, qemu or renode). This script reads boards/<board>.yaml (or the file
`custom_board_file` names: a board of the user's project) through the harness's own loader, so
the firmware and the host agree on every number, and sets: compiler flags for the core, the HAL
sources, the linker script with the board's memory limits (memory.ld), and the board facts the
firmware reports in its handshake, among them the build id.

The harness builds in a project it generates in its build cache (harness/build.py), which names
the firmware folder in `custom_firmware_dir`; `pio run -d firmware` builds this folder directly.
"""

import datetime
import hashlib
import os
import subprocess
import sys

Import("env")  # noqa: F821  (SCons injects it)

PROJECT_DIR = env.subst("$PROJECT_DIR")  # noqa: F821
FIRMWARE_DIR = env.GetProjectOption("custom_firmware_dir", PROJECT_DIR)  # noqa: F821
REPO_ROOT = os.path.dirname(FIRMWARE_DIR)
if os.path.isdir(os.path.join(REPO_ROOT, "harness")):  # a checkout: its own harness, not an installed one
    sys.path.insert(0, REPO_ROOT)

from harness import __version__  # noqa: E402
from harness.boards import load_board, load_board_file  # noqa: E402
from harness.build_config import firmware_config  # noqa: E402

BOARD_FILE = env.GetProjectOption("custom_board_file", "")  # noqa: F821
board = load_board_file(BOARD_FILE) if BOARD_FILE else load_board(env.GetProjectOption("custom_board"))  # noqa: F821
emulator = env.GetProjectOption("custom_emulator", "none")  # noqa: F821
FLAGS_DIGEST = env.GetProjectOption("custom_flags_digest", "")  # noqa: F821


def _source_digest() -> str:
    """Hash of everything that shapes the image, so an unchanged tree keeps its build id."""
    digest = hashlib.sha256()
    for top in ("src", "include", "sdk", "ld", "scripts"):
        for folder, _, files in sorted(os.walk(os.path.join(FIRMWARE_DIR, top))):
            for name in sorted(files):
                with open(os.path.join(folder, name), "rb") as source:
                    digest.update(name.encode() + source.read())
    with open(board.path, "rb") as board_file:
        digest.update(board_file.read())
    return digest.hexdigest()


def _version() -> str:
    """The checkout's commit (`git describe`), or the installed harness's version."""
    if not os.path.exists(os.path.join(REPO_ROOT, ".git")):  # site-packages: never an enclosing repo
        return f"v{__version__}"
    try:
        return subprocess.run(
            ["git", "describe", "--always", "--dirty", "--abbrev=12"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return f"v{__version__}"


def build_id(build_dir: str) -> str:
    """`<commit or version>[+f<flags digest>] <UTC time of the first build of these sources>`:
    a variant built with extra flags (harness.build's `extra_flags`) names their digest."""
    stamp_path = os.path.join(build_dir, "build_id.txt")
    digest = _source_digest()
    if os.path.exists(stamp_path):
        with open(stamp_path) as stamp_file:
            saved_digest, _, saved_id = stamp_file.read().partition(" ")
        if saved_digest == digest:
            return saved_id
    commit = _version() + (f"+f{FLAGS_DIGEST}" if FLAGS_DIGEST else "")
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    new_id = f"{commit} {when}"
    with open(stamp_path, "w") as stamp_file:
        stamp_file.write(f"{digest} {new_id}")
    return new_id


build_dir = env.subst("$BUILD_DIR")  # noqa: F821
os.makedirs(build_dir, exist_ok=True)
config = firmware_config(board, emulator, build_id=os.environ.get("HIL_BUILD_ID") or build_id(build_dir))
with open(os.path.join(build_dir, "memory.ld"), "w") as memory_ld:
    memory_ld.write(config.memory_ld)

env.Append(  # noqa: F821
    CCFLAGS=config.cpu_flags + config.common_flags,
    ASFLAGS=config.cpu_flags,
    LINKFLAGS=config.cpu_flags + config.link_flags + ["-L" + build_dir],
    CPPDEFINES=list(config.defines.items()),
    CPPPATH=[os.path.join(FIRMWARE_DIR, "include"), os.path.join(FIRMWARE_DIR, "sdk", "include")],
)
# The device SDK (link, dispatch, services' registration) is built into this firmware from its
# one copy in sdk/, the same sources a user's firmware takes as a library (docs/byo_firmware.md).
env.BuildSources(os.path.join("$BUILD_DIR", "sdk"), os.path.join(FIRMWARE_DIR, "sdk", "src"))  # noqa: F821
env.Replace(SRC_FILTER=config.src_filter)  # noqa: F821
if config.ldscript:  # AVR links with avr-gcc's own script
    env.Replace(LDSCRIPT_PATH=os.path.join(FIRMWARE_DIR, config.ldscript))  # noqa: F821

# The inference kernels run at the speed that matters and take a few KB: they build at -O2
# (fastest here, measured: docs/kernels.md), everything else stays at -Os for size.
KERNEL_OPTIMIZATION = "-O2"


def _optimize_kernels(node):
    """Build middleware: kernel sources get KERNEL_OPTIMIZATION after the global -Os."""
    return env.Object(node, CCFLAGS=env["CCFLAGS"] + [KERNEL_OPTIMIZATION])  # noqa: F821


env.AddBuildMiddleware(_optimize_kernels, "*/kernels/*")  # noqa: F821

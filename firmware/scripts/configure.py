"""PlatformIO `pre:` script: configures one environment from its board file.

Each environment in platformio.ini names a board (`custom_board`) and how it runs
(`custom_emulator`: none, qemu or renode). This script reads boards/<board>.yaml through the
harness's own loader, so the firmware and the host agree on every number, and sets:
compiler flags for the core, the HAL sources, the linker script with the board's memory
limits (memory.ld), and the board facts the firmware reports in its handshake.
"""
import datetime
import hashlib
import os
import subprocess
import sys

Import("env")  # noqa: F821  (SCons injects it)

PROJECT_DIR = env.subst("$PROJECT_DIR")  # noqa: F821
REPO_ROOT = os.path.dirname(PROJECT_DIR)
sys.path.insert(0, REPO_ROOT)

from harness.boards import load_board  # noqa: E402
from harness.build_config import firmware_config  # noqa: E402

board = load_board(env.GetProjectOption("custom_board"))  # noqa: F821
emulator = env.GetProjectOption("custom_emulator", "none")  # noqa: F821


def _source_digest() -> str:
    """Hash of everything that shapes the image, so an unchanged tree keeps its build id."""
    digest = hashlib.sha256()
    for top in ("src", "include", "ld", "scripts"):
        for folder, _, files in sorted(os.walk(os.path.join(PROJECT_DIR, top))):
            for name in sorted(files):
                with open(os.path.join(folder, name), "rb") as source:
                    digest.update(name.encode() + source.read())
    with open(board.path, "rb") as board_file:
        digest.update(board_file.read())
    return digest.hexdigest()


def build_id(build_dir: str) -> str:
    """`<git commit>[-dirty] <UTC time of the first build of these sources>`."""
    stamp_path = os.path.join(build_dir, "build_id.txt")
    digest = _source_digest()
    if os.path.exists(stamp_path):
        with open(stamp_path) as stamp_file:
            saved_digest, _, saved_id = stamp_file.read().partition(" ")
        if saved_digest == digest:
            return saved_id
    try:
        commit = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--abbrev=12"],
            cwd=REPO_ROOT, capture_output=True, text=True, check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "nogit"
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
    CPPPATH=[os.path.join(PROJECT_DIR, "include")],
)
env.Replace(SRC_FILTER=config.src_filter)  # noqa: F821
if config.ldscript:  # AVR links with avr-gcc's own script
    env.Replace(LDSCRIPT_PATH=os.path.join(PROJECT_DIR, config.ldscript))  # noqa: F821

# The inference kernels run at the speed that matters and take a few KB: they build at -O2
# (fastest here, measured: docs/kernels.md), everything else stays at -Os for size.
KERNEL_OPTIMIZATION = "-O2"


def _optimize_kernels(node):
    """Build middleware: kernel sources get KERNEL_OPTIMIZATION after the global -Os."""
    return env.Object(node, CCFLAGS=env["CCFLAGS"] + [KERNEL_OPTIMIZATION])  # noqa: F821


env.AddBuildMiddleware(_optimize_kernels, "*/kernels/*")  # noqa: F821

"""PlatformIO `pre:` script: the board support package and the inference engine this example uses.

A real application has its vendor's startup code, clocks and UART driver; this example borrows the
harness's for the boards it emulates (firmware/src/hal: startup, UART, timer) together with the
compiler flags, memory map and linker script of the board file, from harness.build_config. It also
builds the harness's inference engine (firmware/src/engine, firmware/src/kernels) as the
"third-party" runtime the adapter in src/engine_adapter.c drives, the way a TFLM application
builds tflite-micro. Neither is part of the device SDK, which comes in through lib_deps.
"""

import os
import sys

Import("env")  # noqa: F821  (SCons injects it)

PROJECT_DIR = env.subst("$PROJECT_DIR")  # noqa: F821
sys.path.insert(0, os.path.join(PROJECT_DIR, "scripts"))
from harness_path import add_harness  # noqa: E402

add_harness(PROJECT_DIR)
from harness.boards import load_board  # noqa: E402
from harness.build_config import firmware_config  # noqa: E402
from harness.resources import firmware_dir  # noqa: E402

FIRMWARE = str(firmware_dir())
board = load_board(env.GetProjectOption("custom_board"))  # noqa: F821
emulator = env.GetProjectOption("custom_emulator", "none")  # noqa: F821
variant = board.variant(emulator)
config = firmware_config(board, emulator, build_id=os.environ.get("HIL_BUILD_ID", "user_firmware example"))

build_dir = env.subst("$BUILD_DIR")  # noqa: F821
os.makedirs(build_dir, exist_ok=True)
with open(os.path.join(build_dir, "memory.ld"), "w") as memory_ld:
    memory_ld.write(config.memory_ld)

env.Append(  # noqa: F821
    CCFLAGS=config.cpu_flags + config.common_flags,
    ASFLAGS=config.cpu_flags,
    LINKFLAGS=config.cpu_flags + config.link_flags + ["-L" + build_dir],
    # the board facts HELLO reports; the engine without the harness's metrics service
    CPPDEFINES=list(config.defines.items()) + [("HIL_HAVE_METRICS", 0)],
    # the borrowed startup code reports hard faults through the SDK's link (FAULT frames)
    CPPPATH=[
        os.path.join(FIRMWARE, "src"),
        os.path.join(FIRMWARE, "include"),
        os.path.join(FIRMWARE, "sdk", "include"),
    ],
)
env.Replace(LDSCRIPT_PATH=os.path.join(FIRMWARE, config.ldscript))  # noqa: F821

# Board support: Cortex-M startup (calls app_main() in src/main.c) and the board's UART/timer.
env.BuildSources(  # noqa: F821
    os.path.join("$BUILD_DIR", "board_support"),
    os.path.join(FIRMWARE, "src", "hal"),
    src_filter=["-<*>", "+<cortexm/>", f"+<{variant.hal}/>", "+<millis.c>"],
)
# The inference engine and its kernels, as a runtime library (its link service is not used).
env.BuildSources(  # noqa: F821
    os.path.join("$BUILD_DIR", "engine"),
    os.path.join(FIRMWARE, "src"),
    src_filter=["-<*>", "+<engine/engine.c>", "+<engine/engine_runner.c>", "+<engine/ops.c>", "+<kernels/>"],
)

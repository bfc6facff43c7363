"""The harness firmware built as an MLPerf Tiny responder (firmware/src/mlperf)."""

from __future__ import annotations

from .. import build as firmware_build
from ..boards import Board
from ..progress import Progress

# HIL_MLPERF_TINY builds the responder; --wrap=app_main makes the startup code enter it instead of
# the link's request loop; the engine service's pool shrinks to a token, its SRAM going to the
# responder's pool (firmware/src/mlperf/mlperf.c).
MLPERF_FLAGS = ["-DHIL_MLPERF_TINY=1", "-DENGINE_POOL_SIZE=16u", "-Wl,--wrap=app_main"]


def build_responder(board: Board, emulator: str, progress: Progress | None = None) -> firmware_build.Firmware:
    """Our firmware in its MLPerf Tiny mode (it announces m-model-[kws01]; its input bytes are the
    int8 tensor's, as kws01 and ad01 runners send them)."""
    return firmware_build.build(board, emulator, progress, MLPERF_FLAGS)

"""pytest hooks for what a board's firmware leaves out (registered in harness/pytest_plugin.py).

Some boards build without a service, or with a reduced one (the Uno has no metrics or training,
and an engine with a minimal op set that runs models from its flash slot: its board file's
`firmware:` section, docs/targets.md). Tests of that service are then skipped with
the reason, rather than failing on UNKNOWN_TYPE or a missing operator; a board's reduced service
has its own tests (tests/device/test_uno_inference.py). A test names the service it needs with
`@pytest.mark.needs_service("engine")` (or a module-level `pytestmark`); test modules named
`test_inference*` and `test_quantized_models*` need the (full) engine, `test_metrics*` and
`test_training*` metrics and training.
"""

from __future__ import annotations

import pytest

from .boards import Board, load_board
from .build_config import services_left_out, services_limited
from .errors import HarnessError

SERVICE_OF_MODULE = {
    "test_inference": "engine",
    "test_quantized_models": "engine",
    "test_metrics": "metrics",
    "test_training": "training",
}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "needs_service(name): the test needs this firmware service (src/<name>/)")


def needed_services(item: pytest.Item) -> set[str]:
    services = {mark.args[0] for mark in item.iter_markers("needs_service")}
    module = getattr(item, "module", None)
    name = module.__name__.rpartition(".")[2] if module else ""
    services |= {service for prefix, service in SERVICE_OF_MODULE.items() if name.startswith(prefix)}
    return services


def services_too_big(board: Board) -> dict[str, str]:
    """Services whose test firmware needs more SRAM than the board has."""
    from .training.device import ENGINE_POOL_BYTES, TRAINING_ARENA_BYTES  # noqa: PLC0415

    needed = ENGINE_POOL_BYTES + TRAINING_ARENA_BYTES
    if board.memory.sram.size > needed:
        return {}
    return {
        "training": f"its training firmware reserves {needed} bytes of SRAM (engine pool and "
        f"training arena); the board has {board.memory.sram.size}"
    }


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    board_name = config.getoption("board", None) or config.getini("hil_board")
    try:
        board = load_board(board_name) if board_name else None
        left_out = {**services_too_big(board), **services_limited(board), **services_left_out(board)} if board else {}
    except HarnessError:
        return  # an unknown board is reported by the dut fixture
    for item in items:
        for service in sorted(needed_services(item) & set(left_out)):
            item.add_marker(
                pytest.mark.skip(
                    reason=f"board {board_name} builds without the full {service} service: {left_out[service]}"
                )
            )

"""The `dut` fixture once more, registered by harness/pytest_plugin.py when the run names a board
(--board, ini hil_board).

Plugins' fixtures of one name are ranked by registration, the last one wins; this module is
registered after every installed plugin, so `dut` is the harness's device even beside
pytest-embedded, which has a `dut` of its own. (`hil_dut` is the same device under a name no
other plugin has.) A conftest.py's `dut` still overrides it, as it would any plugin's.
"""

from __future__ import annotations

import pytest

from .dut import Dut


@pytest.fixture(scope="session")
def dut(hil_dut: Dut) -> Dut:
    """Session-scoped: built, booted or reached, and handshaken once."""
    return hil_dut

import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from kernels_lib import Kernels, build


@pytest.fixture(scope="session")
def k(tmp_path_factory) -> Kernels:
    """The kernels compiled with host gcc (warnings are errors) and loaded."""
    return Kernels(build(tmp_path_factory.mktemp("kernels")))

"""Makes `import harness` find the harness next to this example (a checkout), else the installed one."""

import os
import sys


def add_harness(project_dir: str) -> None:
    checkout = os.path.abspath(os.path.join(project_dir, "..", ".."))
    if os.path.isdir(os.path.join(checkout, "harness")) and checkout not in sys.path:
        sys.path.insert(0, checkout)

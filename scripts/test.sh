#!/usr/bin/env bash
# README command 2: set up, then run the whole test suite (unit tests and the firmware in QEMU).
# Extra arguments go to pytest, e.g. scripts/test.sh --board=netduinoplus2 -k link
# The suite runs on one pytest-xdist worker per core (each worker boots its own QEMUs);
# `-n 0` among the arguments runs it in one process.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
python3 -m pytest -n auto "$@"

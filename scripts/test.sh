#!/usr/bin/env bash
# README command 2: set up, then run the whole test suite (unit tests and the firmware in QEMU).
# Extra arguments go to pytest, e.g. scripts/test.sh --board=netduinoplus2 -k link
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
python3 -m pytest "$@"

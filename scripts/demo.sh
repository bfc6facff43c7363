#!/usr/bin/env bash
# README command 1: set up, then run the main job end to end on the default emulated board
# (the NUCLEO-F746ZG's QEMU stand-in): build the firmware, boot it, shake hands.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
hil ping --board nucleo_f746 --emulator qemu

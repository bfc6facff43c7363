#!/usr/bin/env bash
# README command 1: set up, then run the main job end to end on the default emulated board
# (the NUCLEO-F746ZG's QEMU stand-in): build the firmware, boot it, shake hands, then run the
# project's own int8 model on the device and in tflite-micro and compare every output byte.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
hil ping --board nucleo_f746 --emulator qemu
hil run --board nucleo_f746 --emulator qemu --model models/tiny_conv/tiny_conv_int8.tflite --inputs 20 --seed 1

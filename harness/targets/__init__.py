"""Targets: where a firmware runs (a real board on a serial port, QEMU) and the byte stream to it."""

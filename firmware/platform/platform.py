"""PlatformIO development platform for the harness firmware.

Everything it needs (compilers, newlib, avr-libc) comes from the system, so the
platform declares no packages and PlatformIO never contacts its registry.
"""

from platformio.public import PlatformBase


class HilPlatform(PlatformBase):
    pass

"""SCons build script of the `hil` platform: system GCC for ARM Cortex-M and AVR.

The per-board settings (CPU flags, linker script, HAL sources) are added by the
project's `pre:` extra script; this file only knows the two toolchains and how
to turn an ELF into the images a flasher wants.
"""

from SCons.Script import AlwaysBuild, Builder, Default, DefaultEnvironment

env = DefaultEnvironment()

TOOLCHAIN_PREFIX = {"arm": "arm-none-eabi-", "avr": "avr-"}
arch = env.GetProjectOption("custom_arch", "arm")
prefix = TOOLCHAIN_PREFIX[arch]

env.Replace(
    AR=prefix + "gcc-ar",
    AS=prefix + "as",
    CC=prefix + "gcc",
    CXX=prefix + "g++",
    GDB=prefix + "gdb",
    OBJCOPY=prefix + "objcopy",
    RANLIB=prefix + "gcc-ranlib",
    SIZETOOL=prefix + "size",
    ARFLAGS=["rc"],
    PROGNAME="firmware",
    PROGSUFFIX=".elf",
    SIZEPROGREGEXP=r"^(?:\.text|\.data|\.rodata|\.text.align|\.ARM.exidx)\s+(\d+).*",
    SIZEDATAREGEXP=r"^(?:\.data|\.bss|\.noinit)\s+(\d+).*",
    SIZECHECKCMD="$SIZETOOL -A -d $SOURCES",
    SIZEPRINTCMD="$SIZETOOL -B -d $SOURCES",
)

env.Append(
    BUILDERS=dict(
        ElfToBin=Builder(
            action=env.VerboseAction("$OBJCOPY -O binary $SOURCES $TARGET", "Building $TARGET"),
            suffix=".bin",
        ),
        ElfToHex=Builder(
            action=env.VerboseAction("$OBJCOPY -O ihex -R .eeprom $SOURCES $TARGET", "Building $TARGET"),
            suffix=".hex",
        ),
    )
)

target_elf = env.BuildProgram()
target_bin = env.ElfToBin("$BUILD_DIR/${PROGNAME}", target_elf)
target_hex = env.ElfToHex("$BUILD_DIR/${PROGNAME}", target_elf)
env.Depends(target_bin, "checkprogsize")

# `pio run -t upload` runs the board's own flashing command (upload_protocol = custom).
upload = env.Alias(
    "upload",
    [target_bin, target_hex],
    env.VerboseAction("$UPLOADCMD", "Uploading $SOURCE"),
)
AlwaysBuild(upload)

Default([target_bin, target_hex])

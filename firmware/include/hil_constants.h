/* Generated from harness/contracts/constants.yaml
 * by `python -m harness.contracts.codegen`.
 * Constants shared by the host and the firmware.
 * Do not edit: change the YAML and regenerate. */
/* clang-format off: the generator's layout is the one the staleness test expects */
#ifndef HIL_CONSTANTS_H
#define HIL_CONSTANTS_H

#include <stdint.h>

/* SRAM (48 KiB) the engine's pool leaves to the rest of the firmware and the stack; the host
 * plans the arena within SRAM minus this (the linker refuses a pool that leaves the stack too
 * little) */
#ifndef ENGINE_RAM_RESERVE
#define ENGINE_RAM_RESERVE 49152u
#endif
/* the engine's fixed pool on AVR (2 KB of SRAM): the arena plus one operator's constants copied
 * from the flash slot (hello_world int8); the rest is the stack, which an INVOKE needs 531 bytes
 * of */
#define AVR_ENGINE_POOL_SIZE 416u
/* the training arena of a default build (the engine pool takes most SRAM) */
#ifndef HIL_TRAINING_ARENA_BYTES
#define HIL_TRAINING_ARENA_BYTES 16384u
#endif
/* stack set aside by the training budget check, on the device and in the host's planner (the
 * measured high-water is reported next to it) */
#ifndef HIL_TRAINING_STACK_RESERVE
#define HIL_TRAINING_STACK_RESERVE 4096u
#endif

#endif /* HIL_CONSTANTS_H */

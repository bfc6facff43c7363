/* The board support interface: everything the portable firmware asks of a board.
 *
 * One implementation per board family lives in src/hal/<name>/; the build picks it from the
 * board file (boards/<board>.yaml, `build.hal` or the emulator's `hal`). */
#ifndef HAL_H
#define HAL_H

#include <stddef.h>
#include <stdint.h>

/* Clocks, UART and timer; called once by the startup code before main(). */
void hal_init(void);

/* One received byte, or -1 when none is waiting. Never blocks. */
int hal_uart_getc(void);

/* Sends bytes; returns when they are handed to the UART. */
void hal_uart_write(const uint8_t *data, size_t length);

/* Free-running 32-bit counter in the board's timer units (see hal_timer_kind). */
uint32_t hal_timer_ticks(void);

/* Ticks per second of hal_timer_ticks(). */
uint32_t hal_timer_hz(void);

/* Milliseconds since boot (wraps); used only for the link's inter-byte timeout. Portable:
 * src/hal/millis.c builds it on the timer, so it must be called at least once per timer wrap. */
uint32_t hal_millis(void);

/* Waits until a byte may have arrived or a few milliseconds have passed. Under QEMU this must
 * sleep (WFI) rather than return at once: a guest that spins never yields QEMU's event loop,
 * and received bytes then reach the UART only every second or so. */
void hal_idle(void);

/* Resets the chip; does not return. */
void hal_reset(void) __attribute__((noreturn));

/* Stops after a fatal error: an emulator exits with `code`, a real board waits for a reset. */
void hal_halt(int code) __attribute__((noreturn));

/* Bytes of stack ever used since reset (or since the stack was last painted again): the start-up
 * code paints the free stack, this counts the painted bytes that were overwritten. */
uint32_t hal_stack_high_water(void);

#endif

/* The SDK's porting layer: what the device SDK asks of the firmware it is linked into.
 *
 * Three functions are required; the others have weak defaults in the SDK that a port may
 * replace. docs/byo_firmware.md shows a port for a bare-metal UART and for a vendor HAL. None of
 * them may block for long: the SDK polls, and calls them from the firmware's main loop only. */
#ifndef HIL_PORT_H
#define HIL_PORT_H

#include <stddef.h>
#include <stdint.h>

/* Required: one received byte (0..255), or -1 when none is waiting. Never blocks. */
int hil_port_uart_getc(void);

/* Required: sends `length` bytes; may return once they are queued for the UART. */
void hil_port_uart_write(const uint8_t *data, size_t length);

/* Required: milliseconds since boot (wrapping at 2^32); only the link's inter-byte timeout
 * (100 ms) uses it, so a 1 ms tick is plenty. */
uint32_t hil_port_millis(void);

/* Optional: a free-running 32-bit cycle (or instruction) counter for INVOKE timing and timing
 * regions, and its rate. The default counts nothing: 0 ticks at 0 Hz. */
uint32_t hil_port_cycles(void);
uint32_t hil_port_cycles_hz(void);

/* Optional: called while no request is pending (e.g. WFI, or a scheduler's yield). Default:
 * returns at once. */
void hil_port_idle(void);

/* Optional: resets the chip after the RESET request's reply has gone out. Default: returns, and
 * the SDK restarts its own state and sends READY again (a soft reset). */
void hil_port_reset(void);

#endif

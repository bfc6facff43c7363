/* AVR start-up around avr-libc's: watchdog off after a watchdog reset, stack painting (for the
 * stack high-water mark), main(). avr-libc's crt copies .data and clears .bss (.init4) and calls
 * main(); its vector table sends unused interrupts to __bad_interrupt (BADISR_vect below).
 *
 * AVR has no fault exceptions: a bad instruction or stray pointer is not trapped, so there is no
 * fault report as on Cortex-M. __builtin_trap() is avr-libc's abort(): interrupts off, loop. */
#include <avr/interrupt.h>
#include <avr/io.h>
#include <avr/wdt.h>
#include <stdint.h>

#include "../../app/app.h"
#include "../hal.h"

#define STACK_PAINT 0xC5u

extern uint8_t _end; /* first byte after .data, .bss and .noinit (avr-gcc's linker script) */

/* .init3 runs after the stack pointer is set (.init2) and before anything is pushed. */
void avr_early_init(void) __attribute__((naked, used, section(".init3")));
void avr_early_init(void)
{
    /* A watchdog reset leaves the watchdog running (15 ms): stop it before it fires again. */
    MCUSR = 0;
    wdt_disable();
    for (uint8_t *byte = &_end; byte <= (uint8_t *)RAMEND; byte++) {
        *byte = STACK_PAINT;
    }
}

uint32_t hal_stack_high_water(void)
{
    const uint8_t *byte = &_end;
    while (byte <= (const uint8_t *)RAMEND && *byte == STACK_PAINT) {
        byte++;
    }
    return (uint32_t)(RAMEND + 1 - (uint16_t)byte);
}

/* An interrupt without a handler: a bug. Stop rather than restart silently from address 0. */
ISR(BADISR_vect)
{
    hal_halt(3);
}

int main(void)
{
    hal_init();
    app_main();
    hal_halt(0);
}

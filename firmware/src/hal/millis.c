/* Milliseconds from any board's free-running 32-bit timer. */
#include "hal.h"

uint32_t hal_millis(void)
{
    static uint32_t last_ticks;
    static uint64_t total_ticks;
    uint32_t now = hal_timer_ticks();
    total_ticks += (uint32_t)(now - last_ticks); /* modular: survives one wrap between calls */
    last_ticks = now;
    return (uint32_t)(total_ticks / (hal_timer_hz() / 1000u));
}

/* The device SDK's porting layer (firmware/sdk/include/hil_port.h) on this firmware's HALs. */
#include "../hal/hal.h"
#include "hil_port.h"

int hil_port_uart_getc(void)
{
    return hal_uart_getc();
}

void hil_port_uart_write(const uint8_t *data, size_t length)
{
    hal_uart_write(data, length);
}

uint32_t hil_port_millis(void)
{
    return hal_millis();
}

uint32_t hil_port_cycles(void)
{
    return hal_timer_ticks();
}

uint32_t hil_port_cycles_hz(void)
{
    return hal_timer_hz();
}

void hil_port_idle(void)
{
    hal_idle();
}

void hil_port_reset(void)
{
    hal_reset();
}

/* Weak defaults of the porting layer's optional functions (hil_port.h). */
#include "hil_port.h"

__attribute__((weak)) uint32_t hil_port_cycles(void)
{
    return 0;
}

__attribute__((weak)) uint32_t hil_port_cycles_hz(void)
{
    return 0;
}

__attribute__((weak)) void hil_port_idle(void)
{
}

__attribute__((weak)) void hil_port_reset(void)
{
}

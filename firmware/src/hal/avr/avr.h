/* AVR-only parts of the HAL beyond hal.h. */
#ifndef HAL_AVR_H
#define HAL_AVR_H

#include <stdint.h>

/* Bytes of stack ever used since reset: the painted area below the stack that was overwritten. */
uint16_t avr_stack_high_water(void);

#endif

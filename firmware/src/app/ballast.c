/* Deliberately bigger firmware variants for the harness's own tests of memory limits and
 * regression gates: built with -DHIL_BALLAST_RAM_BYTES=N and/or -DHIL_BALLAST_FLASH_BYTES=N. */
#include <stdint.h>

#include "app.h"

#ifdef HIL_BALLAST_RAM_BYTES
static volatile uint8_t ballast_ram[HIL_BALLAST_RAM_BYTES];
#endif
#ifdef HIL_BALLAST_FLASH_BYTES
static const uint8_t ballast_flash[HIL_BALLAST_FLASH_BYTES] = {1}; /* .rodata: flash only */
#endif

void app_touch_ballast(void)
{
#ifdef HIL_BALLAST_RAM_BYTES
    ballast_ram[0] = 1;
#endif
#ifdef HIL_BALLAST_FLASH_BYTES
    const volatile uint8_t *flash = ballast_flash; /* a read the compiler must keep */
    (void)flash[0];
#endif
}

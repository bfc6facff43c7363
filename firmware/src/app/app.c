/* The harness's own firmware on the device SDK (firmware/sdk): its services registered, then
 * the SDK serves requests forever. */
#include "app.h"

#include <stddef.h>

/* Each service defines its table; until it is linked in, these empty ones stand in. */
__attribute__((weak)) const command_t engine_commands[] = {{0, NULL}};
__attribute__((weak)) const command_t metrics_commands[] = {{0, NULL}};
__attribute__((weak)) const command_t training_commands[] = {{0, NULL}};

void app_main(void)
{
    app_touch_ballast();
    hil_sdk_register(engine_commands);
    hil_sdk_register(metrics_commands);
    hil_sdk_register(training_commands);
    hil_sdk_run();
}

/* The harness's firmware: boot, then the device SDK serves requests from the link forever. */
#ifndef APP_H
#define APP_H

#include "hil_sdk.h"

/* Entered from the startup code after hal_init(). */
void app_main(void);

/* Keeps the test-only ballast (ballast.c) from being discarded by the linker. */
void app_touch_ballast(void);

/* The SDK's handler and table types under the names the services use. */
typedef hil_handler_t command_handler_t;
typedef hil_command_t command_t;

/* Commands of one service, terminated by {0, NULL}; app.c registers them with the SDK. */
extern const command_t engine_commands[];   /* src/engine: models and inference */
extern const command_t metrics_commands[];  /* measurements: memory, timing */
extern const command_t training_commands[]; /* src/training: on-device training */

#endif

/* The portable firmware: boot message, then serve requests from the link forever. */
#ifndef APP_H
#define APP_H

#include "../link/link.h"

/* Entered from the startup code after hal_init(). */
void app_main(void);

/* Keeps the test-only ballast (ballast.c) from being discarded by the linker. */
void app_touch_ballast(void);

/* A request handler: answers with link_reply() or link_send_error(). */
typedef void (*command_handler_t)(const link_message_t *request);

typedef struct {
    uint8_t type;
    command_handler_t handler;
} command_t;

/* Commands of one service, terminated by {0, NULL}; app.c lists the services. */
extern const command_t system_commands[];
extern const command_t engine_commands[];   /* src/engine: models and inference */
extern const command_t metrics_commands[];  /* measurements: memory, timing */
extern const command_t training_commands[]; /* src/training: on-device training */

#endif

#include "app.h"

#include <stddef.h>

#include "../hal/hal.h"

/* Each service defines its table; until it is linked in, these empty ones stand in. */
__attribute__((weak)) const command_t engine_commands[] = {{0, NULL}};
__attribute__((weak)) const command_t metrics_commands[] = {{0, NULL}};
__attribute__((weak)) const command_t training_commands[] = {{0, NULL}};

static const command_t *const command_tables[] = {
    system_commands,
    engine_commands,
    metrics_commands,
    training_commands,
};

static command_handler_t find_handler(uint8_t type)
{
    for (size_t t = 0; t < sizeof command_tables / sizeof command_tables[0]; t++) {
        for (const command_t *command = command_tables[t]; command->handler; command++) {
            if (command->type == type) {
                return command->handler;
            }
        }
    }
    return NULL;
}

void app_main(void)
{
    app_touch_ballast();
    link_send(LINK_MSG_READY, 0, NULL, 0);
    for (;;) {
        link_message_t request;
        if (!link_poll(&request)) {
            hal_idle();
            continue;
        }
        command_handler_t handler = find_handler(request.type);
        if (handler) {
            handler(&request);
        } else {
            link_send_error(request.seq, LINK_ERR_UNKNOWN_TYPE, "unknown request type");
        }
    }
}

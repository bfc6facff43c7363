/* Request dispatch: the built-in system requests, then each registered table in order. */
#include <stddef.h>

#include "hil_sdk.h"
#include "hil_system.h"

static const hil_command_t *tables[HIL_SDK_MAX_TABLES];
static size_t table_count;

int hil_sdk_register(const hil_command_t *table)
{
    if (table_count >= HIL_SDK_MAX_TABLES) {
        return -1;
    }
    tables[table_count++] = table;
    return 0;
}

int hil_sdk_register_user(const hil_command_t *table)
{
    for (const hil_command_t *command = table; command->handler; command++) {
        if (command->type < HIL_USER_TYPE_FIRST || command->type > HIL_USER_TYPE_LAST) {
            return -1;
        }
    }
    return hil_sdk_register(table);
}

static hil_handler_t find_in(const hil_command_t *table, uint8_t type)
{
    for (const hil_command_t *command = table; command->handler; command++) {
        if (command->type == type) {
            return command->handler;
        }
    }
    return NULL;
}

void hil_sdk_dispatch(const link_message_t *request)
{
    hil_handler_t handler = find_in(hil_system_commands, request->type);
    for (size_t t = 0; !handler && t < table_count; t++) {
        handler = find_in(tables[t], request->type);
    }
    if (handler) {
        handler(request);
    } else {
        link_send_error(request->seq, LINK_ERR_UNKNOWN_TYPE, "unknown request type");
    }
}

void hil_sdk_ready(void)
{
    link_send(LINK_MSG_READY, 0, NULL, 0);
}

bool hil_sdk_poll(void)
{
    link_message_t request;
    if (!link_poll(&request)) {
        return false;
    }
    hil_sdk_dispatch(&request);
    return true;
}

void hil_sdk_run(void)
{
    hil_sdk_ready();
    for (;;) {
        if (!hil_sdk_poll()) {
            hil_port_idle();
        }
    }
}

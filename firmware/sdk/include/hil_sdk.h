/* The device SDK of the HIL harness: the link protocol, request dispatch and the services a
 * firmware registers (docs/byo_firmware.md). A firmware provides the porting layer
 * (hil_port.h), registers its services, then calls hil_sdk_run() (or hil_sdk_poll() from its
 * own main loop).
 *
 *     int main(void) {
 *         board_init();                        // clocks, UART: the firmware's own
 *         hil_runner_register(&my_model);      // optional: the model-runner service
 *         hil_sdk_register_user(my_commands);  // optional: requests 0x70-0x7F
 *         hil_sdk_run();                       // READY, then serve requests forever
 *     }
 */
#ifndef HIL_SDK_H
#define HIL_SDK_H

#include <stdbool.h>
#include <stdint.h>

#include "hil_link.h"
#include "hil_port.h"

#define HIL_SDK_VERSION 1u

/* Request types a firmware's own requests may use (harness/link/protocol.yaml reserves them:
 * no harness service will take them). Their replies are type | LINK_REPLY_BIT, as for every
 * request; the host registers them by name from a YAML file (harness.link.user_messages). */
#define HIL_USER_TYPE_FIRST 0x70u
#define HIL_USER_TYPE_LAST 0x7Fu

/* How many handler tables hil_sdk_register() accepts (the system requests are built in). */
#ifndef HIL_SDK_MAX_TABLES
#define HIL_SDK_MAX_TABLES 8
#endif

/* A request handler: answers with link_reply() or link_send_error(). */
typedef void (*hil_handler_t)(const link_message_t *request);

/* One request type and its handler; a table of them ends with {0, NULL}. */
typedef struct {
    uint8_t type;
    hil_handler_t handler;
} hil_command_t;

/* Adds a service's table (the harness's own services: engine, metrics, training, runner).
 * Returns 0, or -1 when HIL_SDK_MAX_TABLES are taken. The table must outlive the firmware. */
int hil_sdk_register(const hil_command_t *table);

/* Adds the firmware's own requests: every type must be in HIL_USER_TYPE_FIRST..LAST. Returns 0,
 * or -1 (nothing registered) for a type outside the range or a full table list. */
int hil_sdk_register_user(const hil_command_t *table);

/* Sends READY: the host waits for it after boot and after RESET. */
void hil_sdk_ready(void);

/* Handles at most one complete request from the UART; false when none was complete. */
bool hil_sdk_poll(void);

/* READY, then hil_sdk_poll() forever, calling hil_port_idle() while nothing arrives. */
void hil_sdk_run(void) __attribute__((noreturn));

/* Answers `request` with the handler registered for its type, or an UNKNOWN_TYPE error. */
void hil_sdk_dispatch(const link_message_t *request);

#endif

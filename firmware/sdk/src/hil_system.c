/* Link-level requests: handshake, echo, counters, reset and the self-tests of error paths. */
#include <string.h>

#include "hil_sdk.h"
#include "hil_system.h"

/* The board's facts arrive as -D flags: from scripts/configure.py (boards/<board>.yaml) in the
 * harness's firmware; a firmware of its own may set them, else HELLO reports them unknown (0). */
#ifndef HIL_BOARD_NAME
#define HIL_BOARD_NAME "unknown"
#endif
#ifndef HIL_BUILD_ID
#define HIL_BUILD_ID "unknown"
#endif
#ifndef HIL_CORE_CLOCK_HZ
#define HIL_CORE_CLOCK_HZ 0u
#endif
#ifndef HIL_FLASH_SIZE
#define HIL_FLASH_SIZE 0u
#endif
#ifndef HIL_SRAM_SIZE
#define HIL_SRAM_SIZE 0u
#endif
#ifndef HIL_MODEL_SLOT_ADDR
#define HIL_MODEL_SLOT_ADDR 0u
#endif
#ifndef HIL_MODEL_SLOT_SIZE
#define HIL_MODEL_SLOT_SIZE 0u
#endif
#ifndef HIL_TIMER_KIND
#define HIL_TIMER_KIND LINK_TIMER_KIND_CYCLES
#endif
#ifndef HIL_TIMER_UNITS_PER_TICK
#define HIL_TIMER_UNITS_PER_TICK 1u
#endif

static void hello(const link_message_t *request)
{
    link_hello_reply_t reply = {
        .protocol_version = LINK_PROTOCOL_VERSION,
        .max_payload = LINK_MAX_PAYLOAD,
        .max_message = LINK_MAX_MESSAGE,
        .core_clock_hz = HIL_CORE_CLOCK_HZ,
        .flash_size = HIL_FLASH_SIZE,
        .sram_size = HIL_SRAM_SIZE,
        .model_slot_addr = HIL_MODEL_SLOT_ADDR,
        .model_slot_size = HIL_MODEL_SLOT_SIZE,
        .timer_kind = HIL_TIMER_KIND,
        .timer_units_per_tick = HIL_TIMER_UNITS_PER_TICK,
    };
    strncpy(reply.board, HIL_BOARD_NAME, sizeof reply.board);
    strncpy(reply.build_id, HIL_BUILD_ID, sizeof reply.build_id);
    link_reply(request, &reply, sizeof reply);
}

static void echo(const link_message_t *request)
{
    link_reply(request, request->payload, request->length);
}

static void discard(const link_message_t *request)
{
    link_discard_reply_t reply = {.length = request->length};
    link_reply(request, &reply, sizeof reply);
}

static void stats(const link_message_t *request)
{
    const link_stats_t *counters = link_stats();
    link_link_stats_reply_t reply = {
        .frames_ok = counters->frames_ok,
        .bad_crc = counters->bad_crc,
        .garbage_bytes = counters->garbage_bytes,
        .truncated = counters->truncated,
        .oversize = counters->oversize,
    };
    link_reply(request, &reply, sizeof reply);
}

static void reset(const link_message_t *request)
{
    link_reply(request, NULL, 0);
    hil_port_reset();
    hil_sdk_ready(); /* a port without a chip reset: a soft one */
}

static void hang(const link_message_t *request)
{
    (void)request;
    for (;;) {
    }
}

static void fault(const link_message_t *request)
{
    (void)request;
    __builtin_trap();
}

const hil_command_t hil_system_commands[] = {
    {LINK_MSG_HELLO, hello},          {LINK_MSG_ECHO, echo},
    {LINK_MSG_DISCARD, discard},      {LINK_MSG_LINK_STATS, stats},
    {LINK_MSG_RESET, reset},          {LINK_MSG_SELFTEST_HANG, hang},
    {LINK_MSG_SELFTEST_FAULT, fault}, {0, NULL},
};

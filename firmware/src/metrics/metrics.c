/* Region timing and memory figures, and the metrics service's requests (METRICS, MEMORY,
 * METRICS_SELFTEST). See metrics.h for the API and docs/metrics.md for what the numbers mean. */
#include "metrics.h"

#include <stddef.h>
#include <string.h>

#include "../app/app.h"
#include "../hal/hal.h"

/* Read by the QEMU plugin: slot `id` is stored to at a region's begin, `MAX + id` at its end.
 * Both the array and metrics_plugin_mark are found by name in the ELF (harness/metrics/plugin.py). */
volatile uint8_t metrics_plugin_marks[2u * METRICS_MAX_REGIONS];

__attribute__((noinline, used)) void metrics_plugin_mark(uint32_t slot)
{
    metrics_plugin_marks[slot] = 1u;
}

/* The METRICS reply is sent straight from here: one region_entry_t (metrics_regions.h) per region
 * slot, unused ones with 0 calls. */
static struct __attribute__((packed)) {
    link_metrics_reply_t header;
    region_entry_t entries[METRICS_MAX_REGIONS];
} totals;
static uint32_t region_started[METRICS_MAX_REGIONS];
static uint32_t arena_size, arena_used, training_bytes;

/* A deliberately slower firmware for the harness's regression-gate tests: each region costs
 * HIL_SLOWDOWN_LOOPS more iterations of a loop. */
static void slowdown(void)
{
#ifdef HIL_SLOWDOWN_LOOPS
    for (volatile uint32_t i = 0; i < (uint32_t)(HIL_SLOWDOWN_LOOPS); i++) {
    }
#endif
}

void metrics_region_begin(uint32_t id)
{
    if (id >= METRICS_MAX_REGIONS) {
        return;
    }
    region_started[id] = hal_timer_ticks();
    metrics_plugin_mark(id); /* last: the plugin's count starts after our own bookkeeping */
}

void metrics_region_end(uint32_t id)
{
    if (id >= METRICS_MAX_REGIONS) {
        return;
    }
    slowdown();
    metrics_plugin_mark(METRICS_MAX_REGIONS + id); /* first: the count ends before bookkeeping */
    region_entry_t *entry = &totals.entries[id];
    entry->ticks += hal_timer_ticks() - region_started[id];
    entry->calls++;
    entry->id = (uint8_t)id;
}

void metrics_clear(void)
{
    memset(&totals, 0, sizeof totals);
}

void metrics_report_arena(uint32_t size_bytes, uint32_t used_bytes)
{
    arena_size = size_bytes;
    arena_used = used_bytes;
}

void metrics_report_training(uint32_t buffer_bytes)
{
    training_bytes = buffer_bytes;
}

/* -- requests ----------------------------------------------------------------------------------- */

/* Every region entered since the last clear; `clear` != 0 clears after reading. */
static void metrics(const link_message_t *request)
{
    if (request->length != sizeof(link_metrics_request_t)) {
        link_send_error(request->seq, LINK_ERR_BAD_REQUEST, "METRICS takes 1 byte");
        return;
    }
    const link_metrics_request_t *args = (const link_metrics_request_t *)request->payload;
    totals.header.regions = (uint16_t)METRICS_MAX_REGIONS;
    totals.header.timer_kind = HIL_TIMER_KIND;
    totals.header.timer_units_per_tick = HIL_TIMER_UNITS_PER_TICK;
    totals.header.timer_hz = hal_timer_hz();
    link_reply(request, &totals, sizeof totals);
    if (args->clear) {
        metrics_clear();
    }
}

#if defined(__arm__)
extern uint32_t _sdata, _edata, _sbss, _ebss, _sstack, _estack;
uint32_t cortexm_stack_high_water(void); /* src/hal/cortexm/startup.c */

#define STACK_PAINT 0xC5C5C5C5u /* as src/hal/cortexm/startup.c paints it at reset */

static void fill_memory(link_memory_reply_t *reply)
{
    reply->data_bytes = (uint32_t)((uintptr_t)&_edata - (uintptr_t)&_sdata);
    reply->bss_bytes = (uint32_t)((uintptr_t)&_ebss - (uintptr_t)&_sbss);
    reply->stack_size = (uint32_t)((uintptr_t)&_estack - (uintptr_t)&_sstack);
    reply->stack_high_water = cortexm_stack_high_water();
}

/* Paints the unused stack again so the next high-water mark covers only what follows. */
static void repaint_stack(void)
{
    uint32_t *sp;
    __asm volatile("mov %0, sp" : "=r"(sp));
    for (uint32_t *word = &_sstack; word < sp - 16; word++) {
        *word = STACK_PAINT;
    }
}
#else
/* Other architectures report what their HAL exposes; the host takes the static sizes from the ELF. */
static void fill_memory(link_memory_reply_t *reply)
{
    (void)reply;
}

static void repaint_stack(void)
{
}
#endif

static void memory(const link_message_t *request)
{
    if (request->length != sizeof(link_memory_request_t)) {
        link_send_error(request->seq, LINK_ERR_BAD_REQUEST, "MEMORY takes 1 byte");
        return;
    }
    const link_memory_request_t *args = (const link_memory_request_t *)request->payload;
    link_memory_reply_t reply = {
        .arena_size = arena_size,
        .arena_used = arena_used,
        .training_bytes = training_bytes,
    };
    fill_memory(&reply);
    if (args->repaint_stack) {
        repaint_stack();
    }
    link_reply(request, &reply, sizeof reply);
}

/* A deterministic integer workload with `layers` parts, part i doing (i + 1) * iterations steps,
 * each in its own layer region: lets the harness check its timing without a model. */
static uint32_t selftest_layer(uint32_t steps, uint32_t state)
{
    for (uint32_t i = 0; i < steps; i++) {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
    }
    return state;
}

static void selftest(const link_message_t *request)
{
    if (request->length != sizeof(link_metrics_selftest_request_t)) {
        link_send_error(request->seq, LINK_ERR_BAD_REQUEST, "METRICS_SELFTEST takes 8 bytes");
        return;
    }
    const link_metrics_selftest_request_t *args = (const link_metrics_selftest_request_t *)request->payload;
    if (args->layers == 0 || args->layers > METRICS_MAX_LAYERS) {
        link_send_error(request->seq, LINK_ERR_BAD_REQUEST, "METRICS_SELFTEST layers out of range");
        return;
    }
    uint32_t state = 2463534242u;
    metrics_region_begin(METRICS_REGION_SELFTEST);
    for (uint32_t layer = 0; layer < args->layers; layer++) {
        metrics_region_begin(METRICS_REGION_LAYER(layer));
        state = selftest_layer((layer + 1u) * args->iterations, state);
        metrics_region_end(METRICS_REGION_LAYER(layer));
    }
    metrics_region_end(METRICS_REGION_SELFTEST);
    link_metrics_selftest_reply_t reply = {.checksum = state};
    link_reply(request, &reply, sizeof reply);
}

const command_t metrics_commands[] = {
    {LINK_MSG_METRICS, metrics},
    {LINK_MSG_MEMORY, memory},
    {LINK_MSG_METRICS_SELFTEST, selftest},
    {0, NULL},
};

/* The engine's link requests (harness/link/messages/engine.yaml): stream or select a packed
 * model, write and read tensors, invoke.
 *
 * Memory: one static pool takes the SRAM the rest of the firmware leaves. A model streamed over
 * the link (MODEL_WRITE) sits at the pool's start and the arena follows it; a model in the flash
 * slot (put there by a flasher or QEMU's loader) leaves the whole pool to the arena. */
#include <string.h>

#include "../app/app.h"
#include "../hal/hal.h"
#include "engine.h"
#include "hil_constants.h"

/* ENGINE_RAM_RESERVE (SRAM kept for the rest of the firmware and the stack) is shared with the
 * host: hil_constants.h, from harness/contracts/constants.yaml. The linker refuses a pool that
 * leaves the stack too little (AVR: AVR_STACK_RESERVE). */
#ifndef ENGINE_POOL_SIZE
#if defined(__AVR__)
/* 2 KB of SRAM: the board file gives the pool (firmware.engine.pool, built as -DENGINE_POOL_SIZE):
 * the arena plus one operator's constants copied from the flash model slot; the rest is the stack. */
#error "an AVR build takes ENGINE_POOL_SIZE from its board file (firmware.engine.pool)"
#elif HIL_SRAM_SIZE > 2u * ENGINE_RAM_RESERVE
#define ENGINE_POOL_SIZE (HIL_SRAM_SIZE - ENGINE_RAM_RESERVE)
#else
#define ENGINE_POOL_SIZE (HIL_SRAM_SIZE / 4u) /* small boards: a token pool */
#endif
#endif

static uint8_t pool[ENGINE_POOL_SIZE] __attribute__((aligned(16)));
static uint32_t ram_model_bytes; /* bytes of the pool that MODEL_WRITE has used */
static engine_model_t model;
static int model_loaded;
static int pool_painted; /* the arena part of the pool holds POOL_PAINT except where written */
#define POOL_PAINT 0xA5u

/* Optional hooks into the metrics service (src/metrics), when the build has it. */
#if HIL_HAVE_METRICS
extern void metrics_region_begin(uint32_t id) __attribute__((weak));
extern void metrics_region_end(uint32_t id) __attribute__((weak));
extern void metrics_report_arena(uint32_t size_bytes, uint32_t used_bytes) __attribute__((weak));
#endif

static void info(const link_message_t *request)
{
    link_engine_info_reply_t reply = {
        .pool_size = ENGINE_POOL_SIZE,
        .pool_addr = (uint32_t)(uintptr_t)pool,
        .format_version = ENGINE_FORMAT_VERSION,
        .max_concat_inputs = ENGINE_MAX_OP_INPUTS,
    };
    link_reply(request, &reply, sizeof reply);
}

static int fixed_part(const link_message_t *request, void *fields, uint32_t size)
{
    if (request->length < size) {
        link_send_error(request->seq, LINK_ERR_BAD_REQUEST, ENGINE_TEXT("request too short"));
        return 0;
    }
    memcpy(fields, request->payload, (size_t)size);
    return 1;
}

static void model_write(const link_message_t *request)
{
    link_model_write_request_t r;
    if (!fixed_part(request, &r, sizeof r)) {
        return;
    }
    uint32_t length = request->length - (uint32_t)sizeof r;
    if (r.offset > ENGINE_POOL_SIZE || length > ENGINE_POOL_SIZE - r.offset) {
        link_send_error(request->seq, LINK_ERR_NO_MEMORY, ENGINE_TEXT("model larger than the RAM pool"));
        return;
    }
    model_loaded = 0; /* the write may overlap the active model or its arena */
    memcpy(pool + r.offset, request->payload + sizeof r, (size_t)length);
    if (r.offset + length > ram_model_bytes) {
        ram_model_bytes = r.offset + length;
    }
    link_reply(request, NULL, 0);
}

static void model_load(const link_message_t *request)
{
    link_model_load_request_t r;
    if (!fixed_part(request, &r, sizeof r)) {
        return;
    }
    const uint8_t *image;
    uint32_t max_size;
    uint8_t *arena = pool;
    uint32_t capacity = ENGINE_POOL_SIZE;
    if (r.source == LINK_MODEL_SOURCE_SLOT) {
        if (r.offset >= HIL_MODEL_SLOT_SIZE || r.offset % 4u != 0) {
            link_send_error(request->seq, LINK_ERR_BAD_REQUEST, ENGINE_TEXT("offset outside the model slot"));
            return;
        }
        image = (const uint8_t *)(uintptr_t)(HIL_MODEL_SLOT_ADDR + r.offset);
        max_size = HIL_MODEL_SLOT_SIZE - r.offset;
    } else if (r.source == LINK_MODEL_SOURCE_RAM) {
        uint32_t used = (ram_model_bytes + ENGINE_ALIGN - 1u) / ENGINE_ALIGN * ENGINE_ALIGN;
        image = pool;
        max_size = ram_model_bytes;
        arena = pool + used;
        capacity = ENGINE_POOL_SIZE - used;
    } else {
        link_send_error(request->seq, LINK_ERR_BAD_REQUEST, ENGINE_TEXT("unknown model source"));
        return;
    }
    const char *why;
    model_loaded = 0;
    int in_program_memory = 0;
#ifdef __AVR__
    /* Harvard: the flash slot is program memory; the engine copies each operator's constants
     * into the pool after the arena */
    in_program_memory = r.source == LINK_MODEL_SOURCE_SLOT;
#endif
    /* Painted so that engine_service_high_water() measures what invocations really write. */
    memset(arena, (int)POOL_PAINT, (size_t)capacity);
    pool_painted = 1;
    int32_t status = engine_load(&model, image, max_size, in_program_memory, arena, capacity, &why);
    if (status == ENGINE_ERR_ARENA) {
        link_send_error(request->seq, LINK_ERR_NO_MEMORY,
                        ENGINE_TEXT("the model's arena does not fit the pool"));
        return;
    }
    if (status != ENGINE_OK) {
        link_send_error(request->seq, LINK_ERR_MODEL_INVALID, why);
        return;
    }
    model_loaded = 1;
#if HIL_HAVE_METRICS
    if (metrics_report_arena) {
        metrics_report_arena(capacity, model.header.arena_size);
    }
#endif
    link_model_load_reply_t reply = {
        .arena_size = model.header.arena_size,
        .arena_capacity = capacity,
        .arena_addr = (uint32_t)(uintptr_t)arena,
        .model_size = model.header.total_size,
        .model_crc = model.header.crc32,
        .num_tensors = model.header.num_tensors,
        .num_ops = model.header.num_ops,
    };
    link_reply(request, &reply, sizeof reply);
}

/* The arena bytes [offset, offset+length) of tensor `index`, or NULL after an error reply. */
static uint8_t *tensor_span(const link_message_t *request, uint32_t index, uint32_t offset, uint32_t length)
{
    if (!model_loaded) {
        link_send_error(request->seq, LINK_ERR_NO_MODEL, ENGINE_TEXT("no model loaded"));
        return NULL;
    }
    if (index >= model.header.num_tensors) {
        link_send_error(request->seq, LINK_ERR_BAD_REQUEST, ENGINE_TEXT("no such tensor"));
        return NULL;
    }
    engine_tensor_t t = engine_tensor(&model, index);
    if (t.storage != ENGINE_STORAGE_ARENA) {
        link_send_error(request->seq, LINK_ERR_BAD_REQUEST, ENGINE_TEXT("tensor is not in the arena"));
        return NULL;
    }
    if (offset > t.bytes || length > t.bytes - offset) {
        link_send_error(request->seq, LINK_ERR_BAD_REQUEST, ENGINE_TEXT("range outside the tensor"));
        return NULL;
    }
    return model.arena + t.offset + offset;
}

static void tensor_write(const link_message_t *request)
{
    link_tensor_write_request_t r;
    if (!fixed_part(request, &r, sizeof r)) {
        return;
    }
    uint32_t length = request->length - (uint32_t)sizeof r;
    uint8_t *span = tensor_span(request, r.tensor, r.offset, length);
    if (span) {
        memcpy(span, request->payload + sizeof r, (size_t)length);
        link_reply(request, NULL, 0);
    }
}

static void tensor_read(const link_message_t *request)
{
    link_tensor_read_request_t r;
    if (!fixed_part(request, &r, sizeof r)) {
        return;
    }
    uint8_t *span = tensor_span(request, r.tensor, r.offset, r.length);
    if (span) {
        link_reply(request, span, r.length);
    }
}

/* xorshift32; harness/engine/runner.py generates the same bytes. */
static void tensor_fill(const link_message_t *request)
{
    link_tensor_fill_request_t r;
    if (!fixed_part(request, &r, sizeof r)) {
        return;
    }
    uint8_t *span = tensor_span(request, r.tensor, 0, 0);
    if (!span) {
        return;
    }
    engine_tensor_t t = engine_tensor(&model, r.tensor);
    uint32_t state = r.seed ? r.seed : 1u;
    for (uint32_t i = 0; i < t.bytes; i++) {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        span[i] = (uint8_t)(state >> 24);
    }
    link_reply(request, NULL, 0);
}

static void invoke(const link_message_t *request)
{
    link_invoke_request_t r;
    if (!fixed_part(request, &r, sizeof r)) {
        return;
    }
    if (!model_loaded) {
        link_send_error(request->seq, LINK_ERR_NO_MODEL, ENGINE_TEXT("no model loaded"));
        return;
    }
    uint32_t end = r.end_op > model.header.num_ops ? model.header.num_ops : r.end_op;
    if (r.first_op > end) {
        link_send_error(request->seq, LINK_ERR_BAD_REQUEST, ENGINE_TEXT("first_op after end_op"));
        return;
    }
    uint32_t failed = 0;
#if HIL_HAVE_METRICS
    if (metrics_region_begin) {
        metrics_region_begin(0u);
    }
#endif
    uint32_t start = hal_timer_ticks();
    int32_t status = engine_invoke(&model, r.first_op, end, &failed);
    uint32_t ticks = hal_timer_ticks() - start;
#if HIL_HAVE_METRICS
    if (metrics_region_end) {
        metrics_region_end(0u);
    }
#endif
    if (status != ENGINE_OK) {
        char text[48] = ENGINE_TEXT("kernel failed in operator ");
        size_t n = strlen(text);
        char digits[6];
        int d = 0;
        do {
            digits[d++] = (char)('0' + failed % 10u);
            failed /= 10u;
        } while (failed && d < 5);
        while (d) {
            text[n++] = digits[--d];
        }
        text[n] = '\0';
        link_send_error(request->seq, LINK_ERR_KERNEL_FAILED, text);
        return;
    }
    link_invoke_reply_t reply = {.ticks = ticks, .ops_run = (uint16_t)(end - r.first_op)};
    link_reply(request, &reply, sizeof reply);
}

/* For the training service (src/training): the loaded model's int8 arena tensor `index` of
 * exactly `bytes` bytes, or NULL with *why (no model, no such tensor, wrong storage/type/size). */
int8_t *engine_service_tensor(uint32_t index, uint32_t bytes, const char **why)
{
    if (!model_loaded) {
        *why = ENGINE_TEXT("backbone: no model loaded (MODEL_LOAD)");
        return NULL;
    }
    if (index >= model.header.num_tensors) {
        *why = ENGINE_TEXT("backbone: no such tensor");
        return NULL;
    }
    engine_tensor_t t = engine_tensor(&model, index);
    if (t.storage != ENGINE_STORAGE_ARENA || t.type != ENGINE_TYPE_INT8 || t.bytes != bytes) {
        *why = ENGINE_TEXT("backbone: tensor not int8 in the arena of the input's size");
        return NULL;
    }
    return (int8_t *)(model.arena + t.offset);
}

/* Runs operators [0, end_op) of the loaded model on its arena as it is (the training service
 * calls it with the raw input already written by TENSOR_WRITE). */
int32_t engine_service_run(uint32_t end_op)
{
    uint32_t failed = 0;
    if (!model_loaded || end_op > model.header.num_ops) {
        return ENGINE_ERR_INVALID;
    }
    return engine_invoke(&model, 0, end_op, &failed);
}

/* Bytes of the pool up to the last one written since the last MODEL_LOAD painted it (a RAM
 * model counts whole); the whole pool when it was never painted. */
uint32_t engine_service_high_water(void)
{
    if (!pool_painted) {
        return ENGINE_POOL_SIZE;
    }
    uint32_t end = ENGINE_POOL_SIZE;
    while (end > 0 && pool[end - 1u] == POOL_PAINT) {
        end--;
    }
    return end;
}

uint32_t engine_service_pool_size(void)
{
    return ENGINE_POOL_SIZE;
}

const command_t engine_commands[] = {
    {LINK_MSG_ENGINE_INFO, info},        {LINK_MSG_MODEL_WRITE, model_write},
    {LINK_MSG_MODEL_LOAD, model_load},   {LINK_MSG_TENSOR_WRITE, tensor_write},
    {LINK_MSG_TENSOR_READ, tensor_read}, {LINK_MSG_TENSOR_FILL, tensor_fill},
    {LINK_MSG_INVOKE, invoke},           {0, NULL},
};

/* libFuzzer target `training`: a training setup image followed by step samples, through the
 * firmware's own request handlers (firmware/src/training/training.c, compiled in here so each
 * input starts from an empty service).
 *
 * Input: the setup image (harness/training/setup.py pack), as long as its header's `total`
 * says, then samples. The image goes to TRAIN_LOAD in 4 KiB pieces declaring that `total` (a
 * total the input does not hold leaves the load incomplete, one over the arena is refused),
 * then TRAIN_READ of [0, total) and TRAIN_BEGIN. Each sample is one byte (bit 7: TRAIN_PREDICT
 * instead of TRAIN_STEP; the rest: the label) and the setup's input size in bytes. At the end
 * TRAIN_MEMORY and TRAIN_READ of what was loaded. Every reply's bytes are read. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* training.c takes its static data size from the linker's _sdata and _ebss: here two symbols
 * exactly the arena plus 32 KB apart, as on a small board, so plans fit the images' budgets. */
#define _sdata fuzz_sdata
#define _ebss fuzz_ebss
#define FUZZ_STRING(x) #x
#define FUZZ_EXPAND(x) FUZZ_STRING(x)
__asm__(".data\n.balign 8\n.globl fuzz_sdata\nfuzz_sdata:\n.long 0\n"
        ".globl fuzz_ebss\n.set fuzz_ebss, fuzz_sdata + " FUZZ_EXPAND(HIL_TRAINING_ARENA_BYTES) " + 32768\n.text\n");

#include "training/training.c"

#include "training_request.h" /* after training.c: it uses its command table */

#define TOTAL_FIELD offsetof(setup_header_t, total) /* training_image.h */
#define LOAD_PIECE 4096u
#define MAX_SAMPLES 64u

void fuzz_consume(const void *data, uint32_t length);

void link_reply(const link_message_t *request, const void *payload, uint32_t length)
{
    (void)request;
    fuzz_consume(payload, length);
}

void link_send_error(uint16_t seq, uint16_t code, const char *text)
{
    (void)seq;
    (void)code;
    fuzz_consume(text, (uint32_t)strlen(text));
}

static void read_back(uint32_t offset, uint32_t length)
{
    link_train_read_request_t args = {.offset = offset, .length = length};
    call(LINK_MSG_TRAIN_READ, &args, sizeof args, NULL, 0);
}

static size_t load(const uint8_t *data, size_t size)
{
    uint32_t total = 0;
    if (size >= TOTAL_FIELD + 4u) {
        memcpy(&total, data + TOTAL_FIELD, sizeof total);
    }
    const size_t image_size = total < size ? total : size;
    size_t offset = 0;
    do {
        const uint32_t piece = image_size - offset < LOAD_PIECE ? (uint32_t)(image_size - offset) : LOAD_PIECE;
        link_train_load_request_t args = {.offset = (uint32_t)offset, .total = total};
        call(LINK_MSG_TRAIN_LOAD, &args, sizeof args, data + offset, piece);
        offset += piece;
    } while (offset < image_size);
    read_back(0, total);
    return image_size;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    memset(&state, 0, sizeof state);
    memset(arena, 0, sizeof arena);
    size_t at = load(data, size);
    call(LINK_MSG_TRAIN_BEGIN, NULL, 0, NULL, 0);
    const size_t sample = state.ready ? (size_t)state.input_size : 0;
    for (uint32_t n = 0; n < MAX_SAMPLES && at + 1u + sample <= size; n++, at += 1u + sample) {
        const uint8_t control = data[at];
        if (control & 0x80u) {
            call(LINK_MSG_TRAIN_PREDICT, NULL, 0, data + at + 1, (uint32_t)sample);
        } else {
            link_train_step_request_t args = {.label = control};
            call(LINK_MSG_TRAIN_STEP, &args, sizeof args, data + at + 1, (uint32_t)sample);
        }
    }
    link_train_memory_request_t memory = {0};
    call(LINK_MSG_TRAIN_MEMORY, &memory, sizeof memory, NULL, 0);
    read_back(0, state.received);
    return 0;
}

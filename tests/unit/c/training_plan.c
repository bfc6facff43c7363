/* The firmware's training arena plan (firmware/src/training/training.c
 * plan_arena), built for the host: for each setup image named on the command
 * line, TRAIN_LOAD + TRAIN_BEGIN through the firmware's own handlers, then one
 * line: "arena <bytes>" and per layer "<saved> <mask>" (the bytes of its saved
 * input channels and clip mask), or "error <text>". The model slot is a zeroed
 * buffer: plans never read the frozen weights. tests/unit/test_training_plan.py
 * compares the lines with harness/training/setup.py arena_layout. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define _sdata plan_sdata
#define _ebss plan_ebss
#define PLAN_STRING(x) #x
#define PLAN_EXPAND(x) PLAN_STRING(x)
__asm__(".data\n.balign 8\n.globl plan_sdata\nplan_sdata:\n.long 0\n"
        ".globl plan_ebss\n.set plan_ebss, plan_sdata + " PLAN_EXPAND(
            HIL_TRAINING_ARENA_BYTES) " + 32768\n.text\n");

static uint8_t model_slot[HIL_MODEL_SLOT_SIZE];
#define HIL_MODEL_SLOT_ADDR ((uintptr_t)model_slot)

#include "training/training.c"

#include "../../fuzz/training_request.h" /* after training.c: it uses its command table */

static char error_text[128];
static link_train_begin_reply_t begin_reply;

void link_reply(const link_message_t *request, const void *payload, uint32_t length)
{
    if (request->type == LINK_MSG_TRAIN_BEGIN && length == sizeof begin_reply) {
        memcpy(&begin_reply, payload, sizeof begin_reply);
    }
}

void link_send_error(uint16_t seq, uint16_t code, const char *text)
{
    (void)seq;
    (void)code;
    snprintf(error_text, sizeof error_text, "%s", text);
}

static void plan_image(const uint8_t *image, uint32_t size)
{
    error_text[0] = '\0';
    for (uint32_t offset = 0; offset < size && !error_text[0]; offset += 4096u) {
        const uint32_t piece = size - offset < 4096u ? size - offset : 4096u;
        link_train_load_request_t args = {.offset = offset, .total = size};
        call(LINK_MSG_TRAIN_LOAD, &args, sizeof args, image + offset, piece);
    }
    call(LINK_MSG_TRAIN_BEGIN, NULL, 0, NULL, 0);
    if (error_text[0]) {
        printf("error %s\n", error_text);
        return;
    }
    printf("arena %u", (unsigned)begin_reply.arena_bytes);
    for (uint32_t i = 0; i < state.num_layers; i++) {
        printf(" %u %u", (unsigned)saved_input_bytes(i), (unsigned)mask_bytes(i));
    }
    printf("\n");
}

int main(int argc, char **argv)
{
    for (int a = 1; a < argc; a++) {
        FILE *file = fopen(argv[a], "rb");
        static uint8_t image[HIL_TRAINING_ARENA_BYTES];
        const size_t size = file ? fread(image, 1, sizeof image, file) : 0;
        if (file) {
            fclose(file);
        }
        plan_image(image, (uint32_t)size);
    }
    return 0;
}

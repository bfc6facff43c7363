/* libFuzzer target `engine`: the input is one packed model as `hil pack` writes it.
 *
 * The target fixes the model's CRC-32 itself (so mutations reach the validation behind it),
 * copies the model into a buffer of exactly its size and gives engine_load() an arena of exactly
 * the size the header asks for: any read or write outside either is an AddressSanitizer report.
 * A model that loads is invoked once, every operator, on zeroed inputs. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "link/crc32.h"

#define ARENA_LIMIT (64u * 1024u * 1024u) /* larger requests get no arena: engine_load refuses */
/* Header fields by name (model_format.h, generated from harness/contracts/model_format.yaml). */
#define CRC_FIELD offsetof(engine_header_t, crc32)
#define TOTAL_FIELD offsetof(engine_header_t, total_size)
#define ARENA_FIELD offsetof(engine_header_t, arena_size)

static uint32_t read_le32(const uint8_t *bytes)
{
    return (uint32_t)bytes[0] | (uint32_t)bytes[1] << 8 | (uint32_t)bytes[2] << 16 | (uint32_t)bytes[3] << 24;
}

/* Writes the CRC the header's total_size implies (over what of it the input holds). */
static void fix_crc(uint8_t *image, uint32_t size)
{
    if (size < ENGINE_CRC_START) {
        return;
    }
    uint32_t end = read_le32(image + TOTAL_FIELD);
    end = end < ENGINE_CRC_START ? ENGINE_CRC_START : end > size ? size : end;
    uint32_t crc = crc32_final(crc32_update(CRC32_INIT, image + ENGINE_CRC_START, end - ENGINE_CRC_START));
    memcpy(image + CRC_FIELD, &crc, sizeof crc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > UINT32_MAX) {
        return 0;
    }
    uint8_t *image = malloc(size);
    memcpy(image, data, size);
    fix_crc(image, (uint32_t)size);
    uint32_t arena_size = size >= sizeof(engine_header_t) ? read_le32(image + ARENA_FIELD) : 0;
    if (arena_size > ARENA_LIMIT) {
        arena_size = 0;
    }
    uint8_t *arena = calloc(arena_size, 1); /* zeroed: the inputs live in the arena */
    engine_model_t model;
    const char *why = NULL;
    if (engine_load(&model, image, (uint32_t)size, 0, arena, arena_size, &why) == ENGINE_OK) {
        uint32_t failed_op = 0;
        (void)engine_invoke(&model, 0, model.header.num_ops, &failed_op);
    }
    free(arena);
    free(image);
    return 0;
}

/* For host builds of firmware/src/training/training.c (the fuzz target and the arena-plan
 * check): one request through the firmware's own command table, its payload a buffer of
 * exactly its length (so the sanitizers see any read past it). */
#ifndef TRAINING_REQUEST_H
#define TRAINING_REQUEST_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void call(uint8_t type, const void *fields, uint32_t fields_size, const uint8_t *tail,
                 uint32_t tail_size)
{
    uint8_t *payload = malloc((size_t)fields_size + tail_size);
    if (fields_size) {
        memcpy(payload, fields, fields_size);
    }
    if (tail_size) {
        memcpy(payload + fields_size, tail, tail_size);
    }
    link_message_t request = {.type = type, .seq = 1, .length = fields_size + tail_size, .payload = payload};
    for (const command_t *command = training_commands; command->handler; command++) {
        if (command->type == type) {
            command->handler(&request);
        }
    }
    free(payload);
}

#endif

/* What the fuzzed firmware code needs from the parts of the firmware that are not fuzzed:
 * measurement hooks that do nothing, and a reader for every byte handed out. */
#include <stdint.h>

#include "metrics/metrics.h"

void metrics_region_begin(uint32_t id) { (void)id; }
void metrics_region_end(uint32_t id) { (void)id; }
void metrics_report_arena(uint32_t size_bytes, uint32_t used_bytes) { (void)size_bytes; (void)used_bytes; }
void metrics_report_training(uint32_t buffer_bytes) { (void)buffer_bytes; }

uint32_t hal_stack_high_water(void) { return 0; } /* training.c's TRAIN_MEMORY */

/* Reads every byte the firmware hands out, so an out-of-bounds source is reported. */
volatile uint8_t fuzz_sink;
void fuzz_consume(const void *data, uint32_t length)
{
    const volatile uint8_t *bytes = data;
    uint8_t sum = 0;
    for (uint32_t i = 0; i < length; i++) {
        sum = (uint8_t)(sum + bytes[i]);
    }
    fuzz_sink = sum;
}

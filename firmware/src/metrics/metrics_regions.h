/* Generated from harness/contracts/metrics.yaml
 * by `python -m harness.contracts.codegen`.
 * Region ids of the metrics service and the entries of its METRICS reply.
 * Do not edit: change the YAML and regenerate. */
/* clang-format off: the generator's layout is the one the staleness test expects */
#ifndef METRICS_REGIONS_H
#define METRICS_REGIONS_H

#include <stdint.h>

#define METRICS_REGION_INFERENCE 0u     /* one whole inference (engine) */
#define METRICS_REGION_SELFTEST 1u      /* the METRICS_SELFTEST workload, whole */
#define METRICS_REGION_TRAINING_STEP 2u /* one on-device training step (training) */
#define METRICS_REGION_FIRST_LAYER 8u /* layers of a model: METRICS_REGION_LAYER(operator index) */

/* One entry of the METRICS reply per region slot (unused slots have 0 calls). */
typedef struct __attribute__((packed)) {
    uint8_t id;
    uint8_t reserved[3];
    uint32_t calls;
    uint64_t ticks;
} region_entry_t;

_Static_assert(sizeof(region_entry_t) == 16, "region_entry layout");

#endif /* METRICS_REGIONS_H */

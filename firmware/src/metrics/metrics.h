/* Measurement API for the other firmware services (engine, training).
 *
 * Timing: wrap work in metrics_region_begin(id) / metrics_region_end(id). Each region accumulates
 * timer ticks and a call count on the device (DWT cycles on real boards, instruction-based timer
 * ticks in QEMU), and marks its boundaries for the harness's QEMU plugin, which counts guest
 * instructions exactly (tools/qemu_plugin/insn_regions.c). Regions may nest but one id must not
 * be open twice. The host reads the totals with the METRICS request (harness/metrics/timing.py).
 *
 * Memory: the engine and training report their buffers with metrics_report_*(); the host reads
 * them, with the stack high-water mark and the static RAM layout, with the MEMORY request. */
#ifndef METRICS_H
#define METRICS_H

#include <stdint.h>

#include "metrics_regions.h"

/* Region slots (RAM: 20 bytes each). A build may set HIL_METRICS_MAX_REGIONS; the host reads the
 * number back from the ELF (the size of metrics_plugin_marks). */
#ifndef HIL_METRICS_MAX_REGIONS
#ifdef __AVR__
#define HIL_METRICS_MAX_REGIONS 10 /* 2 KB of SRAM: whole-run regions and two layers */
#else
#define HIL_METRICS_MAX_REGIONS 128
#endif
#endif
#define METRICS_MAX_REGIONS ((uint32_t)(HIL_METRICS_MAX_REGIONS))

/* Region ids METRICS_REGION_* (shared with the host: metrics_regions.h, generated from
 * harness/contracts/metrics.yaml). Layers of a model use METRICS_REGION_LAYER(operator index). */
#define METRICS_REGION_LAYER(index) (METRICS_REGION_FIRST_LAYER + (uint32_t)(index))
#define METRICS_MAX_LAYERS (METRICS_MAX_REGIONS - METRICS_REGION_FIRST_LAYER)

void metrics_region_begin(uint32_t id);
void metrics_region_end(uint32_t id);

/* Forgets all region totals (the host does this before a measured run). */
void metrics_clear(void);

/* The engine's tensor arena: its size and the bytes the loaded model actually uses. */
void metrics_report_arena(uint32_t size_bytes, uint32_t used_bytes);

/* On-device training's buffers (gradients, optimizer state, saved activations), in bytes. */
void metrics_report_training(uint32_t buffer_bytes);

#endif

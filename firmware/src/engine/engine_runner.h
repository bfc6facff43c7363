/* The engine's tensors as the device SDK's model-runner tensors (hil_runner.h's hil_tensor_t):
 * the one adapter piece shared by the harness firmware's MLPerf Tiny mode (src/mlperf) and the
 * example application's engine adapter (examples/user_firmware). */
#ifndef ENGINE_RUNNER_H
#define ENGINE_RUNNER_H

#include <stdint.h>

#include "engine.h"
#include "hil_runner.h"

/* The index of the model's input (position < num_inputs) or output (num_inputs + k) tensor. */
uint16_t engine_io_tensor(const engine_model_t *model, uint32_t position);

/* Describes tensor `tensor_index` of a loaded model; 0, or -1 when it has no data. */
int engine_describe_tensor(const engine_model_t *model, uint16_t tensor_index, hil_tensor_t *out);

#endif

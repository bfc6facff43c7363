/* The model-runner adapter on the inference engine (the part a TFLM application writes around
 * tflite::MicroInterpreter; docs/byo_firmware.md shows that version line by line). */
#ifndef ENGINE_ADAPTER_H
#define ENGINE_ADAPTER_H

#include "hil_runner.h"

/* Loads the compiled-in model into its arena and fills `runner`; 0 on success. */
int engine_adapter_init(hil_model_runner_t *runner);

#endif

/* The model-runner service: lets the harness check a firmware whose model is compiled in (a
 * TFLM application, a vendor runtime) against tflite-micro, exactly as it checks its own engine
 * (harness/link/messages/runner.yaml; docs/byo_firmware.md shows a TFLM adapter line by line).
 *
 * The firmware describes its model with a hil_model_runner_t (an adapter around its
 * interpreter) and registers it; the interpreter may call the hooks below while it runs: each
 * operator's output for the per-layer comparison, and timing regions. */
#ifndef HIL_RUNNER_H
#define HIL_RUNNER_H

#include <stdint.h>

#include "hil_sdk.h"

#define HIL_RUNNER_VERSION 1u
#define HIL_RUNNER_MAX_DIMS 6

/* Element types: TFLite's TfLiteType codes, so a TFLM adapter passes tensor->type as it is. */
enum {
    HIL_DTYPE_FLOAT32 = 1,
    HIL_DTYPE_INT32 = 2,
    HIL_DTYPE_UINT8 = 3,
    HIL_DTYPE_INT16 = 7,
    HIL_DTYPE_INT8 = 9,
};

/* One tensor as the interpreter holds it. */
typedef struct {
    uint8_t dtype; /* HIL_DTYPE_* */
    uint8_t rank;
    int32_t dims[HIL_RUNNER_MAX_DIMS];
    float scale; /* per-tensor quantization (0 for float tensors) */
    int32_t zero_point;
    void *data;     /* the interpreter's buffer */
    uint32_t bytes; /* its size */
} hil_tensor_t;

/* The adapter between the SDK and an interpreter. Each callback returns 0 on success. */
typedef struct {
    const char *sha256; /* 64 lower-case hex digits: SHA-256 of the .tflite the model was built from */
    uint8_t num_inputs;
    uint8_t num_outputs;
    int (*input)(void *context, uint32_t index, hil_tensor_t *tensor);
    int (*output)(void *context, uint32_t index, hil_tensor_t *tensor);
    int (*invoke)(void *context); /* runs the model once on the current inputs */
    void *context;
} hil_model_runner_t;

/* Registers the runner's requests (RUNNER_*) with the SDK; `runner` must outlive the firmware.
 * Returns 0, or -1 when the SDK's table list is full. */
int hil_runner_register(const hil_model_runner_t *runner);

/* Hook: the interpreter hands over operator `op_index`'s output (tensor `tensor_index` of the
 * .tflite) right after the operator ran. Sent to the host only during a publishing invoke (the
 * per-layer comparison); otherwise it returns at once. */
void hil_runner_publish_op(uint32_t op_index, uint32_t tensor_index, const void *data, uint32_t bytes);

/* True during a publishing invoke: an adapter may skip gathering what it would publish. */
int hil_runner_publishing(void);

/* Hooks: time a region of the invoke (ids 0..HIL_RUNNER_REGIONS-1; nesting different ids is
 * fine). Totals are kept per invoke and read with RUNNER_REGIONS. */
#ifndef HIL_RUNNER_REGIONS
#define HIL_RUNNER_REGIONS 16
#endif
void hil_runner_region_begin(uint32_t id);
void hil_runner_region_end(uint32_t id);

#endif

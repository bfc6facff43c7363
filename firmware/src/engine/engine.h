/* The inference engine: executes a packed model (model_format.h) with the kernels in
 * src/kernels, tensors at the offsets the host planned in one arena.
 *
 * Portable C11: sizes are int32_t/uint32_t, and the model's metadata is read only through
 * engine_model_read(), so a target whose model lives in a separate address space (AVR PROGMEM)
 * replaces that one function. Constant tensor data is handed to the kernels by pointer
 * (engine_model_data()), which needs the model to be addressable as data memory. */
#ifndef ENGINE_H
#define ENGINE_H

#include <stdint.h>

#include "model_format.h"

/* The metrics service (src/metrics) is left out of some builds (AVR): its hooks are then not
 * called at all (avr-ld cannot link weak undefined functions). */
#ifndef HIL_HAVE_METRICS
#define HIL_HAVE_METRICS 1
#endif

/* Error texts cost RAM on AVR (string literals live in .data there; link_send_error takes a
 * data pointer): such builds set ENGINE_TERSE_ERRORS and send the error code alone. */
#if defined(ENGINE_TERSE_ERRORS) && ENGINE_TERSE_ERRORS
#define ENGINE_TERSE_ERRORS_ON 1
#define ENGINE_TEXT(text) ""
#else
#define ENGINE_TERSE_ERRORS_ON 0
#define ENGINE_TEXT(text) text
#endif

/* The operators a build executes. A board with little flash (the Uno) sets ENGINE_OPS_MINIMAL:
 * int8 FULLY_CONNECTED and RESHAPE only, so the linker drops every other kernel. */
#if defined(ENGINE_OPS_MINIMAL) && ENGINE_OPS_MINIMAL
#define ENGINE_ALL_OPS 0
#else
#define ENGINE_ALL_OPS 1
#endif

typedef struct {
    const uint8_t *image; /* the packed model, in the flash slot or in RAM */
    engine_header_t header;
    uint8_t *arena;
    uint32_t arena_capacity;
    /* Harvard targets (AVR): the image is in program memory, read with engine_model_read(), and
     * each operator's constants are copied into `scratch` (the pool after the arena) for it. */
    uint8_t in_program_memory;
    uint8_t *scratch;
    uint32_t scratch_capacity;
} engine_model_t;

typedef enum {
    ENGINE_OK = 0,
    ENGINE_ERR_INVALID = -1, /* the model failed validation; see the text */
    ENGINE_ERR_KERNEL = -2,  /* a kernel refused its arguments */
    ENGINE_ERR_ARENA = -3,   /* the model's arena does not fit the capacity */
} engine_status_t;

/* Validates `image` (at most `max_size` bytes readable; in program memory when
 * `in_program_memory`, which only AVR builds support) and prepares `model`; on failure *why
 * names the problem. */
int32_t engine_load(engine_model_t *model, const uint8_t *image, uint32_t max_size, int in_program_memory,
                    uint8_t *arena, uint32_t arena_capacity, const char **why);

void engine_model_read(const engine_model_t *model, uint32_t offset, void *dst, uint32_t length);
/* `length` constant bytes of the model as data memory: the image itself, or (program memory) a
 * copy in the scratch area, valid until engine_scratch_reset(); NULL when the scratch is full. */
const void *engine_model_data(const engine_model_t *model, uint32_t offset, uint32_t length);
void engine_scratch_reset(void);

/* The tensor record `index` (< num_tensors) and its bytes (NULL when it has no storage). */
engine_tensor_t engine_tensor(const engine_model_t *model, uint32_t index);
void *engine_tensor_data(const engine_model_t *model, const engine_tensor_t *tensor);

/* offset + length inside [0, limit), without overflow. */
static inline int engine_inside(uint32_t offset, uint32_t length, uint32_t limit)
{
    return offset <= limit && length <= limit - offset;
}

/* Bytes per element of an ENGINE_TYPE_*; 0 for an unknown type. */
static inline uint32_t engine_element_size(uint8_t type)
{
    return type == ENGINE_TYPE_INT8                                     ? 1u
           : (type == ENGINE_TYPE_FLOAT32 || type == ENGINE_TYPE_INT32) ? 4u
                                                                        : 0u;
}

/* Runs operators [first, end); on a kernel error *failed_op names the operator. */
int32_t engine_invoke(const engine_model_t *model, uint32_t first, uint32_t end, uint32_t *failed_op);

/* One operator (ops.c): engine_check_op validates its record against the tensors it references
 * (engine_load calls it once every tensor record is valid) and returns NULL, or the field at
 * fault with *name the operator's name (NULL: the opcode is unknown to this build);
 * engine_run_op runs a checked operator. */
const char *engine_check_op(const engine_model_t *model, const engine_op_t *op, const char **name);
int32_t engine_run_op(const engine_model_t *model, const engine_op_t *op);

/* The engine service's loaded model, for the training service (engine_commands.c). */
int8_t *engine_service_tensor(uint32_t index, uint32_t bytes, const char **why);
int32_t engine_service_run(uint32_t end_op);
uint32_t engine_service_high_water(void);
uint32_t engine_service_pool_size(void);

#endif

/* Generated from harness/contracts/model_format.yaml
 * by `python -m harness.contracts.codegen`.
 * The packed model format (docs/model_format.md). All offsets are from the model's start.
 * Do not edit: change the YAML and regenerate. */
/* clang-format off: the generator's layout is the one the staleness test expects */
#ifndef ENGINE_MODEL_FORMAT_H
#define ENGINE_MODEL_FORMAT_H

#include <stdint.h>

#include "../kernels/kernels.h"

#define ENGINE_FORMAT_VERSION 1u
#define ENGINE_CRC_START 16u /* the CRC-32 covers every byte after the header's crc32 field */
#define ENGINE_ALIGN 16u     /* arena offsets and constant data */
#define ENGINE_MAX_RANK 6
#define ENGINE_MAX_OP_INPUTS 8 /* CONCATENATION inputs the engine accepts */
#define ENGINE_MAGIC "HILM"

enum {
    ENGINE_TYPE_INT8 = 1,
    ENGINE_TYPE_FLOAT32 = 2,
    ENGINE_TYPE_INT32 = 3,
};

enum {
    ENGINE_STORAGE_NONE = 0,
    ENGINE_STORAGE_ARENA = 1,
    ENGINE_STORAGE_MODEL = 2,
};

/* TFLite BuiltinOperator codes of the operators the engine executes. */
enum {
    ENGINE_OP_ADD = 0,
    ENGINE_OP_AVERAGE_POOL_2D = 1,
    ENGINE_OP_CONCATENATION = 2,
    ENGINE_OP_CONV_2D = 3,
    ENGINE_OP_DEPTHWISE_CONV_2D = 4,
    ENGINE_OP_DEQUANTIZE = 6,
    ENGINE_OP_FULLY_CONNECTED = 9,
    ENGINE_OP_LOGISTIC = 14,
    ENGINE_OP_MAX_POOL_2D = 17,
    ENGINE_OP_MUL = 18,
    ENGINE_OP_RESHAPE = 22,
    ENGINE_OP_SOFTMAX = 25,
    ENGINE_OP_PAD = 34,
    ENGINE_OP_MEAN = 40,
    ENGINE_OP_QUANTIZE = 114,
};

typedef struct {
    char magic[4]; /* "HILM" */
    uint16_t version;
    uint16_t header_size;
    uint32_t total_size;
    uint32_t crc32;
    uint32_t arena_size;
    uint16_t num_tensors;
    uint16_t num_ops;
    uint16_t num_inputs;
    uint16_t num_outputs;
    uint32_t tensors_offset;
    uint32_t ops_offset;
    uint32_t io_offset; /* u16 input tensor indices, then u16 output indices */
    uint32_t data_offset;
    uint32_t source_id; /* first 32 bits of the .tflite's SHA-256 */
} engine_header_t;

typedef struct {
    uint8_t type; /* ENGINE_TYPE_* */
    uint8_t rank;
    uint8_t storage; /* ENGINE_STORAGE_* */
    uint8_t reserved;
    int32_t dims[ENGINE_MAX_RANK];
    uint32_t offset; /* in the arena, or in the model for constants */
    uint32_t bytes;
    float scale;
    int32_t zero_point;
} engine_tensor_t;

typedef struct {
    uint8_t opcode; /* ENGINE_OP_* */
    uint8_t num_inputs;
    uint8_t num_outputs;
    uint8_t type;            /* ENGINE_TYPE_* the kernel computes in (QUANTIZE: its input's) */
    uint32_t tensors_offset; /* u16 indices: inputs, then outputs */
    uint32_t params_offset;
    uint32_t params_size;
} engine_op_t;

typedef struct {
    hil_conv_params_t conv;
    uint32_t multipliers_offset; /* int32[channels] */
    uint32_t shifts_offset;      /* int32[channels] */
    int32_t per_channel;
} engine_conv_s8_t;

typedef struct {
    hil_fc_params_t fc;
    uint32_t multipliers_offset; /* int32[output_depth] */
    uint32_t shifts_offset;      /* int32[output_depth] */
    int32_t per_channel;
    int32_t batches;
    int32_t accum_depth;
    int32_t output_depth;
} engine_fc_s8_t;

typedef struct {
    float act_min;
    float act_max;
    int32_t batches;
    int32_t accum_depth;
    int32_t output_depth;
} engine_fc_f32_t;

/* ADD / MUL, float32 */
typedef struct {
    float act_min;
    float act_max;
} engine_act_f32_t;

typedef struct {
    hil_mean_params_t mean;
    int32_t num_axes;
    int32_t axes[ENGINE_MAX_RANK];
} engine_mean_s8_t;

typedef struct {
    int32_t num_axes;
    int32_t axes[ENGINE_MAX_RANK];
} engine_mean_f32_t;

typedef struct {
    int32_t before[ENGINE_MAX_RANK];
    int32_t after[ENGINE_MAX_RANK];
    int32_t value_s8;
    float value_f32;
} engine_pad_t;

typedef struct {
    int32_t axis;
} engine_concat_t;

/* QUANTIZE from float32, DEQUANTIZE */
typedef struct {
    float scale;
    int32_t zero_point;
} engine_affine_t;

/* QUANTIZE from int8 */
typedef struct {
    int32_t input_zero_point;
    int32_t output_zero_point;
    int32_t multiplier;
    int32_t shift;
} engine_requantize_t;

typedef struct {
    float beta;
} engine_softmax_f32_t;

_Static_assert(sizeof(engine_header_t) == 48, "header layout");
_Static_assert(sizeof(engine_tensor_t) == 44, "tensor layout");
_Static_assert(sizeof(engine_op_t) == 16, "op layout");
_Static_assert(sizeof(engine_conv_s8_t) == 56, "conv_s8 layout");
_Static_assert(sizeof(engine_fc_s8_t) == 44, "fc_s8 layout");
_Static_assert(sizeof(engine_fc_f32_t) == 20, "fc_f32 layout");
_Static_assert(sizeof(engine_act_f32_t) == 8, "act_f32 layout");
_Static_assert(sizeof(engine_mean_s8_t) == 44, "mean_s8 layout");
_Static_assert(sizeof(engine_mean_f32_t) == 28, "mean_f32 layout");
_Static_assert(sizeof(engine_pad_t) == 56, "pad layout");
_Static_assert(sizeof(engine_concat_t) == 4, "concat layout");
_Static_assert(sizeof(engine_affine_t) == 8, "affine layout");
_Static_assert(sizeof(engine_requantize_t) == 16, "requantize layout");
_Static_assert(sizeof(engine_softmax_f32_t) == 4, "softmax_f32 layout");

#endif /* ENGINE_MODEL_FORMAT_H */

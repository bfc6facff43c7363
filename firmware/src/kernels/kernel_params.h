/* Generated from harness/contracts/kernel_params.yaml
 * by `python -m harness.contracts.codegen`.
 * The kernels' parameter records; int8 requantization is computed on the host.
 * Do not edit: change the YAML and regenerate. */
/* clang-format off: the generator's layout is the one the staleness test expects */
#ifndef HIL_KERNEL_PARAMS_H
#define HIL_KERNEL_PARAMS_H

#include <stdint.h>

/* CONV_2D / DEPTHWISE_CONV_2D, int8 */
typedef struct {
    int32_t stride_h;
    int32_t stride_w;
    int32_t dilation_h;
    int32_t dilation_w;
    int32_t pad_h;            /* top padding (hil_compute_padding) */
    int32_t pad_w;            /* left padding */
    int32_t depth_multiplier; /* depthwise only */
    int32_t input_offset;     /* -input zero point */
    int32_t output_offset;    /* output zero point */
    int32_t act_min;          /* fused activation as clamp bounds */
    int32_t act_max;
} hil_conv_params_t;

/* CONV_2D / DEPTHWISE_CONV_2D, float32 */
typedef struct {
    int32_t stride_h;
    int32_t stride_w;
    int32_t dilation_h;
    int32_t dilation_w;
    int32_t pad_h;
    int32_t pad_w;
    int32_t depth_multiplier; /* depthwise only */
    float act_min;
    float act_max;
} hil_conv_f32_params_t;

/* FULLY_CONNECTED, int8 */
typedef struct {
    int32_t input_offset;  /* -input zero point */
    int32_t filter_offset; /* -filter zero point (0 for symmetric weights) */
    int32_t output_offset; /* output zero point */
    int32_t act_min;
    int32_t act_max;
} hil_fc_params_t;

/* AVERAGE_POOL_2D / MAX_POOL_2D (also the packed operator record, both types) */
typedef struct {
    int32_t stride_h;
    int32_t stride_w;
    int32_t filter_h;
    int32_t filter_w;
    int32_t pad_h;
    int32_t pad_w;
    int32_t act_min; /* int8 kernels */
    int32_t act_max;
    float act_min_f; /* float kernels */
    float act_max_f;
} hil_pool_params_t;

/* ADD int8 (TFLM add_common.cc, left_shift 20, multipliers from 2*max(input scales)) */
typedef struct {
    int32_t input1_offset;
    int32_t input2_offset;
    int32_t output_offset;
    int32_t left_shift;
    int32_t input1_multiplier;
    int32_t input1_shift;
    int32_t input2_multiplier;
    int32_t input2_shift;
    int32_t output_multiplier;
    int32_t output_shift;
    int32_t act_min;
    int32_t act_max;
} hil_add_params_t;

/* MUL int8: multiplier = QuantizeMultiplier(s1 * s2 / so) */
typedef struct {
    int32_t input1_offset;
    int32_t input2_offset;
    int32_t output_offset;
    int32_t output_multiplier;
    int32_t output_shift;
    int32_t act_min;
    int32_t act_max;
} hil_mul_params_t;

/* SOFTMAX int8 (PreprocessSoftmaxScaling(beta, input_scale, 5)) */
typedef struct {
    int32_t input_multiplier;
    int32_t input_left_shift;
    int32_t diff_min; /* -CalculateInputRadius(5, left_shift, 31) */
} hil_softmax_params_t;

/* LOGISTIC int8 */
typedef struct {
    int32_t input_zero_point;
    int32_t input_range_radius; /* CalculateInputRadius(4, input_left_shift, 31) */
    int32_t input_multiplier;   /* round(frexp(input_scale * 2^27) * 2^31) */
    int32_t input_left_shift;   /* frexp exponent */
} hil_logistic_params_t;

/* MEAN int8 (TFLM QuantizedMeanOrSum): QuantizeMultiplier(input_scale / output_scale) */
typedef struct {
    int32_t input_zero_point;
    int32_t output_zero_point;
    int32_t multiplier;
    int32_t shift;
} hil_mean_params_t;

_Static_assert(sizeof(hil_conv_params_t) == 44, "conv_params layout");
_Static_assert(sizeof(hil_conv_f32_params_t) == 36, "conv_f32_params layout");
_Static_assert(sizeof(hil_fc_params_t) == 20, "fc_params layout");
_Static_assert(sizeof(hil_pool_params_t) == 40, "pool_params layout");
_Static_assert(sizeof(hil_add_params_t) == 48, "add_params layout");
_Static_assert(sizeof(hil_mul_params_t) == 28, "mul_params layout");
_Static_assert(sizeof(hil_softmax_params_t) == 12, "softmax_params layout");
_Static_assert(sizeof(hil_logistic_params_t) == 16, "logistic_params layout");
_Static_assert(sizeof(hil_mean_params_t) == 16, "mean_params layout");

#endif /* HIL_KERNEL_PARAMS_H */

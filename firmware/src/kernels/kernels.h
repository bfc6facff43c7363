/* Inference kernels of the HIL firmware.
 *
 * Plain C11 re-implementations of TensorFlow Lite Micro's reference kernels
 * (tensorflow/lite/kernels/internal/reference/...), bit-exact for int8 with
 * the default TFLM build (double rounding: SaturatingRoundingDoublingHighMul
 * then RoundingDivideByPOT). See docs/kernels.md.
 *
 * Conventions
 *  - NHWC layout; conv filters OHWI, depthwise filters 1HWC, fully connected
 *    weights [output_depth, accum_depth] (row-major).
 *  - All sizes and indices are int32_t (int is 16 bits on AVR).
 *  - int8 kernels take only integer parameters, precomputed on the host
 *    exactly as TFLM's Prepare() does (QuantizeMultiplier etc.). The only
 *    float parameters on int8 paths are those TFLM itself uses in float
 *    (QUANTIZE from float, DEQUANTIZE to float).
 *  - offsets follow TFLM: input_offset = -input_zero_point,
 *    output_offset = +output_zero_point.
 *  - int32 accumulations wrap (hil_wrap_add) rather than overflow: the bits
 *    TFLM's own wrapping adds give on two's complement targets, and no
 *    undefined behaviour whatever the weights and inputs.
 *  - No malloc, no global state; every kernel is reentrant.
 *  - Return value: HIL_KERNEL_OK (0) or a negative hil_kernel_status_t for
 *    arguments the kernel cannot handle (nothing is written then).
 */
#ifndef HIL_KERNELS_H
#define HIL_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "kernel_params.h" /* the parameter records: harness/contracts/kernel_params.yaml */

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    HIL_KERNEL_OK = 0,
    HIL_KERNEL_ERR_ARG = -1,   /* null pointer or inconsistent shapes */
    HIL_KERNEL_ERR_RANGE = -2, /* a size or rank beyond what the kernel supports */
} hil_kernel_status_t;

/* Maximum rank for the N-d kernels (ADD/MUL broadcast, MEAN, PAD, CONCAT). */
#define HIL_MAX_RANK 6

/* A 4-D NHWC shape (for filters: O,H,W,I; depthwise: 1,H,W,C). */
typedef struct {
    int32_t n, h, w, c;
} hil_dims_t;

/* An N-d shape, rank 0..HIL_MAX_RANK, row-major (last dim fastest). */
typedef struct {
    int32_t rank;
    int32_t dims[HIL_MAX_RANK];
} hil_shape_t;

int32_t hil_shape_flat_size(const hil_shape_t *shape);

/* ---------------------------------------------------------------- padding */

/* tflite::ComputePaddingWithOffset: returns the leading (top/left) padding;
 * *offset (may be NULL) receives the extra trailing padding (0 or 1). */
int32_t hil_compute_padding(int32_t stride, int32_t dilation, int32_t in_size, int32_t filter_size,
                            int32_t out_size, int32_t *offset);

/* ------------------------------------------------------- quantization data */

/* Requantization of a convolution-like kernel: one (multiplier, shift) pair
 * per output channel, or a single pair when per_channel == 0. multiplier is
 * Q31, shift is a power of two exponent (>0: left), as TFLM QuantizeMultiplier. */
typedef struct {
    const int32_t *multiplier;
    const int32_t *shift;
    int32_t per_channel;
} hil_requant_t;

/* ------------------------------------------------------------- convolution */

/* CONV_2D, int8 activations/weights, int32 bias (may be NULL).
 * Grouped convolution when input.c is a multiple of filter.c (as TFLM).
 * Requant must be per channel or per tensor (the value is then reused). */
int32_t hil_conv2d_s8(const hil_conv_params_t *params, const hil_requant_t *requant,
                      const hil_dims_t *input_dims, const int8_t *input, const hil_dims_t *filter_dims,
                      const int8_t *filter, const int32_t *bias, const hil_dims_t *output_dims,
                      int8_t *output);

int32_t hil_conv2d_f32(const hil_conv_f32_params_t *params, const hil_dims_t *input_dims, const float *input,
                       const hil_dims_t *filter_dims, const float *filter, const float *bias,
                       const hil_dims_t *output_dims, float *output);

/* DEPTHWISE_CONV_2D: filter [1, H, W, C*depth_multiplier]. */
int32_t hil_depthwise_conv2d_s8(const hil_conv_params_t *params, const hil_requant_t *requant,
                                const hil_dims_t *input_dims, const int8_t *input,
                                const hil_dims_t *filter_dims, const int8_t *filter, const int32_t *bias,
                                const hil_dims_t *output_dims, int8_t *output);

int32_t hil_depthwise_conv2d_f32(const hil_conv_f32_params_t *params, const hil_dims_t *input_dims,
                                 const float *input, const hil_dims_t *filter_dims, const float *filter,
                                 const float *bias, const hil_dims_t *output_dims, float *output);

/* --------------------------------------------------------- fully connected */

/* FULLY_CONNECTED: input [batches, accum_depth], weights
 * [output_depth, accum_depth], output [batches, output_depth]. */
int32_t hil_fully_connected_s8(const hil_fc_params_t *params, const hil_requant_t *requant, int32_t batches,
                               int32_t accum_depth, int32_t output_depth, const int8_t *input,
                               const int8_t *filter, const int32_t *bias, int8_t *output);

int32_t hil_fully_connected_f32(float act_min, float act_max, int32_t batches, int32_t accum_depth,
                                int32_t output_depth, const float *input, const float *filter,
                                const float *bias, float *output);

/* ----------------------------------------------------------------- pooling */

/* AVERAGE_POOL_2D / MAX_POOL_2D; input and output share quantization. */
int32_t hil_avgpool_s8(const hil_pool_params_t *params, const hil_dims_t *input_dims, const int8_t *input,
                       const hil_dims_t *output_dims, int8_t *output);
int32_t hil_maxpool_s8(const hil_pool_params_t *params, const hil_dims_t *input_dims, const int8_t *input,
                       const hil_dims_t *output_dims, int8_t *output);
int32_t hil_avgpool_f32(const hil_pool_params_t *params, const hil_dims_t *input_dims, const float *input,
                        const hil_dims_t *output_dims, float *output);
int32_t hil_maxpool_f32(const hil_pool_params_t *params, const hil_dims_t *input_dims, const float *input,
                        const hil_dims_t *output_dims, float *output);

/* ------------------------------------------------ elementwise (broadcasting) */

/* ADD int8 (TFLM add_common.cc: left_shift 20, multipliers from
 * 2*max(input scales), QuantizeMultiplierSmallerThanOneExp); MUL int8:
 * multiplier = QuantizeMultiplier(s1 * s2 / so). Shapes broadcast
 * numpy-style (right-aligned, dims equal or 1); output shape must be the
 * broadcast shape. */
int32_t hil_add_s8(const hil_add_params_t *params, const hil_shape_t *input1_shape, const int8_t *input1,
                   const hil_shape_t *input2_shape, const int8_t *input2, const hil_shape_t *output_shape,
                   int8_t *output);
int32_t hil_mul_s8(const hil_mul_params_t *params, const hil_shape_t *input1_shape, const int8_t *input1,
                   const hil_shape_t *input2_shape, const int8_t *input2, const hil_shape_t *output_shape,
                   int8_t *output);
int32_t hil_add_f32(float act_min, float act_max, const hil_shape_t *input1_shape, const float *input1,
                    const hil_shape_t *input2_shape, const float *input2, const hil_shape_t *output_shape,
                    float *output);
int32_t hil_mul_f32(float act_min, float act_max, const hil_shape_t *input1_shape, const float *input1,
                    const hil_shape_t *input2_shape, const float *input2, const hil_shape_t *output_shape,
                    float *output);

/* ------------------------------------------------------ softmax / logistic */

/* SOFTMAX int8 -> int8 (output scale 1/256, zero point -128), over the last
 * dimension. input_multiplier/left_shift from PreprocessSoftmaxScaling(beta,
 * input_scale, 5); diff_min = -CalculateInputRadius(5, left_shift, 31). */
int32_t hil_softmax_s8(const hil_softmax_params_t *params, int32_t outer_size, int32_t depth,
                       const int8_t *input, int8_t *output);
/* Float softmax uses hil_expf (portable, not libm): close to, not bit-exact
 * with, TFLM's std::exp. */
int32_t hil_softmax_f32(float beta, int32_t outer_size, int32_t depth, const float *input, float *output);

/* LOGISTIC int8 -> int8 (output scale 1/256, zero point -128). */
int32_t hil_logistic_s8(const hil_logistic_params_t *params, int32_t size, const int8_t *input,
                        int8_t *output);
int32_t hil_logistic_f32(int32_t size, const float *input, float *output);

/* Portable float32 exp used by the float softmax/logistic (same result on
 * every target; within 2 ulp of a correctly rounded expf). */
float hil_expf(float x);

/* -------------------------------------------------------------------- mean */

/* MEAN int8 (TFLM QuantizedMeanOrSum): multiplier/shift =
 * QuantizeMultiplier(input_scale / output_scale); the kernel folds in
 * 1/num_elements exactly as TFLM. axes may be negative and repeat; keep_dims
 * does not change the data layout (the output is the input with the reduced
 * dims removed or set to 1). */
int32_t hil_mean_s8(const hil_mean_params_t *params, const hil_shape_t *input_shape, const int8_t *input,
                    const int32_t *axes, int32_t num_axes, int8_t *output);
int32_t hil_mean_f32(const hil_shape_t *input_shape, const float *input, const int32_t *axes,
                     int32_t num_axes, float *output);

/* --------------------------------------------------------------------- pad */

/* PAD / PADV2: pad_before[i], pad_after[i] for each input dim; the int8
 * pad value is the output zero point (PAD) or the constant (PADV2). */
int32_t hil_pad_s8(const hil_shape_t *input_shape, const int8_t *input, const int32_t *pad_before,
                   const int32_t *pad_after, int8_t pad_value, int8_t *output);
int32_t hil_pad_f32(const hil_shape_t *input_shape, const float *input, const int32_t *pad_before,
                    const int32_t *pad_after, float pad_value, float *output);

/* ------------------------------------------------------------ concatenation */

/* CONCATENATION along axis (negative counts from the end). TFLM requires all
 * int8 inputs to share the output's scale and zero point: a pure copy. */
int32_t hil_concatenation_s8(int32_t axis, int32_t num_inputs, const hil_shape_t *const *input_shapes,
                             const int8_t *const *inputs, int8_t *output);
int32_t hil_concatenation_f32(int32_t axis, int32_t num_inputs, const hil_shape_t *const *input_shapes,
                              const float *const *inputs, float *output);

/* --------------------------------------------- quantize / dequantize / reshape */

/* QUANTIZE float -> int8: clamp(round_half_away(x / scale) + zero_point). */
int32_t hil_quantize_f32_s8(float scale, int32_t zero_point, int32_t size, const float *input,
                            int8_t *output);
/* QUANTIZE int8 -> int8 (requantize): multiplier/shift from
 * QuantizeMultiplier(input_scale / output_scale). */
int32_t hil_requantize_s8(int32_t input_zero_point, int32_t output_zero_point, int32_t multiplier,
                          int32_t shift, int32_t size, const int8_t *input, int8_t *output);
/* DEQUANTIZE int8 -> float: scale * (q - zero_point). */
int32_t hil_dequantize_s8_f32(float scale, int32_t zero_point, int32_t size, const int8_t *input,
                              float *output);
/* RESHAPE: a copy of num_bytes (input and output may alias). */
int32_t hil_reshape(const void *input, void *output, int32_t num_bytes);

#ifdef __cplusplus
}
#endif

#endif /* HIL_KERNELS_H */

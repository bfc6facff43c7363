/* AVERAGE_POOL_2D and MAX_POOL_2D, int8 and float32.
 * Counterparts: tflite::reference_integer_ops::AveragePool / MaxPool and
 * reference_ops::AveragePool / MaxPool (float). Padded positions are not
 * counted: the average divides by the number of in-bounds elements. */
#include "hil_fixedpoint.h"
#include "hil_internal.h"
#include "kernels.h"

static int32_t check_pool(const hil_pool_params_t *params, const hil_dims_t *input_dims, const void *input,
                          const hil_dims_t *output_dims, const void *output)
{
    if (params == NULL || input_dims == NULL || output_dims == NULL || input == NULL || output == NULL) {
        return HIL_KERNEL_ERR_ARG;
    }
    if (params->stride_h <= 0 || params->stride_w <= 0 || params->filter_h <= 0 || params->filter_w <= 0 ||
        !hil_dims_valid(input_dims) || !hil_dims_valid(output_dims) || input_dims->n != output_dims->n ||
        input_dims->c != output_dims->c) {
        return HIL_KERNEL_ERR_ARG;
    }
    return HIL_KERNEL_OK;
}

/* The filter window of one output position, clamped to the input. */
typedef struct {
    int32_t in_x_origin, in_y_origin;
    int32_t x_start, x_end, y_start, y_end;
} pool_window_t;

static pool_window_t pool_window(const hil_pool_params_t *params, const hil_dims_t *input_dims, int32_t out_y,
                                 int32_t out_x)
{
    pool_window_t w;
    w.in_x_origin = out_x * params->stride_w - params->pad_w;
    w.in_y_origin = out_y * params->stride_h - params->pad_h;
    w.x_start = hil_max_i32(0, -w.in_x_origin);
    w.x_end = hil_min_i32(params->filter_w, input_dims->w - w.in_x_origin);
    w.y_start = hil_max_i32(0, -w.in_y_origin);
    w.y_end = hil_min_i32(params->filter_h, input_dims->h - w.in_y_origin);
    return w;
}

int32_t hil_avgpool_s8(const hil_pool_params_t *params, const hil_dims_t *input_dims, const int8_t *input,
                       const hil_dims_t *output_dims, int8_t *output)
{
    const int32_t status = check_pool(params, input_dims, input, output_dims, output);
    if (status != HIL_KERNEL_OK) {
        return status;
    }
    int32_t batch, out_y, out_x, channel, fy, fx;
    for (batch = 0; batch < input_dims->n; ++batch) {
        for (out_y = 0; out_y < output_dims->h; ++out_y) {
            for (out_x = 0; out_x < output_dims->w; ++out_x) {
                const pool_window_t w = pool_window(params, input_dims, out_y, out_x);
                for (channel = 0; channel < input_dims->c; ++channel) {
                    int32_t acc = 0;
                    int32_t filter_count = 0;
                    for (fy = w.y_start; fy < w.y_end; ++fy) {
                        for (fx = w.x_start; fx < w.x_end; ++fx) {
                            acc = hil_wrap_add(acc, input[hil_offset4(input_dims, batch, w.in_y_origin + fy,
                                                                      w.in_x_origin + fx, channel)]);
                            filter_count++;
                        }
                    }
                    if (filter_count == 0) {
                        return HIL_KERNEL_ERR_ARG; /* TFLM fails the same way */
                    }
                    /* Round to the closest integer value (ties away from zero). */
                    acc = acc > 0 ? hil_wrap_add(acc, filter_count / 2) / filter_count
                                  : hil_wrap_sub(acc, filter_count / 2) / filter_count;
                    acc = hil_clamp_i32(acc, params->act_min, params->act_max);
                    output[hil_offset4(output_dims, batch, out_y, out_x, channel)] = (int8_t)acc;
                }
            }
        }
    }
    return HIL_KERNEL_OK;
}

int32_t hil_maxpool_s8(const hil_pool_params_t *params, const hil_dims_t *input_dims, const int8_t *input,
                       const hil_dims_t *output_dims, int8_t *output)
{
    const int32_t status = check_pool(params, input_dims, input, output_dims, output);
    if (status != HIL_KERNEL_OK) {
        return status;
    }
    int32_t batch, out_y, out_x, channel, fy, fx;
    for (batch = 0; batch < input_dims->n; ++batch) {
        for (out_y = 0; out_y < output_dims->h; ++out_y) {
            for (out_x = 0; out_x < output_dims->w; ++out_x) {
                const pool_window_t w = pool_window(params, input_dims, out_y, out_x);
                for (channel = 0; channel < input_dims->c; ++channel) {
                    int32_t max = -128;
                    for (fy = w.y_start; fy < w.y_end; ++fy) {
                        for (fx = w.x_start; fx < w.x_end; ++fx) {
                            max = hil_max_i32(max, input[hil_offset4(input_dims, batch, w.in_y_origin + fy,
                                                                     w.in_x_origin + fx, channel)]);
                        }
                    }
                    max = hil_clamp_i32(max, params->act_min, params->act_max);
                    output[hil_offset4(output_dims, batch, out_y, out_x, channel)] = (int8_t)max;
                }
            }
        }
    }
    return HIL_KERNEL_OK;
}

int32_t hil_avgpool_f32(const hil_pool_params_t *params, const hil_dims_t *input_dims, const float *input,
                        const hil_dims_t *output_dims, float *output)
{
    const int32_t status = check_pool(params, input_dims, input, output_dims, output);
    if (status != HIL_KERNEL_OK) {
        return status;
    }
    int32_t batch, out_y, out_x, channel, fy, fx;
    for (batch = 0; batch < input_dims->n; ++batch) {
        for (out_y = 0; out_y < output_dims->h; ++out_y) {
            for (out_x = 0; out_x < output_dims->w; ++out_x) {
                const pool_window_t w = pool_window(params, input_dims, out_y, out_x);
                for (channel = 0; channel < input_dims->c; ++channel) {
                    float total = 0.0f;
                    int32_t filter_count = 0;
                    for (fy = w.y_start; fy < w.y_end; ++fy) {
                        for (fx = w.x_start; fx < w.x_end; ++fx) {
                            total += input[hil_offset4(input_dims, batch, w.in_y_origin + fy,
                                                       w.in_x_origin + fx, channel)];
                            filter_count++;
                        }
                    }
                    if (filter_count == 0) {
                        return HIL_KERNEL_ERR_ARG;
                    }
                    const float average = total / (float)filter_count;
                    output[hil_offset4(output_dims, batch, out_y, out_x, channel)] =
                        hil_act_f32(average, params->act_min_f, params->act_max_f);
                }
            }
        }
    }
    return HIL_KERNEL_OK;
}

int32_t hil_maxpool_f32(const hil_pool_params_t *params, const hil_dims_t *input_dims, const float *input,
                        const hil_dims_t *output_dims, float *output)
{
    const int32_t status = check_pool(params, input_dims, input, output_dims, output);
    if (status != HIL_KERNEL_OK) {
        return status;
    }
    int32_t batch, out_y, out_x, channel, fy, fx;
    for (batch = 0; batch < input_dims->n; ++batch) {
        for (out_y = 0; out_y < output_dims->h; ++out_y) {
            for (out_x = 0; out_x < output_dims->w; ++out_x) {
                const pool_window_t w = pool_window(params, input_dims, out_y, out_x);
                for (channel = 0; channel < input_dims->c; ++channel) {
                    float max = -3.40282347e+38f; /* std::numeric_limits<float>::lowest() */
                    for (fy = w.y_start; fy < w.y_end; ++fy) {
                        for (fx = w.x_start; fx < w.x_end; ++fx) {
                            const float v = input[hil_offset4(input_dims, batch, w.in_y_origin + fy,
                                                              w.in_x_origin + fx, channel)];
                            max = (max < v) ? v : max; /* std::max(max, v) */
                        }
                    }
                    output[hil_offset4(output_dims, batch, out_y, out_x, channel)] =
                        hil_act_f32(max, params->act_min_f, params->act_max_f);
                }
            }
        }
    }
    return HIL_KERNEL_OK;
}

/* CONV_2D and DEPTHWISE_CONV_2D, int8 and float32.
 * Counterparts: tflite::reference_integer_ops::ConvPerChannel,
 * reference_integer_ops::DepthwiseConvPerChannel, reference_ops::Conv and
 * reference_ops::DepthwiseConv (float). Loop order and accumulation order
 * follow the reference kernels, so the float versions also sum in the same
 * order. */
#include "arm/hil_dsp.h"
#include "hil_fixedpoint.h"
#include "hil_internal.h"
#include "kernels.h"

int32_t hil_compute_padding(int32_t stride, int32_t dilation, int32_t in_size, int32_t filter_size,
                            int32_t out_size, int32_t *offset)
{
    const int32_t effective_filter_size = (filter_size - 1) * dilation + 1;
    int32_t total_padding = (out_size - 1) * stride + effective_filter_size - in_size;
    total_padding = total_padding > 0 ? total_padding : 0;
    if (offset != NULL) {
        *offset = total_padding % 2;
    }
    return total_padding / 2;
}

static int32_t requant_index(const hil_requant_t *requant, int32_t channel)
{
    return requant->per_channel ? channel : 0;
}

static int32_t check_geometry(int32_t stride_h, int32_t stride_w, int32_t dilation_h, int32_t dilation_w,
                              const hil_dims_t *input_dims, const hil_dims_t *filter_dims,
                              const hil_dims_t *output_dims)
{
    if (input_dims == NULL || filter_dims == NULL || output_dims == NULL) {
        return HIL_KERNEL_ERR_ARG;
    }
    if (stride_h <= 0 || stride_w <= 0 || dilation_h <= 0 || dilation_w <= 0) {
        return HIL_KERNEL_ERR_ARG;
    }
    if (!hil_dims_valid(input_dims) || !hil_dims_valid(filter_dims) || !hil_dims_valid(output_dims) ||
        input_dims->n != output_dims->n) {
        return HIL_KERNEL_ERR_ARG;
    }
    return HIL_KERNEL_OK;
}

/* Grouped convolution (TFLite's): the filter's depth divides the input's, and the groups divide
 * the output channels; sets the filters per group. */
static int32_t conv_groups(const hil_dims_t *input_dims, const hil_dims_t *filter_dims,
                           const hil_dims_t *output_dims, int32_t *filters_per_group)
{
    const int32_t output_depth = filter_dims->n;
    const int32_t filter_input_depth = filter_dims->c;
    if (output_dims->c != output_depth || filter_input_depth == 0 ||
        input_dims->c % filter_input_depth != 0) {
        return HIL_KERNEL_ERR_ARG;
    }
    const int32_t groups = input_dims->c / filter_input_depth;
    if (output_depth % groups != 0) {
        return HIL_KERNEL_ERR_ARG;
    }
    *filters_per_group = output_depth / groups;
    return HIL_KERNEL_OK;
}

int32_t hil_conv2d_s8(const hil_conv_params_t *params, const hil_requant_t *requant,
                      const hil_dims_t *input_dims, const int8_t *input, const hil_dims_t *filter_dims,
                      const int8_t *filter, const int32_t *bias, const hil_dims_t *output_dims,
                      int8_t *output)
{
    if (params == NULL || requant == NULL || requant->multiplier == NULL || requant->shift == NULL ||
        input == NULL || filter == NULL || output == NULL) {
        return HIL_KERNEL_ERR_ARG;
    }
    const int32_t status = check_geometry(params->stride_h, params->stride_w, params->dilation_h,
                                          params->dilation_w, input_dims, filter_dims, output_dims);
    if (status != HIL_KERNEL_OK) {
        return status;
    }
    const int32_t batches = input_dims->n;
    const int32_t input_height = input_dims->h;
    const int32_t input_width = input_dims->w;
    const int32_t output_depth = filter_dims->n;
    const int32_t filter_height = filter_dims->h;
    const int32_t filter_width = filter_dims->w;
    const int32_t filter_input_depth = filter_dims->c;
    const int32_t output_height = output_dims->h;
    const int32_t output_width = output_dims->w;
    int32_t filters_per_group;
    if (conv_groups(input_dims, filter_dims, output_dims, &filters_per_group) != HIL_KERNEL_OK) {
        return HIL_KERNEL_ERR_ARG;
    }
#if HIL_KERNELS_DSP
    if (filters_per_group == output_depth && hil_dsp_offset_ok(params->input_offset) &&
        hil_dsp_act_ok(params->act_min, params->act_max) && hil_dsp_requant_ok(requant, output_depth)) {
        return hil_conv2d_s8_dsp(params, requant, input_dims, input, filter_dims, filter, bias, output_dims,
                                 output);
    }
#endif

    int32_t batch, out_y, out_x, out_channel, filter_y, filter_x, in_channel;
    for (batch = 0; batch < batches; ++batch) {
        for (out_y = 0; out_y < output_height; ++out_y) {
            const int32_t in_y_origin = out_y * params->stride_h - params->pad_h;
            for (out_x = 0; out_x < output_width; ++out_x) {
                const int32_t in_x_origin = out_x * params->stride_w - params->pad_w;
                for (out_channel = 0; out_channel < output_depth; ++out_channel) {
                    const int32_t group = out_channel / filters_per_group;
                    int32_t acc = 0;
                    for (filter_y = 0; filter_y < filter_height; ++filter_y) {
                        const int32_t in_y = in_y_origin + params->dilation_h * filter_y;
                        for (filter_x = 0; filter_x < filter_width; ++filter_x) {
                            const int32_t in_x = in_x_origin + params->dilation_w * filter_x;
                            if (in_x < 0 || in_x >= input_width || in_y < 0 || in_y >= input_height) {
                                continue; /* zero padding */
                            }
                            const int8_t *in_ptr = input + hil_offset4(input_dims, batch, in_y, in_x,
                                                                       group * filter_input_depth);
                            const int8_t *f_ptr =
                                filter + hil_offset4(filter_dims, out_channel, filter_y, filter_x, 0);
                            for (in_channel = 0; in_channel < filter_input_depth; ++in_channel) {
                                const int32_t input_val = in_ptr[in_channel];
                                const int32_t filter_val = f_ptr[in_channel];
                                acc = hil_wrap_add(acc, filter_val * (input_val + params->input_offset));
                            }
                        }
                    }
                    if (bias != NULL) {
                        acc = hil_wrap_add(acc, bias[out_channel]);
                    }
                    const int32_t q = requant_index(requant, out_channel);
                    acc = hil_mbqm(acc, requant->multiplier[q], requant->shift[q]);
                    acc = hil_wrap_add(acc, params->output_offset);
                    acc = hil_clamp_i32(acc, params->act_min, params->act_max);
                    output[hil_offset4(output_dims, batch, out_y, out_x, out_channel)] = (int8_t)acc;
                }
            }
        }
    }
    return HIL_KERNEL_OK;
}

int32_t hil_conv2d_f32(const hil_conv_f32_params_t *params, const hil_dims_t *input_dims, const float *input,
                       const hil_dims_t *filter_dims, const float *filter, const float *bias,
                       const hil_dims_t *output_dims, float *output)
{
    if (params == NULL || input == NULL || filter == NULL || output == NULL) {
        return HIL_KERNEL_ERR_ARG;
    }
    const int32_t status = check_geometry(params->stride_h, params->stride_w, params->dilation_h,
                                          params->dilation_w, input_dims, filter_dims, output_dims);
    if (status != HIL_KERNEL_OK) {
        return status;
    }
    const int32_t batches = input_dims->n;
    const int32_t input_height = input_dims->h;
    const int32_t input_width = input_dims->w;
    const int32_t output_depth = filter_dims->n;
    const int32_t filter_height = filter_dims->h;
    const int32_t filter_width = filter_dims->w;
    const int32_t filter_input_depth = filter_dims->c;
    const int32_t output_height = output_dims->h;
    const int32_t output_width = output_dims->w;
    int32_t filters_per_group;
    if (conv_groups(input_dims, filter_dims, output_dims, &filters_per_group) != HIL_KERNEL_OK) {
        return HIL_KERNEL_ERR_ARG;
    }

    int32_t batch, out_y, out_x, out_channel, filter_y, filter_x, in_channel;
    for (batch = 0; batch < batches; ++batch) {
        for (out_y = 0; out_y < output_height; ++out_y) {
            const int32_t in_y_origin = out_y * params->stride_h - params->pad_h;
            for (out_x = 0; out_x < output_width; ++out_x) {
                const int32_t in_x_origin = out_x * params->stride_w - params->pad_w;
                for (out_channel = 0; out_channel < output_depth; ++out_channel) {
                    const int32_t group = out_channel / filters_per_group;
                    float total = 0.0f;
                    for (filter_y = 0; filter_y < filter_height; ++filter_y) {
                        const int32_t in_y = in_y_origin + params->dilation_h * filter_y;
                        for (filter_x = 0; filter_x < filter_width; ++filter_x) {
                            const int32_t in_x = in_x_origin + params->dilation_w * filter_x;
                            if (in_x < 0 || in_x >= input_width || in_y < 0 || in_y >= input_height) {
                                continue;
                            }
                            const float *in_ptr = input + hil_offset4(input_dims, batch, in_y, in_x,
                                                                      group * filter_input_depth);
                            const float *f_ptr =
                                filter + hil_offset4(filter_dims, out_channel, filter_y, filter_x, 0);
                            for (in_channel = 0; in_channel < filter_input_depth; ++in_channel) {
                                const float product = in_ptr[in_channel] * f_ptr[in_channel];
                                total += product;
                            }
                        }
                    }
                    const float bias_value = bias != NULL ? bias[out_channel] : 0.0f;
                    output[hil_offset4(output_dims, batch, out_y, out_x, out_channel)] =
                        hil_act_f32(total + bias_value, params->act_min, params->act_max);
                }
            }
        }
    }
    return HIL_KERNEL_OK;
}

int32_t hil_depthwise_conv2d_s8(const hil_conv_params_t *params, const hil_requant_t *requant,
                                const hil_dims_t *input_dims, const int8_t *input,
                                const hil_dims_t *filter_dims, const int8_t *filter, const int32_t *bias,
                                const hil_dims_t *output_dims, int8_t *output)
{
    if (params == NULL || requant == NULL || requant->multiplier == NULL || requant->shift == NULL ||
        input == NULL || filter == NULL || output == NULL) {
        return HIL_KERNEL_ERR_ARG;
    }
    const int32_t status = check_geometry(params->stride_h, params->stride_w, params->dilation_h,
                                          params->dilation_w, input_dims, filter_dims, output_dims);
    if (status != HIL_KERNEL_OK) {
        return status;
    }
    const int32_t depth_multiplier = params->depth_multiplier;
    const int32_t batches = input_dims->n;
    const int32_t input_height = input_dims->h;
    const int32_t input_width = input_dims->w;
    const int32_t input_depth = input_dims->c;
    const int32_t filter_height = filter_dims->h;
    const int32_t filter_width = filter_dims->w;
    const int32_t output_height = output_dims->h;
    const int32_t output_width = output_dims->w;
    const int32_t output_depth = output_dims->c;
    if (depth_multiplier <= 0 || output_depth != input_depth * depth_multiplier ||
        filter_dims->c != output_depth || filter_dims->n != 1) {
        return HIL_KERNEL_ERR_ARG;
    }
#if HIL_KERNELS_DSP
    /* the zero point pads gathered windows: an int8 for every valid model */
    if (params->input_offset >= -127 && params->input_offset <= 128 &&
        hil_dsp_act_ok(params->act_min, params->act_max) && hil_dsp_requant_ok(requant, output_depth)) {
        return hil_depthwise_conv2d_s8_dsp(params, requant, input_dims, input, filter_dims, filter, bias,
                                           output_dims, output);
    }
#endif

    int32_t batch, out_y, out_x, in_channel, m, filter_y, filter_x;
    for (batch = 0; batch < batches; ++batch) {
        for (out_y = 0; out_y < output_height; ++out_y) {
            for (out_x = 0; out_x < output_width; ++out_x) {
                for (in_channel = 0; in_channel < input_depth; ++in_channel) {
                    for (m = 0; m < depth_multiplier; ++m) {
                        const int32_t output_channel = m + in_channel * depth_multiplier;
                        const int32_t in_x_origin = out_x * params->stride_w - params->pad_w;
                        const int32_t in_y_origin = out_y * params->stride_h - params->pad_h;
                        int32_t acc = 0;
                        for (filter_y = 0; filter_y < filter_height; ++filter_y) {
                            for (filter_x = 0; filter_x < filter_width; ++filter_x) {
                                const int32_t in_x = in_x_origin + params->dilation_w * filter_x;
                                const int32_t in_y = in_y_origin + params->dilation_h * filter_y;
                                if (in_x >= 0 && in_x < input_width && in_y >= 0 && in_y < input_height) {
                                    const int32_t input_val =
                                        input[hil_offset4(input_dims, batch, in_y, in_x, in_channel)];
                                    const int32_t filter_val = filter[hil_offset4(filter_dims, 0, filter_y,
                                                                                  filter_x, output_channel)];
                                    acc = hil_wrap_add(acc, filter_val * (input_val + params->input_offset));
                                }
                            }
                        }
                        if (bias != NULL) {
                            acc = hil_wrap_add(acc, bias[output_channel]);
                        }
                        const int32_t q = requant_index(requant, output_channel);
                        acc = hil_mbqm(acc, requant->multiplier[q], requant->shift[q]);
                        acc = hil_wrap_add(acc, params->output_offset);
                        acc = hil_clamp_i32(acc, params->act_min, params->act_max);
                        output[hil_offset4(output_dims, batch, out_y, out_x, output_channel)] = (int8_t)acc;
                    }
                }
            }
        }
    }
    return HIL_KERNEL_OK;
}

int32_t hil_depthwise_conv2d_f32(const hil_conv_f32_params_t *params, const hil_dims_t *input_dims,
                                 const float *input, const hil_dims_t *filter_dims, const float *filter,
                                 const float *bias, const hil_dims_t *output_dims, float *output)
{
    if (params == NULL || input == NULL || filter == NULL || output == NULL) {
        return HIL_KERNEL_ERR_ARG;
    }
    const int32_t status = check_geometry(params->stride_h, params->stride_w, params->dilation_h,
                                          params->dilation_w, input_dims, filter_dims, output_dims);
    if (status != HIL_KERNEL_OK) {
        return status;
    }
    const int32_t depth_multiplier = params->depth_multiplier;
    const int32_t batches = input_dims->n;
    const int32_t input_height = input_dims->h;
    const int32_t input_width = input_dims->w;
    const int32_t input_depth = input_dims->c;
    const int32_t filter_height = filter_dims->h;
    const int32_t filter_width = filter_dims->w;
    const int32_t output_height = output_dims->h;
    const int32_t output_width = output_dims->w;
    const int32_t output_depth = output_dims->c;
    if (depth_multiplier <= 0 || output_depth != input_depth * depth_multiplier ||
        filter_dims->c != output_depth || filter_dims->n != 1) {
        return HIL_KERNEL_ERR_ARG;
    }

    int32_t b, out_y, out_x, ic, m, filter_y, filter_x;
    for (b = 0; b < batches; ++b) {
        for (out_y = 0; out_y < output_height; ++out_y) {
            for (out_x = 0; out_x < output_width; ++out_x) {
                for (ic = 0; ic < input_depth; ++ic) {
                    for (m = 0; m < depth_multiplier; ++m) {
                        const int32_t oc = m + ic * depth_multiplier;
                        const int32_t in_x_origin = out_x * params->stride_w - params->pad_w;
                        const int32_t in_y_origin = out_y * params->stride_h - params->pad_h;
                        float total = 0.0f;
                        for (filter_y = 0; filter_y < filter_height; ++filter_y) {
                            for (filter_x = 0; filter_x < filter_width; ++filter_x) {
                                const int32_t in_x = in_x_origin + params->dilation_w * filter_x;
                                const int32_t in_y = in_y_origin + params->dilation_h * filter_y;
                                if (in_x >= 0 && in_x < input_width && in_y >= 0 && in_y < input_height) {
                                    const float product =
                                        input[hil_offset4(input_dims, b, in_y, in_x, ic)] *
                                        filter[hil_offset4(filter_dims, 0, filter_y, filter_x, oc)];
                                    total += product;
                                }
                            }
                        }
                        const float bias_value = bias != NULL ? bias[oc] : 0.0f;
                        output[hil_offset4(output_dims, b, out_y, out_x, oc)] =
                            hil_act_f32(total + bias_value, params->act_min, params->act_max);
                    }
                }
            }
        }
    }
    return HIL_KERNEL_OK;
}

/* FULLY_CONNECTED, int8 and float32.
 * Counterparts: tflite::reference_integer_ops::FullyConnected (per tensor,
 * with filter offset), reference_integer_ops::FullyConnectedPerChannel and
 * reference_ops::FullyConnected (float). */
#include "arm/hil_dsp.h"
#include "hil_fixedpoint.h"
#include "hil_internal.h"
#include "kernels.h"

int32_t hil_fully_connected_s8(const hil_fc_params_t *params, const hil_requant_t *requant, int32_t batches,
                               int32_t accum_depth, int32_t output_depth, const int8_t *input,
                               const int8_t *filter, const int32_t *bias, int8_t *output)
{
    if (params == NULL || requant == NULL || requant->multiplier == NULL || requant->shift == NULL ||
        input == NULL || filter == NULL || output == NULL) {
        return HIL_KERNEL_ERR_ARG;
    }
    if (batches < 0 || accum_depth < 0 || output_depth < 0) {
        return HIL_KERNEL_ERR_ARG;
    }
#if HIL_KERNELS_DSP && !defined(HIL_BREAK_KERNEL_FULLY_CONNECTED)
    if (hil_dsp_offset_ok(params->input_offset) && hil_dsp_offset_ok(params->filter_offset) &&
        hil_dsp_act_ok(params->act_min, params->act_max) && hil_dsp_requant_ok(requant, output_depth)) {
        return hil_fully_connected_s8_dsp(params, requant, batches, accum_depth, output_depth, input, filter,
                                          bias, output);
    }
#endif
    int32_t b, out_c, d;
    for (b = 0; b < batches; ++b) {
        for (out_c = 0; out_c < output_depth; ++out_c) {
            int32_t acc = 0;
            for (d = 0; d < accum_depth; ++d) {
                const int32_t input_val = input[b * accum_depth + d];
                const int32_t filter_val = filter[out_c * accum_depth + d];
                acc = hil_wrap_add(acc,
                                   (filter_val + params->filter_offset) * (input_val + params->input_offset));
            }
            if (bias != NULL) {
                acc = hil_wrap_add(acc, bias[out_c]);
            }
            const int32_t q = requant->per_channel ? out_c : 0;
            acc = hil_mbqm(acc, requant->multiplier[q], requant->shift[q]);
            acc = hil_wrap_add(acc, params->output_offset);
#ifdef HIL_BREAK_KERNEL_FULLY_CONNECTED  /* a deliberately wrong firmware for the harness's own tests */
            acc += out_c == 0 ? 100 : 0; /* one output only: softmax would cancel a uniform shift */
#endif
            acc = hil_clamp_i32(acc, params->act_min, params->act_max);
            output[b * output_depth + out_c] = (int8_t)acc;
        }
    }
    return HIL_KERNEL_OK;
}

int32_t hil_fully_connected_f32(float act_min, float act_max, int32_t batches, int32_t accum_depth,
                                int32_t output_depth, const float *input, const float *filter,
                                const float *bias, float *output)
{
    if (input == NULL || filter == NULL || output == NULL) {
        return HIL_KERNEL_ERR_ARG;
    }
    if (batches < 0 || accum_depth < 0 || output_depth < 0) {
        return HIL_KERNEL_ERR_ARG;
    }
    int32_t b, out_c, d;
    for (b = 0; b < batches; ++b) {
        for (out_c = 0; out_c < output_depth; ++out_c) {
            float total = 0.0f;
            for (d = 0; d < accum_depth; ++d) {
                const float product = input[b * accum_depth + d] * filter[out_c * accum_depth + d];
                total += product;
            }
            const float bias_value = bias != NULL ? bias[out_c] : 0.0f;
            output[out_c + output_depth * b] = hil_act_f32(total + bias_value, act_min, act_max);
        }
    }
    return HIL_KERNEL_OK;
}

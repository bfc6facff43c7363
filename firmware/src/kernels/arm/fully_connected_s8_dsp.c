/* FULLY_CONNECTED int8 on the DSP extension (ARMv7E-M): same results as
 * hil_fully_connected_s8.
 *
 * Four output units at a time share each load of the input (hil_dsp_blocks4); a filter
 * zero point (per-tensor quantisation) is added in the 16-bit lanes as the input's is.
 * No scratch memory. */
#include "hil_dsp_dot.h"

#if HIL_KERNELS_DSP

int32_t hil_fully_connected_s8_dsp(const hil_fc_params_t *params, const hil_requant_t *requant,
                                   int32_t batches, int32_t accum_depth, int32_t output_depth,
                                   const int8_t *input, const int8_t *filter, const int32_t *bias,
                                   int8_t *output)
{
    const int32_t rq_step = requant->per_channel ? 1 : 0;
    const int32_t x_off = params->input_offset;
    const int32_t f_off = params->filter_offset;
    const int32_t *multipliers = requant->multiplier, *shifts = requant->shift;
    const hil_dsp_out_t o = {params->output_offset, params->act_min, params->act_max};
    const hil_dsp_block_t blk = {x_off,
                                 bias,
                                 multipliers,
                                 shifts,
                                 rq_step,
                                 o,
                                 hil_dsp_bytes4(params->act_min),
                                 hil_dsp_bytes4(params->act_max),
                                 hil_dsp_narrow_ok(requant, output_depth, bias, accum_depth, x_off, f_off)};
    int32_t b, oc, count, j;
    for (b = 0; b < batches; ++b) {
        const int8_t *x = input + b * accum_depth;
        int8_t *out = output + b * output_depth;
        oc = 0;
        if (f_off == 0) { /* the common case: one call does every block of four units */
            const int32_t blocks = output_depth / 4;
            hil_dsp_blocks4(x, filter, accum_depth, accum_depth, &blk, blocks, out);
            oc = 4 * blocks;
        }
        for (; oc < output_depth; oc += count) {
            const int8_t *f = filter + oc * accum_depth;
            int32_t acc[4] = {0, 0, 0, 0};
            count = output_depth - oc >= 4 ? 4 : 1;
            if (count == 1) {
                acc[0] = hil_dsp_dot1(x, f, accum_depth, x_off, f_off, 0);
            } else if (f_off == 0) {
                hil_dsp_dot4(x, f, accum_depth, accum_depth, x_off, acc);
            } else {
                hil_dsp_dot4_offset(x, f, accum_depth, accum_depth, x_off, f_off, acc);
            }
            for (j = 0; j < count; ++j) {
                const int32_t c = oc + j;
                const int32_t q = c * rq_step;
                out[c] = hil_dsp_requant(hil_wrap_add(acc[j], bias != NULL ? bias[c] : 0), multipliers[q],
                                         shifts[q], o);
            }
        }
    }
    return HIL_KERNEL_OK;
}

#else
typedef int32_t hil_fully_connected_s8_dsp_unused_t; /* ISO C forbids an empty translation unit */
#endif /* HIL_KERNELS_DSP */

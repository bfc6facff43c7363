/* MEAN over any set of axes, int8 and float32.
 * Counterparts: tflite::reference_ops::QuantizedMeanOrSum (int8; TFLM's
 * reduce_common.cc EvalIntegerMean) and reference_ops::Mean (float; the 4-D
 * axes {1,2} special case sums in the same order as the generic one). */
#include "hil_fixedpoint.h"
#include "hil_internal.h"
#include "kernels.h"

/* Resolved reduction: which dims are reduced, strides, element count. */
typedef struct {
    int32_t rank;
    int32_t dims[HIL_MAX_RANK];
    int32_t strides[HIL_MAX_RANK];
    int32_t reduced[HIL_MAX_RANK];
    int32_t num_outputs;
    int32_t num_reduced; /* elements per output */
} reduction_t;

static int32_t reduction_init(reduction_t *r, const hil_shape_t *shape, const int32_t *axes, int32_t num_axes)
{
    int32_t i, stride = 1;
    if (!hil_shape_valid(shape) || (axes == NULL && num_axes != 0) || num_axes < 0) {
        return HIL_KERNEL_ERR_ARG;
    }
    r->rank = shape->rank;
    for (i = 0; i < shape->rank; ++i) {
        r->dims[i] = shape->dims[i];
        r->reduced[i] = 0;
    }
    for (i = 0; i < num_axes; ++i) {
        const int32_t axis = axes[i] < 0 ? axes[i] + shape->rank : axes[i];
        if (axis < 0 || axis >= shape->rank) {
            return HIL_KERNEL_ERR_ARG;
        }
        r->reduced[axis] = 1; /* duplicates are ignored, as ResolveAxis does */
    }
    r->num_outputs = 1;
    r->num_reduced = 1;
    for (i = shape->rank - 1; i >= 0; --i) {
        r->strides[i] = stride;
        stride *= shape->dims[i];
        if (r->reduced[i]) {
            r->num_reduced *= shape->dims[i];
        } else {
            r->num_outputs *= shape->dims[i];
        }
    }
    return HIL_KERNEL_OK;
}

/* Advance the odometer over the dims with reduced[d] == want (last dim
 * fastest); returns the change of the input offset, or sets *done. */
static int32_t odometer_next(const reduction_t *r, int32_t *index, int32_t want, int32_t *done)
{
    int32_t d, delta = 0;
    for (d = r->rank - 1; d >= 0; --d) {
        if (r->reduced[d] != want) {
            continue;
        }
        index[d]++;
        delta += r->strides[d];
        if (index[d] < r->dims[d]) {
            return delta;
        }
        delta -= r->strides[d] * index[d];
        index[d] = 0;
    }
    *done = 1;
    return delta;
}

int32_t hil_mean_s8(const hil_mean_params_t *params, const hil_shape_t *input_shape, const int8_t *input,
                    const int32_t *axes, int32_t num_axes, int8_t *output)
{
    reduction_t r;
    int32_t out_index[HIL_MAX_RANK] = {0};
    int32_t base = 0, o, done_out = 0;
    if (params == NULL || input == NULL || output == NULL) {
        return HIL_KERNEL_ERR_ARG;
    }
    if (reduction_init(&r, input_shape, axes, num_axes) != HIL_KERNEL_OK) {
        return HIL_KERNEL_ERR_ARG;
    }
    if (r.num_outputs == 0) {
        return HIL_KERNEL_OK;
    }
    if (r.num_reduced == 0) {
        for (o = 0; o < r.num_outputs; ++o) {
            output[o] = 0; /* TFLM leaves T() in the output */
        }
        return HIL_KERNEL_OK;
    }
    /* Fold 1/num_elements into the multiplier exactly as TFLM does. */
    int32_t shift = 63 - (r.num_reduced > 0 ? (32 + hil_clz32((uint32_t)r.num_reduced)) : 64);
    shift = hil_min_i32(shift, 32);
    shift = hil_min_i32(shift, 31 + params->shift);
    if (shift < 0) {
        shift = 0; /* TFLM would shift by a negative amount (undefined) */
    }
    const int32_t multiplier =
        (int32_t)(((int64_t)params->multiplier * ((int64_t)1 << shift)) / (int64_t)r.num_reduced);
    const int32_t out_shift = params->shift - shift;

    for (o = 0; o < r.num_outputs && !done_out; ++o) {
        int32_t red_index[HIL_MAX_RANK] = {0};
        int32_t offset = base, done = 0;
        int32_t sum = 0;
        while (!done) {
            sum = hil_wrap_add(sum, input[offset]);
            offset += odometer_next(&r, red_index, 1, &done);
        }
        const int32_t shifted_sum =
            (int32_t)((int64_t)sum - (int64_t)params->input_zero_point * (int64_t)r.num_reduced);
        int32_t out = hil_wrap_add(hil_mbqm(shifted_sum, multiplier, out_shift), params->output_zero_point);
        output[o] = (int8_t)hil_clamp_i32(out, -128, 127);
        base += odometer_next(&r, out_index, 0, &done_out);
    }
    return HIL_KERNEL_OK;
}

int32_t hil_mean_f32(const hil_shape_t *input_shape, const float *input, const int32_t *axes,
                     int32_t num_axes, float *output)
{
    reduction_t r;
    int32_t out_index[HIL_MAX_RANK] = {0};
    int32_t base = 0, o, done_out = 0;
    if (input == NULL || output == NULL) {
        return HIL_KERNEL_ERR_ARG;
    }
    if (reduction_init(&r, input_shape, axes, num_axes) != HIL_KERNEL_OK) {
        return HIL_KERNEL_ERR_ARG;
    }
    for (o = 0; o < r.num_outputs && !done_out; ++o) {
        int32_t red_index[HIL_MAX_RANK] = {0};
        int32_t offset = base, done = r.num_reduced == 0;
        float sum = 0.0f;
        while (!done) {
            sum += input[offset];
            offset += odometer_next(&r, red_index, 1, &done);
        }
        output[o] = r.num_reduced > 0 ? sum / (float)r.num_reduced : 0.0f;
        base += odometer_next(&r, out_index, 0, &done_out);
    }
    return HIL_KERNEL_OK;
}

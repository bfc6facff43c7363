/* ADD and MUL with numpy-style broadcasting, int8 and float32.
 * Counterparts: tflite::reference_integer_ops::AddFunc / MulElementwise
 * (via Add, BroadcastAdd6DSlow, Mul, BroadcastMul6DSlow) and
 * reference_ops::Add / Mul for float. Each output element depends only on
 * its two input elements, so the iteration order does not matter. */
#include "hil_fixedpoint.h"
#include "hil_internal.h"
#include "kernels.h"

int32_t hil_shape_flat_size(const hil_shape_t *shape)
{
    int32_t i;
    int32_t size = 1;
    if (shape == NULL) {
        return 0;
    }
    for (i = 0; i < shape->rank; ++i) {
        size *= shape->dims[i];
    }
    return size;
}

/* Broadcast iteration state: shapes extended to HIL_MAX_RANK dims. */
typedef struct {
    int32_t out_dims[HIL_MAX_RANK];
    int32_t stride1[HIL_MAX_RANK];
    int32_t stride2[HIL_MAX_RANK];
    int32_t size;
} bcast_t;

static int32_t bcast_init(bcast_t *bc, const hil_shape_t *s1, const hil_shape_t *s2, const hil_shape_t *so)
{
    int32_t d1[HIL_MAX_RANK], d2[HIL_MAX_RANK];
    int32_t i, st1 = 1, st2 = 1;
    if (!hil_shape_valid(s1) || !hil_shape_valid(s2) || !hil_shape_valid(so)) {
        return HIL_KERNEL_ERR_ARG;
    }
    for (i = 0; i < HIL_MAX_RANK; ++i) {
        const int32_t k1 = i - (HIL_MAX_RANK - s1->rank);
        const int32_t k2 = i - (HIL_MAX_RANK - s2->rank);
        const int32_t ko = i - (HIL_MAX_RANK - so->rank);
        d1[i] = k1 >= 0 ? s1->dims[k1] : 1;
        d2[i] = k2 >= 0 ? s2->dims[k2] : 1;
        bc->out_dims[i] = ko >= 0 ? so->dims[ko] : 1;
        if ((d1[i] != bc->out_dims[i] && d1[i] != 1) || (d2[i] != bc->out_dims[i] && d2[i] != 1)) {
            return HIL_KERNEL_ERR_ARG;
        }
    }
    for (i = HIL_MAX_RANK - 1; i >= 0; --i) {
        bc->stride1[i] = (d1[i] == 1) ? 0 : st1;
        bc->stride2[i] = (d2[i] == 1) ? 0 : st2;
        st1 *= d1[i];
        st2 *= d2[i];
    }
    bc->size = hil_shape_flat_size(so);
    return HIL_KERNEL_OK;
}

/* Advance a 6-d index; returns the new input offsets through i1/i2. */
static void bcast_next(const bcast_t *bc, int32_t *index, int32_t *i1, int32_t *i2)
{
    int32_t d;
    for (d = HIL_MAX_RANK - 1; d >= 0; --d) {
        index[d]++;
        *i1 += bc->stride1[d];
        *i2 += bc->stride2[d];
        if (index[d] < bc->out_dims[d]) {
            return;
        }
        *i1 -= bc->stride1[d] * index[d];
        *i2 -= bc->stride2[d] * index[d];
        index[d] = 0;
    }
}

static int8_t add_s8(const hil_add_params_t *p, int8_t x, int8_t y)
{
    const int32_t input1_val = p->input1_offset + x;
    const int32_t input2_val = p->input2_offset + y;
    const int32_t shifted_input1_val = input1_val * ((int32_t)1 << p->left_shift);
    const int32_t shifted_input2_val = input2_val * ((int32_t)1 << p->left_shift);
    const int32_t scaled_input1_val =
        hil_mbqm_smaller_than_one(shifted_input1_val, p->input1_multiplier, p->input1_shift);
    const int32_t scaled_input2_val =
        hil_mbqm_smaller_than_one(shifted_input2_val, p->input2_multiplier, p->input2_shift);
    const int32_t raw_sum = scaled_input1_val + scaled_input2_val;
    const int32_t raw_output = hil_wrap_add(
        hil_mbqm_smaller_than_one(raw_sum, p->output_multiplier, p->output_shift), p->output_offset);
    return (int8_t)hil_clamp_i32(raw_output, p->act_min, p->act_max);
}

static int8_t mul_s8(const hil_mul_params_t *p, int8_t x, int8_t y)
{
    const int32_t input1_val = p->input1_offset + x;
    const int32_t input2_val = p->input2_offset + y;
    const int32_t unclamped = hil_wrap_add(
        p->output_offset, hil_mbqm(input1_val * input2_val, p->output_multiplier, p->output_shift));
    return (int8_t)hil_clamp_i32(unclamped, p->act_min, p->act_max);
}

int32_t hil_add_s8(const hil_add_params_t *params, const hil_shape_t *input1_shape, const int8_t *input1,
                   const hil_shape_t *input2_shape, const int8_t *input2, const hil_shape_t *output_shape,
                   int8_t *output)
{
    bcast_t bc;
    int32_t index[HIL_MAX_RANK] = {0};
    int32_t i, i1 = 0, i2 = 0;
    if (params == NULL || input1 == NULL || input2 == NULL || output == NULL || params->left_shift < 0 ||
        params->left_shift > 30) {
        return HIL_KERNEL_ERR_ARG;
    }
    if (bcast_init(&bc, input1_shape, input2_shape, output_shape) != HIL_KERNEL_OK) {
        return HIL_KERNEL_ERR_ARG;
    }
    if (hil_shape_flat_size(input1_shape) == bc.size && hil_shape_flat_size(input2_shape) == bc.size) {
        const hil_add_params_t p = *params; /* the stores below may alias *params */
        for (i = 0; i < bc.size; ++i) {     /* no broadcast: one flat loop */
            output[i] = add_s8(&p, input1[i], input2[i]);
        }
        return HIL_KERNEL_OK;
    }
    for (i = 0; i < bc.size; ++i) {
        output[i] = add_s8(params, input1[i1], input2[i2]);
        bcast_next(&bc, index, &i1, &i2);
    }
    return HIL_KERNEL_OK;
}

int32_t hil_mul_s8(const hil_mul_params_t *params, const hil_shape_t *input1_shape, const int8_t *input1,
                   const hil_shape_t *input2_shape, const int8_t *input2, const hil_shape_t *output_shape,
                   int8_t *output)
{
    bcast_t bc;
    int32_t index[HIL_MAX_RANK] = {0};
    int32_t i, i1 = 0, i2 = 0;
    if (params == NULL || input1 == NULL || input2 == NULL || output == NULL) {
        return HIL_KERNEL_ERR_ARG;
    }
    if (bcast_init(&bc, input1_shape, input2_shape, output_shape) != HIL_KERNEL_OK) {
        return HIL_KERNEL_ERR_ARG;
    }
    if (hil_shape_flat_size(input1_shape) == bc.size && hil_shape_flat_size(input2_shape) == bc.size) {
        const hil_mul_params_t p = *params; /* the stores below may alias *params */
        for (i = 0; i < bc.size; ++i) {     /* no broadcast: one flat loop */
            output[i] = mul_s8(&p, input1[i], input2[i]);
        }
        return HIL_KERNEL_OK;
    }
    for (i = 0; i < bc.size; ++i) {
        output[i] = mul_s8(params, input1[i1], input2[i2]);
        bcast_next(&bc, index, &i1, &i2);
    }
    return HIL_KERNEL_OK;
}

int32_t hil_add_f32(float act_min, float act_max, const hil_shape_t *input1_shape, const float *input1,
                    const hil_shape_t *input2_shape, const float *input2, const hil_shape_t *output_shape,
                    float *output)
{
    bcast_t bc;
    int32_t index[HIL_MAX_RANK] = {0};
    int32_t i, i1 = 0, i2 = 0;
    if (input1 == NULL || input2 == NULL || output == NULL) {
        return HIL_KERNEL_ERR_ARG;
    }
    if (bcast_init(&bc, input1_shape, input2_shape, output_shape) != HIL_KERNEL_OK) {
        return HIL_KERNEL_ERR_ARG;
    }
    for (i = 0; i < bc.size; ++i) {
        output[i] = hil_act_f32(input1[i1] + input2[i2], act_min, act_max);
        bcast_next(&bc, index, &i1, &i2);
    }
    return HIL_KERNEL_OK;
}

int32_t hil_mul_f32(float act_min, float act_max, const hil_shape_t *input1_shape, const float *input1,
                    const hil_shape_t *input2_shape, const float *input2, const hil_shape_t *output_shape,
                    float *output)
{
    bcast_t bc;
    int32_t index[HIL_MAX_RANK] = {0};
    int32_t i, i1 = 0, i2 = 0;
    if (input1 == NULL || input2 == NULL || output == NULL) {
        return HIL_KERNEL_ERR_ARG;
    }
    if (bcast_init(&bc, input1_shape, input2_shape, output_shape) != HIL_KERNEL_OK) {
        return HIL_KERNEL_ERR_ARG;
    }
    for (i = 0; i < bc.size; ++i) {
        output[i] = hil_act_f32(input1[i1] * input2[i2], act_min, act_max);
        bcast_next(&bc, index, &i1, &i2);
    }
    return HIL_KERNEL_OK;
}

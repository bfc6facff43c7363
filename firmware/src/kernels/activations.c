/* SOFTMAX and LOGISTIC, int8 and float32, plus the portable hil_expf.
 * Counterparts: tflite::reference_ops::Softmax<int8_t, int8_t> (the gemmlowp
 * fixed-point path that TFLM uses for int8 input: softmax_common.cc calls
 * PreprocessSoftmaxScaling, there are no LUTs for int8),
 * reference_integer_ops::Logistic (gemmlowp::logistic on Q4.27), and
 * reference_ops::Softmax / Logistic for float. */
#include "hil_fixedpoint.h"
#include "hil_internal.h"
#include "kernels.h"

/* --------------------------------------------------------------- softmax */

#define SCALED_DIFF_INTEGER_BITS 5
#define ACCUMULATION_INTEGER_BITS 12

/* tflite::GetReciprocal: 1/x for x in Q(x_integer_digits). */
static int32_t get_reciprocal(int32_t x, int32_t x_integer_digits, int32_t *num_bits_over_unit)
{
    const int32_t headroom_plus_one = hil_clz32((uint32_t)x);
    *num_bits_over_unit = x_integer_digits - headroom_plus_one;
    /* x == 0 (a sum of exponentials that wrapped to 0): 0 shifted is 0, but a shift by 32 is
     * undefined in C */
    const uint32_t shifted = headroom_plus_one < 32 ? (uint32_t)x << headroom_plus_one : 0u;
    const int32_t shifted_sum_minus_one = (int32_t)(shifted - ((uint32_t)1 << 31));
    return hil_fp_one_over_one_plus_x(shifted_sum_minus_one);
}

int32_t hil_softmax_s8(const hil_softmax_params_t *params, int32_t outer_size, int32_t depth,
                       const int8_t *input, int8_t *output)
{
    int32_t i, c;
    if (params == NULL || input == NULL || output == NULL || outer_size < 0 || depth < 0 ||
        params->input_left_shift < 0 || params->input_left_shift > 31) {
        return HIL_KERNEL_ERR_ARG;
    }
    for (i = 0; i < outer_size; ++i) {
        const int8_t *in_row = input + i * depth;
        int8_t *out_row = output + i * depth;
        int32_t max_in_row = -128;
        for (c = 0; c < depth; ++c) {
            max_in_row = hil_max_i32(max_in_row, in_row[c]);
        }
        int32_t sum_of_exps = 0; /* Q12.19 */
        for (c = 0; c < depth; ++c) {
            const int32_t input_diff = (int32_t)in_row[c] - max_in_row;
            if (input_diff >= params->diff_min) {
                const int32_t input_diff_rescaled =
                    hil_mbqm_greater_than_one(input_diff, params->input_multiplier, params->input_left_shift);
                const int32_t exp_q0 =
                    hil_fp_exp_on_negative_values(input_diff_rescaled, SCALED_DIFF_INTEGER_BITS);
                sum_of_exps = hil_wrap_add(sum_of_exps, hil_fp_rescale(exp_q0, 0, ACCUMULATION_INTEGER_BITS));
            }
        }
        int32_t num_bits_over_unit;
        const int32_t shifted_scale =
            get_reciprocal(sum_of_exps, ACCUMULATION_INTEGER_BITS, &num_bits_over_unit);
        for (c = 0; c < depth; ++c) {
            const int32_t input_diff = (int32_t)in_row[c] - max_in_row;
            if (input_diff >= params->diff_min) {
                const int32_t input_diff_rescaled =
                    hil_mbqm_greater_than_one(input_diff, params->input_multiplier, params->input_left_shift);
                const int32_t exp_q0 =
                    hil_fp_exp_on_negative_values(input_diff_rescaled, SCALED_DIFF_INTEGER_BITS);
                const int32_t unsat_output =
                    hil_rdbpot(hil_srdhm(shifted_scale, exp_q0), num_bits_over_unit + 31 - 8);
                const int32_t shifted_output = unsat_output - 128;
                out_row[c] = (int8_t)hil_clamp_i32(shifted_output, -128, 127);
            } else {
                out_row[c] = -128;
            }
        }
    }
    return HIL_KERNEL_OK;
}

/* --------------------------------------------------------------- logistic */

int32_t hil_logistic_s8(const hil_logistic_params_t *params, int32_t size, const int8_t *input,
                        int8_t *output)
{
    int32_t i;
    if (params == NULL || input == NULL || output == NULL || size < 0) {
        return HIL_KERNEL_ERR_ARG;
    }
    for (i = 0; i < size; ++i) {
        const int32_t in = (int32_t)input[i] - params->input_zero_point;
        if (in <= -params->input_range_radius) {
            output[i] = -128;
        } else if (in >= params->input_range_radius) {
            output[i] = 127;
        } else {
            const int32_t input_in_q4 = hil_mbqm(in, params->input_multiplier, params->input_left_shift);
            const int32_t output_in_q0 = hil_fp_logistic(input_in_q4, 4);
            int32_t output_in_q23 = hil_rdbpot(output_in_q0, 31 - 8);
            output_in_q23 = hil_clamp_i32(output_in_q23 - 128, -128, 127);
            output[i] = (int8_t)output_in_q23;
        }
    }
    return HIL_KERNEL_OK;
}

/* ------------------------------------------------------------------ float */

typedef union {
    float f;
    uint32_t u;
} f32_bits_t;

static float pow2i(int32_t k)
{ /* 2^k for k in [-126, 127] */
    f32_bits_t b;
    b.u = (uint32_t)(k + 127) << 23;
    return b.f;
}

#if HIL_TRAINING_SELFTEST_PERTURB
/* The training self-test's firmware (docs/training.md): a deliberately wrong r^3 coefficient, 2^-10
 * too big (~100 ulp in exp), which the host's bit-exact comparison of training must catch. (1/721
 * for 1/720 was tried and stays below float resolution for |r| <= 0.35: it changes no result.) */
#define EXP_C3 ((1.0f / 6.0f) * 1.0009765625f)
#else
#define EXP_C3 (1.0f / 6.0f)
#endif

/* Also the exp of on-device training's softmax loss, mirrored operation for operation by
 * harness/training/f32math.py: one definition keeps the two bit-identical. */
float hil_expf(float x)
{
    const float log2e = 1.44269504088896341f;
    const float ln2_hi = 6.93145751953125e-1f; /* 11 significant bits: k*ln2_hi exact */
    const float ln2_lo = 1.42860682030941723212e-6f;
    if (x != x) {
        return x + x; /* NaN */
    }
    if (x > 88.72283935546875f) {
        return pow2i(127) * pow2i(127); /* +inf */
    }
    if (x < -103.972084045410156f) {
        return 0.0f;
    }
    const float t = x * log2e;
    const int32_t k = (int32_t)(t >= 0.0f ? t + 0.5f : t - 0.5f);
    const float kf = (float)k;
    const float r = (x - kf * ln2_hi) - kf * ln2_lo; /* |r| <= ~0.35 */
    /* exp(r) by its Taylor series to r^8/8! (error < 2^-27 on |r| <= 0.36). */
    float p = 1.0f / 40320.0f;
    p = p * r + 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + EXP_C3;
    p = p * r + 0.5f;
    p = p * r; /* r/2 + r^2/6 + ...      */
    p = p * r; /* r^2/2 + r^3/6 + ...    */
    const float y = 1.0f + (r + p);
    if (k > 127) {
        return y * pow2i(127) * pow2i(k - 127);
    }
    if (k < -126) {
        return y * pow2i(-126) * pow2i(k + 126);
    }
    return y * pow2i(k);
}

int32_t hil_softmax_f32(float beta, int32_t outer_size, int32_t depth, const float *input, float *output)
{
    int32_t i, c;
    if (input == NULL || output == NULL || outer_size < 0 || depth < 0) {
        return HIL_KERNEL_ERR_ARG;
    }
    for (i = 0; i < outer_size; ++i) {
        const float *in_row = input + i * depth;
        float *out_row = output + i * depth;
        float max = -3.40282347e+38f;
        for (c = 0; c < depth; ++c) {
            max = (max < in_row[c]) ? in_row[c] : max;
        }
        float sum = 0.0f;
        for (c = 0; c < depth; ++c) {
            const float exp_c = hil_expf((in_row[c] - max) * beta);
            out_row[c] = exp_c;
            sum += exp_c;
        }
        for (c = 0; c < depth; ++c) {
            out_row[c] = out_row[c] / sum;
        }
    }
    return HIL_KERNEL_OK;
}

int32_t hil_logistic_f32(int32_t size, const float *input, float *output)
{
    const float cutoff_upper = 16.619047164916992188f;
    const float cutoff_lower = -9.0f;
    int32_t i;
    if (input == NULL || output == NULL || size < 0) {
        return HIL_KERNEL_ERR_ARG;
    }
    for (i = 0; i < size; ++i) {
        const float val = input[i];
        float result;
        if (val > cutoff_upper) {
            result = 1.0f;
        } else if (val < cutoff_lower) {
            result = hil_expf(val);
        } else {
            result = 1.0f / (1.0f + hil_expf(-val));
        }
        output[i] = result;
    }
    return HIL_KERNEL_OK;
}

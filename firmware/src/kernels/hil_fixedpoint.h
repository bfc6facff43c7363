/* Fixed-point helpers shared by the int8 kernels (internal header).
 *
 * These reproduce, bit for bit, the integer arithmetic of TensorFlow Lite
 * Micro's reference kernels as built by default (TFLITE_SINGLE_ROUNDING off,
 * i.e. "double rounding"): tensorflow/lite/kernels/internal/common.h and the
 * scalar int32 parts of gemmlowp's fixedpoint.h that TFLM uses for SOFTMAX
 * and LOGISTIC.
 *
 * Everything is static inline, uses only int32_t/int64_t/uint32_t (never
 * `int`, which is 16 bits on AVR) and relies on no undefined behaviour:
 * left shifts of negative numbers are done as multiplications and right
 * shifts of negative numbers are arithmetic on every compiler we target
 * (gcc documents it).
 */
#ifndef HIL_FIXEDPOINT_H
#define HIL_FIXEDPOINT_H

#include <stdint.h>

#define HIL_INT32_MIN ((int32_t)(-2147483647L - 1L))
#define HIL_INT32_MAX ((int32_t)2147483647L)

static inline int32_t hil_min_i32(int32_t a, int32_t b)
{
    return a < b ? a : b;
}
static inline int32_t hil_max_i32(int32_t a, int32_t b)
{
    return a > b ? a : b;
}
static inline int32_t hil_clamp_i32(int32_t x, int32_t lo, int32_t hi)
{
    /* std::min(hi, std::max(lo, x)) as in TFLM */
    return hil_min_i32(hi, hil_max_i32(lo, x));
}

/* (a * b * 2) >> 32 with rounding to nearest, saturating the single
 * overflow case a == b == INT32_MIN. gemmlowp::SaturatingRoundingDoublingHighMul. */
static inline int32_t hil_srdhm(int32_t a, int32_t b)
{
    if (a == b && a == HIL_INT32_MIN) {
        return HIL_INT32_MAX;
    }
    /* gemmlowp: (ab + nudge) / 2^31 truncating toward zero, nudge = 2^30 for ab >= 0 and
     * 1 - 2^30 otherwise. For ab < 0 the truncation is a ceiling: ceil((ab + 1 - 2^30) / 2^31)
     * = floor((ab + 2^30) / 2^31), the same as for ab >= 0, so one arithmetic shift does
     * both (no branch, no 64-bit division). */
    const int64_t ab = (int64_t)a * (int64_t)b;
    return (int32_t)((ab + ((int64_t)1 << 30)) >> 31);
}

/* x / 2^exponent rounded to nearest, ties away from zero.
 * gemmlowp::RoundingDivideByPOT; exponent in [0, 31]. */
static inline int32_t hil_rdbpot(int32_t x, int32_t exponent)
{
    const int32_t mask = (int32_t)((((int64_t)1) << exponent) - 1);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* tflite::MultiplyByQuantizedMultiplier (double-rounding variant):
 * x * multiplier * 2^shift, multiplier in Q31. */
static inline int32_t hil_mbqm(int32_t x, int32_t multiplier, int32_t shift)
{
    const int32_t left_shift = shift > 0 ? shift : 0;
    const int32_t right_shift = shift > 0 ? 0 : -shift;
    return hil_rdbpot(hil_srdhm((int32_t)((int64_t)x * ((int64_t)1 << left_shift)), multiplier), right_shift);
}

/* tflite::MultiplyByQuantizedMultiplierSmallerThanOneExp (shift <= 0). */
static inline int32_t hil_mbqm_smaller_than_one(int32_t x, int32_t multiplier, int32_t shift)
{
    return hil_rdbpot(hil_srdhm(x, multiplier), -shift);
}

/* tflite::MultiplyByQuantizedMultiplierGreaterThanOne (left_shift >= 0). */
static inline int32_t hil_mbqm_greater_than_one(int32_t x, int32_t multiplier, int32_t left_shift)
{
    return hil_srdhm((int32_t)((int64_t)x * ((int64_t)1 << left_shift)), multiplier);
}

/* ---- gemmlowp FixedPoint<int32_t, N> scalar arithmetic (raw values) ---- */

/* gemmlowp::SaturatingRoundingMultiplyByPOT<exponent> */
static inline int32_t hil_srmbpot(int32_t x, int32_t exponent)
{
    if (exponent > 0) {
        const int32_t threshold = (int32_t)((((int64_t)1) << (31 - exponent)) - 1);
        if (x > threshold) {
            return HIL_INT32_MAX;
        }
        if (x < -threshold) {
            return HIL_INT32_MIN;
        }
        return (int32_t)((int64_t)x * ((int64_t)1 << exponent));
    }
    if (exponent < 0) {
        return hil_rdbpot(x, -exponent);
    }
    return x;
}

/* gemmlowp::Rescale: FixedPoint<int32, in_bits> -> FixedPoint<int32, out_bits> */
static inline int32_t hil_fp_rescale(int32_t raw, int32_t in_bits, int32_t out_bits)
{
    return hil_srmbpot(raw, in_bits - out_bits);
}

/* gemmlowp::RoundingHalfSum for int32 */
static inline int32_t hil_rounding_half_sum(int32_t a, int32_t b)
{
    const int64_t sum = (int64_t)a + (int64_t)b;
    const int64_t sign = sum >= 0 ? 1 : -1;
    return (int32_t)((sum + sign) / 2);
}

/* Wrapping int32 add/sub/neg as gemmlowp does on raw values (no UB). */
static inline int32_t hil_wrap_add(int32_t a, int32_t b)
{
    return (int32_t)(uint32_t)((uint32_t)a + (uint32_t)b);
}
static inline int32_t hil_wrap_sub(int32_t a, int32_t b)
{
    return (int32_t)(uint32_t)((uint32_t)a - (uint32_t)b);
}

/* gemmlowp::exp_on_interval_between_negative_one_quarter_and_0_excl, Q0.31 in/out */
static inline int32_t hil_fp_exp_on_interval(int32_t a)
{
    const int32_t constant_term = 1895147668;            /* exp(-1/8) */
    const int32_t constant_1_over_3 = 715827883;         /* 1/3 */
    const int32_t x = hil_wrap_add(a, (int32_t)1 << 28); /* a + 1/8 */
    const int32_t x2 = hil_srdhm(x, x);
    const int32_t x3 = hil_srdhm(x2, x);
    const int32_t x4 = hil_srdhm(x2, x2);
    const int32_t x4_over_4 = hil_srmbpot(x4, -2);
    const int32_t poly =
        hil_srmbpot(hil_wrap_add(hil_srdhm(hil_wrap_add(x4_over_4, x3), constant_1_over_3), x2), -1);
    return hil_wrap_add(constant_term, hil_srdhm(constant_term, hil_wrap_add(x, poly)));
}

/* gemmlowp::exp_on_negative_values: input FixedPoint<int32, integer_bits>
 * (a <= 0), output FixedPoint<int32, 0>. */
static inline int32_t hil_fp_exp_on_negative_values(int32_t a, int32_t integer_bits)
{
    const int32_t fractional_bits = 31 - integer_bits;
    const int32_t one_quarter = (int32_t)1 << (fractional_bits - 2);
    const int32_t mask = one_quarter - 1;
    const int32_t a_mod_quarter_minus_one_quarter = hil_wrap_sub(a & mask, one_quarter);
    int32_t result = hil_fp_exp_on_interval(hil_fp_rescale(a_mod_quarter_minus_one_quarter, integer_bits, 0));
    const int32_t remainder = hil_wrap_sub(a_mod_quarter_minus_one_quarter, a);

    /* Barrel shifter: multiply by exp(-2^k) for every set bit of the remainder. */
    static const int32_t multipliers[7] = {
        1672461947, /* exp(-1/4) */
        1302514674, /* exp(-1/2) */
        790015084,  /* exp(-1)   */
        290630308,  /* exp(-2)   */
        39332535,   /* exp(-4)   */
        720401,     /* exp(-8)   */
        242,        /* exp(-16)  */
    };
    int32_t k;
    for (k = 0; k < 7; ++k) {
        const int32_t exponent = k - 2;
        if (integer_bits > exponent) {
            const int32_t shift_amount = fractional_bits + exponent;
            if ((remainder & (int32_t)((uint32_t)1 << shift_amount)) != 0) {
                result = hil_srdhm(result, multipliers[k]);
            }
        }
    }
    if (integer_bits > 5) {
        const int32_t clamp = -((int32_t)1 << (36 - integer_bits)); /* -32.0 */
        if (a < clamp) {
            result = 0;
        }
    }
    if (a == 0) {
        result = HIL_INT32_MAX; /* One() in Q0.31 */
    }
    return result;
}

/* gemmlowp::one_over_one_plus_x_for_x_in_0_1: Q0.31 in, Q0.31 out. */
static inline int32_t hil_fp_one_over_one_plus_x(int32_t a)
{
    const int32_t half_denominator = hil_rounding_half_sum(a, HIL_INT32_MAX);
    const int32_t constant_48_over_17 = 1515870810;      /* Q2.29 */
    const int32_t constant_neg_32_over_17 = -1010580540; /* Q2.29 */
    const int32_t one_q2 = (int32_t)1 << 29;
    int32_t x = hil_wrap_add(constant_48_over_17, hil_srdhm(half_denominator, constant_neg_32_over_17));
    int32_t i;
    for (i = 0; i < 3; ++i) {
        const int32_t half_denominator_times_x = hil_srdhm(half_denominator, x);  /* Q2 */
        const int32_t one_minus = hil_wrap_sub(one_q2, half_denominator_times_x); /* Q2 */
        x = hil_wrap_add(x, hil_fp_rescale(hil_srdhm(x, one_minus), 4, 2));       /* Q4 -> Q2 */
    }
    /* ExactMulByPot<-1>: same raw, one integer bit fewer (Q1); then Rescale<0>. */
    return hil_fp_rescale(x, 1, 0);
}

/* gemmlowp::logistic: input FixedPoint<int32, integer_bits>, output Q0.31. */
static inline int32_t hil_fp_logistic(int32_t a, int32_t integer_bits)
{
    if (a == 0) {
        return (int32_t)1 << 30; /* one half */
    }
    const int32_t abs_input = a > 0 ? a : hil_wrap_sub(0, a);
    const int32_t result_if_positive =
        hil_fp_one_over_one_plus_x(hil_fp_exp_on_negative_values(hil_wrap_sub(0, abs_input), integer_bits));
    if (a > 0) {
        return result_if_positive;
    }
    return hil_wrap_sub(HIL_INT32_MAX, result_if_positive);
}

/* Number of leading zero bits of a 32-bit value (32 for 0). */
static inline int32_t hil_clz32(uint32_t x)
{
    int32_t n = 0;
    if (x == 0) {
        return 32;
    }
    while ((x & 0x80000000UL) == 0) {
        x <<= 1;
        ++n;
    }
    return n;
}

#endif /* HIL_FIXEDPOINT_H */

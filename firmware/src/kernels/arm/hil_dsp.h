/* ARMv7E-M DSP helpers for the fast int8 kernels (internal header).
 *
 * HIL_KERNELS_DSP is 1 when the core has the DSP extension (Cortex-M4/M7/M33...):
 * the portable kernels then hand their int8 work to the *_dsp.c versions in this
 * folder. Define HIL_KERNELS_PORTABLE to keep the portable loops on such a core.
 *
 * Bit-exactness: the DSP kernels compute the same int32 sums as the reference loops,
 * only in another order, and integer addition (wrapping modulo 2^32, which SMLAD also
 * does) does not depend on the order. Each 16-bit lane holds an int8 plus an offset,
 * exact as long as |offset| <= 32640 (hil_dsp_offset_ok); the kernels fall back to the
 * portable loops otherwise. Requantisation is the same hil_mbqm, inlined.
 */
#ifndef HIL_DSP_H
#define HIL_DSP_H

#include <stdint.h>

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP && !defined(HIL_KERNELS_PORTABLE)
#define HIL_KERNELS_DSP 1
#else
#define HIL_KERNELS_DSP 0
#endif

#include "../kernels.h"

#if HIL_KERNELS_DSP
#include <arm_acle.h>
#include <string.h>

#include "../hil_fixedpoint.h"

/* The inner loops and the requantisation must be inlined into the kernels' loops (gcc's
 * -O2 heuristics keep the larger ones out of line, with the accumulators in memory). */
#define HIL_DSP_INLINE static inline __attribute__((always_inline))

/* An offset that keeps int8 + offset inside an int16 lane. */
HIL_DSP_INLINE int32_t hil_dsp_offset_ok(int32_t offset)
{
    return offset >= -32640 && offset <= 32640;
}

/* The offset in both 16-bit lanes, for SXTAB16. */
HIL_DSP_INLINE int32_t hil_dsp_pair(int32_t offset)
{
    const uint32_t lane = (uint32_t)offset & 0xFFFFu;
    return (int32_t)(lane | (lane << 16));
}

/* Four bytes from any address (LDR handles unaligned addresses on ARMv7-M). */
HIL_DSP_INLINE int32_t hil_dsp_load4(const int8_t *p)
{
    int32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* The pointer made opaque to gcc's optimiser, at no instruction: it keeps gcc's loop-idiom pass
 * from turning some of the loops below into memset calls. Measured: VWW's first convolution
 * (3x3x3 windows gathered per pixel) 2,775,956 -> 2,401,335 instructions as a single-op model;
 * writing the stores in assembly instead gave 2,474,048. */
#define HIL_DSP_OPAQUE(p) __asm__("" : "+r"(p))

/* memcpy / memset for the gathered windows: newlib-nano's copy bytes one at a time. */
HIL_DSP_INLINE void hil_dsp_copy(int8_t *dst, const int8_t *src, int32_t n)
{
    for (; n >= 4; n -= 4, dst += 4, src += 4) {
        const int32_t v = hil_dsp_load4(src);
        HIL_DSP_OPAQUE(dst);
        memcpy(dst, &v, sizeof v);
    }
    for (; n > 0; --n) {
        HIL_DSP_OPAQUE(dst);
        *dst++ = *src++;
    }
}

HIL_DSP_INLINE void hil_dsp_fill(int8_t *dst, int8_t value, int32_t n)
{
    const uint32_t v = ((uint32_t)value & 0xFFu) * 0x01010101u;
    for (; n >= 4; n -= 4, dst += 4) {
        HIL_DSP_OPAQUE(dst);
        memcpy(dst, &v, sizeof v);
    }
    for (; n > 0; --n) {
        HIL_DSP_OPAQUE(dst);
        *dst++ = value;
    }
}

/* Bytes 0 and 2 of x, sign-extended, plus the lane offsets: [x0 + o, x2 + o]. */
HIL_DSP_INLINE int32_t hil_dsp_even(int32_t offset_pair, int32_t x)
{
    return __sxtab16(offset_pair, x);
}

/* Bytes 1 and 3 of x, sign-extended, plus the lane offsets: [x1 + o, x3 + o].
 * gcc 12 does not fold a rotate into SXTAB16, so the rotation is spelled out. */
HIL_DSP_INLINE int32_t hil_dsp_odd(int32_t offset_pair, int32_t x)
{
    int32_t r;
    __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(offset_pair), "r"(x));
    return r;
}

/* Requantisation parameters the fast hil_dsp_requant handles: no multiplier is INT32_MIN
 * (the one saturating case of SaturatingRoundingDoublingHighMul, which QuantizeMultiplier
 * never produces) and every shift lies in [-31, 30]. The kernels check once per call and
 * leave anything else to the portable loops. */
static inline int32_t hil_dsp_requant_ok(const hil_requant_t *requant, int32_t channels)
{
    const int32_t n = requant->per_channel ? channels : 1;
    int32_t c;
    for (c = 0; c < n; ++c) {
        if (requant->multiplier[c] == HIL_INT32_MIN || requant->shift[c] < -31 || requant->shift[c] > 30) {
            return 0;
        }
    }
    return 1;
}

/* The output side of a requantisation, copied out of the parameter structs: stores through
 * int8_t pointers may alias them, and gcc would reload every field for every output. */
typedef struct {
    int32_t output_offset, act_min, act_max;
} hil_dsp_out_t;

/* hil_mbqm(acc, multiplier, shift) + output_offset, clamped, for the parameters above.
 * SaturatingRoundingDoublingHighMul divides (a*b + nudge) by 2^31 truncating toward zero,
 * with nudge = 2^30 or 1 - 2^30 by sign; both cases equal floor((a*b + 2^30) / 2^31),
 * an arithmetic shift. RoundingDivideByPOT adds 1 when the remainder exceeds the
 * threshold, i.e. when threshold - remainder is negative (both lie in [0, 2^31)). */
HIL_DSP_INLINE int32_t hil_dsp_scale(int32_t acc, int32_t multiplier, int32_t shift)
{
    const int32_t left = shift & ~(shift >> 31); /* max(shift, 0) */
    const int32_t right = left - shift;          /* max(-shift, 0) */
    const int32_t a = (int32_t)((uint32_t)acc << left);
    const int32_t high = (int32_t)(((int64_t)a * multiplier + ((int64_t)1 << 30)) >> 31);
    const int32_t mask = (int32_t)((1u << right) - 1u);
    const int32_t threshold = (mask >> 1) + (int32_t)((uint32_t)high >> 31);
    const int32_t round_up = (int32_t)((uint32_t)(threshold - (high & mask)) >> 31);
    return (high >> right) + round_up;
}

/* hil_dsp_scale for shift in [-30, 0] and |acc| < 2^29 (hil_dsp_narrow_ok). SMMULR rounds
 * (2 acc * m + 2^31) / 2^32 down, which is floor((acc * m + 2^30) / 2^31), the same high part h,
 * |h| < 2^29. RoundingDivideByPOT(h, e) (half away from zero) is then
 * (2h + 2^e - [h < 0]) >> (e + 1): with h = q 2^e + r, 0 <= r < 2^e, it adds 1 to q exactly when
 * r >= 2^(e-1) + [h < 0], as the reference's remainder > threshold does, also for e = 0; the sum
 * stays below 2^31. Two instructions fewer per output than the remainder and threshold. */
HIL_DSP_INLINE int32_t hil_dsp_scale_narrow(int32_t acc, int32_t multiplier, int32_t shift)
{
    int32_t high;
    __asm__("smmulr %0, %1, %2" : "=r"(high) : "r"(acc + acc), "r"(multiplier));
    const uint32_t sum = (1u << -shift) + ((uint32_t)high << 1) - ((uint32_t)high >> 31);
    return (int32_t)sum >> (1 - shift);
}

/* Whether hil_dsp_scale_narrow applies to a whole call: no left shift nor one beyond 30 to the
 * right, and no accumulator can reach 2^29 (terms products of |w + w_off| and |x + x_off|, each
 * at most 128 + |offset|, plus the largest bias). */
static inline int32_t hil_dsp_narrow_ok(const hil_requant_t *requant, int32_t channels, const int32_t *bias,
                                        int32_t terms, int32_t x_off, int32_t w_off)
{
    const int64_t x_max = 128 + (x_off < 0 ? -(int64_t)x_off : (int64_t)x_off);
    const int64_t w_max = 128 + (w_off < 0 ? -(int64_t)w_off : (int64_t)w_off);
    const int32_t n = requant->per_channel ? channels : 1;
    int64_t largest_bias = 0;
    int32_t c;
    for (c = 0; c < n; ++c) {
        if (requant->shift[c] > 0 || requant->shift[c] < -30) {
            return 0;
        }
    }
    for (c = 0; bias != NULL && c < channels; ++c) {
        const int64_t magnitude = bias[c] < 0 ? -(int64_t)bias[c] : (int64_t)bias[c];
        largest_bias = magnitude > largest_bias ? magnitude : largest_bias;
    }
    return (int64_t)terms * x_max * w_max + largest_bias < ((int64_t)1 << 29);
}

HIL_DSP_INLINE int8_t hil_dsp_requant(int32_t acc, int32_t multiplier, int32_t shift, hil_dsp_out_t o)
{
    int32_t scaled = hil_wrap_add(hil_dsp_scale(acc, multiplier, shift), o.output_offset);
    scaled = scaled < o.act_min ? o.act_min : scaled;
    return (int8_t)(scaled > o.act_max ? o.act_max : scaled);
}

/* Four outputs at once: saturated to int8 (the activation bounds lie inside [-128, 127], see
 * hil_dsp_act_ok), packed, clamped bytewise with SSUB8/SEL (max, then min, as the reference's
 * std::min(std::max(x, lo), hi)) and stored with one write. */
HIL_DSP_INLINE uint32_t hil_dsp_sat8(int32_t v)
{
    int32_t saturated;
    __asm__("ssat %0, #8, %1" : "=r"(saturated) : "r"(v)); /* __ssat trips -Wsign-conversion */
    return (uint32_t)saturated & 0xFFu;
}

HIL_DSP_INLINE void hil_dsp_requant4(const int32_t acc[4], const int32_t *multiplier, const int32_t *shift,
                                     int32_t step, int32_t narrow, int32_t output_offset, uint32_t lo4,
                                     uint32_t hi4, int8_t *out)
{
    /* unrolled by hand: gcc keeps the loop otherwise */
    uint32_t packed;
    if (narrow) {
        packed =
            hil_dsp_sat8(hil_wrap_add(hil_dsp_scale_narrow(acc[0], multiplier[0], shift[0]), output_offset));
        packed |= hil_dsp_sat8(hil_wrap_add(hil_dsp_scale_narrow(acc[1], multiplier[step], shift[step]),
                                            output_offset))
                  << 8;
        packed |= hil_dsp_sat8(hil_wrap_add(
                      hil_dsp_scale_narrow(acc[2], multiplier[2 * step], shift[2 * step]), output_offset))
                  << 16;
        packed |= hil_dsp_sat8(hil_wrap_add(
                      hil_dsp_scale_narrow(acc[3], multiplier[3 * step], shift[3 * step]), output_offset))
                  << 24;
    } else {
        packed = hil_dsp_sat8(hil_wrap_add(hil_dsp_scale(acc[0], multiplier[0], shift[0]), output_offset));
        packed |=
            hil_dsp_sat8(hil_wrap_add(hil_dsp_scale(acc[1], multiplier[step], shift[step]), output_offset))
            << 8;
        packed |= hil_dsp_sat8(hil_wrap_add(hil_dsp_scale(acc[2], multiplier[2 * step], shift[2 * step]),
                                            output_offset))
                  << 16;
        packed |= hil_dsp_sat8(hil_wrap_add(hil_dsp_scale(acc[3], multiplier[3 * step], shift[3 * step]),
                                            output_offset))
                  << 24;
    }
    (void)__ssub8((int32_t)packed, (int32_t)lo4); /* GE flags: packed >= lo, per byte */
    packed = __sel(packed, lo4);
    (void)__ssub8((int32_t)hi4, (int32_t)packed); /* GE flags: hi >= packed */
    packed = __sel(packed, hi4);
    memcpy(out, &packed, sizeof packed);
}

/* Activation bounds hil_dsp_requant4 handles: inside int8 (always, for valid models). */
HIL_DSP_INLINE int32_t hil_dsp_act_ok(int32_t act_min, int32_t act_max)
{
    return act_min >= -128 && act_max <= 127;
}

/* A byte in all four lanes. */
HIL_DSP_INLINE uint32_t hil_dsp_bytes4(int32_t value)
{
    return ((uint32_t)value & 0xFFu) * 0x01010101u;
}

/* Kernels of this folder, called by the portable entry points after their checks. */
int32_t hil_conv2d_s8_dsp(const hil_conv_params_t *params, const hil_requant_t *requant,
                          const hil_dims_t *input_dims, const int8_t *input, const hil_dims_t *filter_dims,
                          const int8_t *filter, const int32_t *bias, const hil_dims_t *output_dims,
                          int8_t *output);
int32_t hil_depthwise_conv2d_s8_dsp(const hil_conv_params_t *params, const hil_requant_t *requant,
                                    const hil_dims_t *input_dims, const int8_t *input,
                                    const hil_dims_t *filter_dims, const int8_t *filter, const int32_t *bias,
                                    const hil_dims_t *output_dims, int8_t *output);
int32_t hil_fully_connected_s8_dsp(const hil_fc_params_t *params, const hil_requant_t *requant,
                                   int32_t batches, int32_t accum_depth, int32_t output_depth,
                                   const int8_t *input, const int8_t *filter, const int32_t *bias,
                                   int8_t *output);
/* The filter taps [lo, hi) whose input coordinate origin + tap * dilation lies in [0, size). */
static inline void hil_dsp_tap_range(int32_t origin, int32_t dilation, int32_t taps, int32_t size,
                                     int32_t *lo, int32_t *hi)
{
    if (dilation == 1) { /* no division */
        const int32_t end = size - origin < taps ? size - origin : taps;
        *lo = origin < 0 ? -origin : 0;
        *hi = end > *lo ? end : *lo;
        return;
    }
    const int32_t first = origin < 0 ? (-origin + dilation - 1) / dilation : 0;
    const int32_t last = size - 1 - origin;
    int32_t end = last < 0 ? 0 : last / dilation + 1;
    end = end < taps ? end : taps;
    *lo = first;
    *hi = end > first ? end : first;
}

/* Four accumulators started from the next four biases (or 0 without bias); the bias pointer
 * after them. */
HIL_DSP_INLINE const int32_t *hil_dsp_bias4(int32_t acc[4], const int32_t *bias)
{
    if (bias == NULL) {
        acc[0] = acc[1] = acc[2] = acc[3] = 0;
        return bias;
    }
    acc[0] = bias[0];
    acc[1] = bias[1];
    acc[2] = bias[2];
    acc[3] = bias[3];
    return bias + 4;
}

#endif /* HIL_KERNELS_DSP */

#endif /* HIL_DSP_H */

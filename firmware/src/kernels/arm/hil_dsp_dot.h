/* Dot products of int8 rows on the DSP extension (internal header, HIL_KERNELS_DSP only).
 *
 * The shared inner loops of the conv and fully-connected kernels: one input row against
 * four (or one) filter rows `row` bytes apart, 4 elements per step (one load of the input
 * reused by every filter row), then a scalar tail. The input is widened to 16-bit lanes
 * with its offset added (SXTAB16); a filter without offset is widened by SXTB16. */
#ifndef HIL_DSP_DOT_H
#define HIL_DSP_DOT_H

#include "hil_dsp.h"

#if HIL_KERNELS_DSP

/* Bytes 0 and 2 / 1 and 3 of w, sign-extended into 16-bit lanes. */
HIL_DSP_INLINE int32_t hil_dsp_even0(int32_t w)
{
    return __sxtb16(w);
}
HIL_DSP_INLINE int32_t hil_dsp_odd0(int32_t w)
{
    int32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(w));
    return r;
}

/* Four elements of one input row against four filter rows (hil_dsp_dot4's inner step). */
#define HIL_DSP_STEP4                                                                                        \
    "ldr     %[xe], [%[x]], #4\n\t"                                                                          \
    "sxtab16 %[xo], %[xp], %[xe], ror #8\n\t"                                                                \
    "sxtab16 %[xe], %[xp], %[xe]\n\t"                                                                        \
    "ldr     %[w], [%[f0]], #4\n\t"                                                                          \
    "sxtb16  %[t], %[w]\n\t"                                                                                 \
    "smlad   %[a0], %[t], %[xe], %[a0]\n\t"                                                                  \
    "sxtb16  %[t], %[w], ror #8\n\t"                                                                         \
    "smlad   %[a0], %[t], %[xo], %[a0]\n\t"                                                                  \
    "ldr     %[w], [%[f0], %[row]]\n\t"                                                                      \
    "sxtb16  %[t], %[w]\n\t"                                                                                 \
    "smlad   %[a1], %[t], %[xe], %[a1]\n\t"                                                                  \
    "sxtb16  %[t], %[w], ror #8\n\t"                                                                         \
    "smlad   %[a1], %[t], %[xo], %[a1]\n\t"                                                                  \
    "ldr     %[w], [%[f2]], #4\n\t"                                                                          \
    "sxtb16  %[t], %[w]\n\t"                                                                                 \
    "smlad   %[a2], %[t], %[xe], %[a2]\n\t"                                                                  \
    "sxtb16  %[t], %[w], ror #8\n\t"                                                                         \
    "smlad   %[a2], %[t], %[xo], %[a2]\n\t"                                                                  \
    "ldr     %[w], [%[f2], %[row]]\n\t"                                                                      \
    "sxtb16  %[t], %[w]\n\t"                                                                                 \
    "smlad   %[a3], %[t], %[xe], %[a3]\n\t"                                                                  \
    "sxtb16  %[t], %[w], ror #8\n\t"                                                                         \
    "smlad   %[a3], %[t], %[xo], %[a3]\n\t"

/* acc[j] += sum_k f[j*row + k] * (x[k] + x_off), j = 0..3. Only inlined into small
 * functions (hil_dsp_dot4, hil_dsp_block4): in a kernel's loops the 13 registers the
 * loop needs are not free. */
HIL_DSP_INLINE void hil_dsp_dot4_inline(const int8_t *x, const int8_t *f, int32_t row, int32_t len,
                                        int32_t x_off, int32_t acc[4])
{
    const int32_t x_pair = hil_dsp_pair(x_off);
    /* rows 1 and 3 are addressed from rows 0 and 2: one register fewer, no spills */
    const int8_t *f0 = f;
    const int8_t *f2 = f + 2 * row;
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    const int8_t *x_end = x + (len & ~(int32_t)3);
#if defined(__OPTIMIZE__)
    /* gcc spills 4 of the loop's values in the C version below. Here 13 registers hold
     * them all, the end pointer is read from the stack once per 8 elements; at -O0 r7 is the
     * frame pointer and the registers are not free, hence the C version there. */
    if (x != x_end) {
        const int32_t row_m4 = row - 4; /* rows 1 and 3, after the post-increment of rows 0 and 2 */
        const int8_t *x_end8 = x + (len & ~(int32_t)7);
        int32_t xe, xo, w, t;
        if (x != x_end8) {
            __asm__("1:\n\t" HIL_DSP_STEP4 HIL_DSP_STEP4 "ldr     %[t], %[end]\n\t"
                    "cmp     %[x], %[t]\n\t"
                    "bne     1b"
                    : [x] "+r"(x), [f0] "+r"(f0), [f2] "+r"(f2), [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2),
                      [a3] "+r"(a3), [xe] "=&r"(xe), [xo] "=&r"(xo), [w] "=&r"(w), [t] "=&r"(t)
                    : [end] "m"(x_end8), [row] "r"(row_m4), [xp] "r"(x_pair)
                    : "cc", "memory");
        }
        if (x != x_end) {
            __asm__(HIL_DSP_STEP4
                    : [x] "+r"(x), [f0] "+r"(f0), [f2] "+r"(f2), [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2),
                      [a3] "+r"(a3), [xe] "=&r"(xe), [xo] "=&r"(xo), [w] "=&r"(w), [t] "=&r"(t)
                    : [row] "r"(row_m4), [xp] "r"(x_pair)
                    : "memory");
        }
    }
#else
    while (x != x_end) {
        const int32_t xv = hil_dsp_load4(x);
        const int32_t xe = hil_dsp_even(x_pair, xv);
        const int32_t xo = hil_dsp_odd(x_pair, xv);
        int32_t w = hil_dsp_load4(f0);
        a0 = __smlad(hil_dsp_even0(w), xe, a0);
        a0 = __smlad(hil_dsp_odd0(w), xo, a0);
        w = hil_dsp_load4(f0 + row);
        a1 = __smlad(hil_dsp_even0(w), xe, a1);
        a1 = __smlad(hil_dsp_odd0(w), xo, a1);
        w = hil_dsp_load4(f2);
        a2 = __smlad(hil_dsp_even0(w), xe, a2);
        a2 = __smlad(hil_dsp_odd0(w), xo, a2);
        w = hil_dsp_load4(f2 + row);
        a3 = __smlad(hil_dsp_even0(w), xe, a3);
        a3 = __smlad(hil_dsp_odd0(w), xo, a3);
        x += 4;
        f0 += 4;
        f2 += 4;
    }
#endif
    const int8_t *f1 = f0 + row;
    const int8_t *f3 = f2 + row;
    int32_t k;
    for (k = len & 3; k > 0; --k) {
        const int32_t xv = *x++ + x_off;
        a0 = hil_wrap_add(a0, *f0++ * xv); /* wraps as SMLAD does: no signed overflow */
        a1 = hil_wrap_add(a1, *f1++ * xv);
        a2 = hil_wrap_add(a2, *f2++ * xv);
        a3 = hil_wrap_add(a3, *f3++ * xv);
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}

__attribute__((noinline, unused)) static void hil_dsp_dot4(const int8_t *x, const int8_t *f, int32_t row,
                                                           int32_t len, int32_t x_off, int32_t acc[4])
{
    hil_dsp_dot4_inline(x, f, row, len, x_off, acc);
}

/* What hil_dsp_block4 needs besides the rows: offsets, bias and requantisation. */
typedef struct {
    int32_t x_off;
    const int32_t *bias; /* may be NULL */
    const int32_t *multiplier, *shift;
    int32_t rq_step; /* 1: per channel, 0: per tensor */
    hil_dsp_out_t out;
    uint32_t lo4, hi4; /* the activation bounds in four bytes (hil_dsp_requant4) */
    int32_t narrow;    /* hil_dsp_narrow_ok: the shorter requantisation applies */
} hil_dsp_block_t;

/* Output channels [0, 4 * blocks) from one input run of len bytes against filter rows f
 * (row bytes apart): per four channels the bias, the dot products and the requantisation,
 * stored to out[0..4 * blocks). One call per pixel, so that the call and the setup are paid
 * once for all its channels. */
__attribute__((noinline, unused)) static void hil_dsp_blocks4(const int8_t *x, const int8_t *f, int32_t row,
                                                              int32_t len, const hil_dsp_block_t *b,
                                                              int32_t blocks, int8_t *out)
{
    const int32_t step = b->rq_step;
    const int32_t *bias = b->bias;
    const int32_t *m = b->multiplier;
    const int32_t *s = b->shift;
    int32_t k;
    for (k = 0; k < blocks; ++k) {
        int32_t acc[4];
        bias = hil_dsp_bias4(acc, bias);
        hil_dsp_dot4_inline(x, f, row, len, b->x_off, acc);
        hil_dsp_requant4(acc, m, s, step, b->narrow, b->out.output_offset, b->lo4, b->hi4, out);
        f += 4 * row;
        m += 4 * step;
        s += 4 * step;
        out += 4;
    }
}

/* Returns acc + sum_k (f[k] + f_off) * (x[k] + x_off). */
HIL_DSP_INLINE int32_t hil_dsp_dot1(const int8_t *x, const int8_t *f, int32_t len, int32_t x_off,
                                    int32_t f_off, int32_t acc)
{
    const int32_t x_pair = hil_dsp_pair(x_off);
    const int32_t f_pair = hil_dsp_pair(f_off);
    const int8_t *x_end = x + (len & ~(int32_t)3);
    while (x != x_end) {
        const int32_t xv = hil_dsp_load4(x);
        const int32_t w = hil_dsp_load4(f);
        acc = __smlad(hil_dsp_even(f_pair, w), hil_dsp_even(x_pair, xv), acc);
        acc = __smlad(hil_dsp_odd(f_pair, w), hil_dsp_odd(x_pair, xv), acc);
        x += 4;
        f += 4;
    }
    int32_t k;
    for (k = len & 3; k > 0; --k) {
        acc = hil_wrap_add(acc, (*f++ + f_off) * (*x++ + x_off));
    }
    return acc;
}

/* acc[j] += sum_k (f[j*row + k] + f_off) * (x[k] + x_off), j = 0..3: with a filter offset
 * (per-tensor FULLY_CONNECTED with a filter zero point). */
HIL_DSP_INLINE void hil_dsp_dot4_offset(const int8_t *x, const int8_t *f, int32_t row, int32_t len,
                                        int32_t x_off, int32_t f_off, int32_t acc[4])
{
    int32_t j;
    for (j = 0; j < 4; ++j) {
        acc[j] = hil_dsp_dot1(x, f + j * row, len, x_off, f_off, acc[j]);
    }
}

#endif /* HIL_KERNELS_DSP */

#endif /* HIL_DSP_DOT_H */

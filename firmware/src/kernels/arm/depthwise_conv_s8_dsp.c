/* DEPTHWISE_CONV_2D int8 on the DSP extension (ARMv7E-M): same results as
 * hil_depthwise_conv2d_s8.
 *
 * Depth multiplier 1: four channels per step. One load brings four input channels of a tap
 * and one the four matching filter values; SXTAB16/SXTB16 split them into even and odd
 * channels and SMLABB/SMLATT accumulate each channel on its own. Other multipliers: one
 * output channel at a time with the tap ranges computed once per pixel. Taps outside the
 * image are never visited. No scratch memory. */
#include "hil_dsp_dot.h"

#if HIL_KERNELS_DSP
#include "../hil_internal.h"

typedef struct {
    int32_t ky_lo, ky_hi, kx_lo, kx_hi;
    const int8_t *first; /* input at the first in-image tap (ky_lo, kx_lo), channel 0 */
} window_t;

static void tap_range(int32_t origin, int32_t dilation, int32_t taps, int32_t size,
                      int32_t *lo, int32_t *hi) {
    const int32_t first = origin < 0 ? (-origin + dilation - 1) / dilation : 0;
    const int32_t last = size - 1 - origin;
    int32_t end = last < 0 ? 0 : last / dilation + 1;
    end = end < taps ? end : taps;
    *lo = first;
    *hi = end > first ? end : first;
}

/* Channels c..c+3 (multiplier 1): acc[j] += sum over in-image taps. */
static void dw_four_channels(const hil_conv_params_t *p, const window_t *win, int32_t row_bytes,
                             int32_t depth, int32_t filter_w, const int8_t *filter, int32_t c,
                             int32_t acc[4]) {
    const int32_t x_pair = hil_dsp_pair(p->input_offset);
    const int32_t x_step = p->dilation_w * depth;
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    int32_t ky, kx;
    for (ky = win->ky_lo; ky < win->ky_hi; ++ky) {
        const int8_t *x = win->first + (ky - win->ky_lo) * p->dilation_h * row_bytes + c;
        const int8_t *f = filter + (ky * filter_w + win->kx_lo) * depth + c;
        for (kx = win->kx_lo; kx < win->kx_hi; ++kx) {
            const int32_t xv = hil_dsp_load4(x);
            const int32_t wv = hil_dsp_load4(f);
            const int32_t xe = hil_dsp_even(x_pair, xv), xo = hil_dsp_odd(x_pair, xv);
            const int32_t we = hil_dsp_even0(wv), wo = hil_dsp_odd0(wv);
            a0 = __smlabb(xe, we, a0);
            a2 = __smlatt(xe, we, a2);
            a1 = __smlabb(xo, wo, a1);
            a3 = __smlatt(xo, wo, a3);
            x += x_step;
            f += depth;
        }
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}

/* One tap of four channels: acc[0..3] += w[c] * (x[c] + offset). */
HIL_DSP_INLINE void dw_tap(const int8_t *x, const int8_t *f, int32_t x_pair, int32_t *a0, int32_t *a1,
                          int32_t *a2, int32_t *a3) {
    const int32_t xv = hil_dsp_load4(x);
    const int32_t wv = hil_dsp_load4(f);
    const int32_t xe = hil_dsp_even(x_pair, xv), xo = hil_dsp_odd(x_pair, xv);
    const int32_t we = hil_dsp_even0(wv), wo = hil_dsp_odd0(wv);
    *a0 = __smlabb(xe, we, *a0);
    *a2 = __smlatt(xe, we, *a2);
    *a1 = __smlabb(xo, wo, *a1);
    *a3 = __smlatt(xo, wo, *a3);
}

/* Channels c..c+3 of a 3x3 window inside the image (dilation 1), the taps unrolled;
 * x and f point at tap (0, 0), channel c. */
HIL_DSP_INLINE void dw_four_channels_3x3(const int8_t *x, const int8_t *f, int32_t row_bytes,
                                        int32_t depth, int32_t x_pair, int32_t acc[4]) {
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    int32_t ky;
    for (ky = 0; ky < 3; ++ky) {
        dw_tap(x, f, x_pair, &a0, &a1, &a2, &a3);
        dw_tap(x + depth, f + depth, x_pair, &a0, &a1, &a2, &a3);
        dw_tap(x + 2 * depth, f + 2 * depth, x_pair, &a0, &a1, &a2, &a3);
        x += row_bytes;
        f += 3 * depth;
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}

/* Channels [0, 4 * blocks) of a pixel whose 3x3 window lies inside the image: per four
 * channels the bias, the taps and the requantisation, stored to out[0..4 * blocks). Out of
 * line, so that the accumulators and pointers fit the registers; one call per pixel. */
__attribute__((noinline)) static void dw_blocks4_3x3(const int8_t *x, const int8_t *f, int32_t row_bytes,
                                                    int32_t depth, const hil_dsp_block_t *b, int32_t blocks,
                                                    int8_t *out) {
    const int32_t step = b->rq_step;
    const int32_t *bias = b->bias;
    const int32_t *m = b->multiplier;
    const int32_t *s = b->shift;
    int32_t k;
    for (k = 0; k < blocks; ++k) {
        int32_t acc[4] = {0, 0, 0, 0};
        if (bias != 0) {
            acc[0] = bias[0];
            acc[1] = bias[1];
            acc[2] = bias[2];
            acc[3] = bias[3];
            bias += 4;
        }
        dw_four_channels_3x3(x, f, row_bytes, depth, hil_dsp_pair(b->x_off), acc);
        hil_dsp_requant4(acc, m, s, step, b->out.output_offset, b->lo4, b->hi4, out);
        x += 4;
        f += 4;
        m += 4 * step;
        s += 4 * step;
        out += 4;
    }
}

/* One output channel oc (input channel ic) over the in-image taps. */
static int32_t dw_one_channel(const hil_conv_params_t *p, const window_t *win, int32_t row_bytes,
                              int32_t in_depth, int32_t out_depth, int32_t filter_w,
                              const int8_t *filter, int32_t ic, int32_t oc) {
    const int32_t x_step = p->dilation_w * in_depth;
    int32_t acc = 0;
    int32_t ky, kx;
    for (ky = win->ky_lo; ky < win->ky_hi; ++ky) {
        const int8_t *x = win->first + (ky - win->ky_lo) * p->dilation_h * row_bytes + ic;
        const int8_t *f = filter + (ky * filter_w + win->kx_lo) * out_depth + oc;
        for (kx = win->kx_lo; kx < win->kx_hi; ++kx) {
            acc += *f * (*x + p->input_offset);
            x += x_step;
            f += out_depth;
        }
    }
    return acc;
}

int32_t hil_depthwise_conv2d_s8_dsp(const hil_conv_params_t *params, const hil_requant_t *requant,
                                    const hil_dims_t *input_dims, const int8_t *input,
                                    const hil_dims_t *filter_dims, const int8_t *filter,
                                    const int32_t *bias, const hil_dims_t *output_dims,
                                    int8_t *output) {
    const int32_t in_depth = input_dims->c;
    const int32_t out_depth = output_dims->c;
    const int32_t multiplier = params->depth_multiplier;
    const int32_t row_bytes = input_dims->w * in_depth;
    const int32_t rq_step = requant->per_channel ? 1 : 0;
    const int32_t *multipliers = requant->multiplier, *shifts = requant->shift;
    const hil_dsp_out_t o = {params->output_offset, params->act_min, params->act_max};
    const hil_dsp_block_t blk = {params->input_offset, bias, multipliers, shifts, rq_step, o,
                                 hil_dsp_bytes4(params->act_min), hil_dsp_bytes4(params->act_max)};
    const int32_t three_by_three = filter_dims->h == 3 && filter_dims->w == 3 && params->dilation_h == 1 &&
                                   params->dilation_w == 1;
    int32_t batch, out_y, out_x, oc, j;
    for (batch = 0; batch < input_dims->n; ++batch) {
        for (out_y = 0; out_y < output_dims->h; ++out_y) {
            const int32_t in_y0 = out_y * params->stride_h - params->pad_h;
            window_t win;
            tap_range(in_y0, params->dilation_h, filter_dims->h, input_dims->h, &win.ky_lo, &win.ky_hi);
            for (out_x = 0; out_x < output_dims->w; ++out_x) {
                const int32_t in_x0 = out_x * params->stride_w - params->pad_w;
                tap_range(in_x0, params->dilation_w, filter_dims->w, input_dims->w, &win.kx_lo, &win.kx_hi);
                win.first = input;
                if (win.ky_lo < win.ky_hi && win.kx_lo < win.kx_hi) {
                    win.first += hil_offset4(input_dims, batch, in_y0 + win.ky_lo * params->dilation_h,
                                             in_x0 + win.kx_lo * params->dilation_w, 0);
                }
                int8_t *out = output + hil_offset4(output_dims, batch, out_y, out_x, 0);
                oc = 0;
                if (multiplier == 1) {
                    const int32_t interior_3x3 = three_by_three && win.ky_hi - win.ky_lo == 3 &&
                                                 win.kx_hi - win.kx_lo == 3;
                    if (interior_3x3) {
                        dw_blocks4_3x3(win.first, filter, row_bytes, in_depth, &blk, out_depth / 4, out);
                        oc = out_depth / 4 * 4;
                    }
                    for (; oc + 4 <= out_depth; oc += 4) {
                        int32_t acc[4] = {0, 0, 0, 0};
                        if (bias != 0) {
                            for (j = 0; j < 4; ++j) {
                                acc[j] = bias[oc + j];
                            }
                        }
                        dw_four_channels(params, &win, row_bytes, in_depth, filter_dims->w, filter, oc, acc);
                        for (j = 0; j < 4; ++j) {
                            const int32_t q = (oc + j) * rq_step;
                            out[oc + j] = hil_dsp_requant(acc[j], multipliers[q], shifts[q], o);
                        }
                    }
                }
                for (; oc < out_depth; ++oc) {
                    const int32_t acc = dw_one_channel(params, &win, row_bytes, in_depth, out_depth,
                                                       filter_dims->w, filter, oc / multiplier, oc);
                    const int32_t q = oc * rq_step;
                    out[oc] = hil_dsp_requant(acc + (bias != 0 ? bias[oc] : 0), multipliers[q], shifts[q], o);
                }
            }
        }
    }
    return HIL_KERNEL_OK;
}

#else
typedef int32_t hil_depthwise_conv_s8_dsp_unused_t; /* ISO C forbids an empty translation unit */
#endif /* HIL_KERNELS_DSP */

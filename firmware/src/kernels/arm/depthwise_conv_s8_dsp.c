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

/* Channels c..c+3 (multiplier 1): acc[j] += sum over in-image taps. */
static void dw_four_channels(const hil_conv_params_t *p, const window_t *win, int32_t row_bytes,
                             int32_t depth, int32_t filter_w, const int8_t *filter, int32_t c, int32_t acc[4])
{
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
                           int32_t *a2, int32_t *a3)
{
    const int32_t xv = hil_dsp_load4(x);
    const int32_t wv = hil_dsp_load4(f);
    const int32_t xe = hil_dsp_even(x_pair, xv), xo = hil_dsp_odd(x_pair, xv);
    const int32_t we = hil_dsp_even0(wv), wo = hil_dsp_odd0(wv);
    *a0 = __smlabb(xe, we, *a0);
    *a2 = __smlatt(xe, we, *a2);
    *a1 = __smlabb(xo, wo, *a1);
    *a3 = __smlatt(xo, wo, *a3);
}

/* The hand-scheduled 3x3 window needs 13 free registers: only at -O2/-O3 (at -O0 r7 is the frame
 * pointer; at -Os gcc does not free enough registers), else the C version. */
#if defined(__OPTIMIZE__) && !defined(__OPTIMIZE_SIZE__)
#define HIL_DW_ASM 1
/* One tap of four channels (dw_tap) at addresses ax, af: 10 instructions, xo in xv's register. */
#define HIL_DW_TAP(ax, af)                                                                                   \
    "ldr     %[xv], " ax "\n\t"                                                                              \
    "ldr     %[wv], " af "\n\t"                                                                              \
    "sxtab16 %[xe], %[xp], %[xv]\n\t"                                                                        \
    "sxtab16 %[xv], %[xp], %[xv], ror #8\n\t"                                                                \
    "sxtb16  %[we], %[wv]\n\t"                                                                               \
    "sxtb16  %[wv], %[wv], ror #8\n\t"                                                                       \
    "smlabb  %[a0], %[xe], %[we], %[a0]\n\t"                                                                 \
    "smlatt  %[a2], %[xe], %[we], %[a2]\n\t"                                                                 \
    "smlabb  %[a1], %[xv], %[wv], %[a1]\n\t"                                                                 \
    "smlatt  %[a3], %[xv], %[wv], %[a3]\n\t"
/* The three taps of a window row; x and f end on the next row's first tap. */
#define HIL_DW_ROW3                                                                                          \
    HIL_DW_TAP("[%[x]]", "[%[f]]")                                                                           \
    HIL_DW_TAP("[%[x], %[d]]", "[%[f], %[d]]")                                                               \
    "add     %[x], %[x], %[d], lsl #1\n\t"                                                                   \
    "add     %[f], %[f], %[d], lsl #1\n\t" HIL_DW_TAP("[%[x]]", "[%[f]]")
#endif

/* Channels c..c+3 of a 3x3 window inside the image (dilation 1), the taps unrolled;
 * x and f point at tap (0, 0), channel c. */
HIL_DSP_INLINE void dw_four_channels_3x3(const int8_t *x, const int8_t *f, int32_t row_bytes, int32_t depth,
                                         int32_t x_pair, int32_t acc[4])
{
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
#if defined(HIL_DW_ASM)
    /* gcc spills about 20 instructions' worth per window row in the C version below; here the
     * 13 values fit the registers */
    const int32_t row_rest = row_bytes - 2 * depth; /* from the third tap of a row to the next row */
    int32_t xv, wv, xe, we;
    __asm__(HIL_DW_ROW3 "add     %[x], %[x], %[rest]\n\t"
                        "add     %[f], %[f], %[d]\n\t" HIL_DW_ROW3 "add     %[x], %[x], %[rest]\n\t"
                        "add     %[f], %[f], %[d]\n\t" HIL_DW_ROW3
            : [x] "+r"(x), [f] "+r"(f), [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3),
              [xv] "=&r"(xv), [wv] "=&r"(wv), [xe] "=&r"(xe), [we] "=&r"(we)
            : [d] "r"(depth), [rest] "r"(row_rest), [xp] "r"(x_pair)
            : "memory"); /* without it gcc schedules the loop worse: measured, 7.22 instead of 7.01 per MAC */
#else
    int32_t ky;
    for (ky = 0; ky < 3; ++ky) {
        dw_tap(x, f, x_pair, &a0, &a1, &a2, &a3);
        dw_tap(x + depth, f + depth, x_pair, &a0, &a1, &a2, &a3);
        dw_tap(x + 2 * depth, f + 2 * depth, x_pair, &a0, &a1, &a2, &a3);
        x += row_bytes;
        f += 3 * depth;
    }
#endif
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
                                                     int8_t *out)
{
    const int32_t step = b->rq_step;
    const int32_t *bias = b->bias;
    const int32_t *m = b->multiplier;
    const int32_t *s = b->shift;
    int32_t k;
    for (k = 0; k < blocks; ++k) {
        int32_t acc[4];
        bias = hil_dsp_bias4(acc, bias);
        dw_four_channels_3x3(x, f, row_bytes, depth, hil_dsp_pair(b->x_off), acc);
        hil_dsp_requant4(acc, m, s, step, b->narrow, b->out.output_offset, b->lo4, b->hi4, out);
        x += 4;
        f += 4;
        m += 4 * step;
        s += 4 * step;
        out += 4;
    }
}

/* A run of `pixels` output pixels of one row whose 3x3 windows lie inside the image, x_step
 * input bytes apart (stride_w * depth): one call for the whole run. */
__attribute__((noinline)) static void dw_row_3x3(const int8_t *x, const int8_t *f, int32_t row_bytes,
                                                 int32_t depth, int32_t x_step, const hil_dsp_block_t *b,
                                                 int32_t pixels, int8_t *out)
{
    int32_t p;
    for (p = 0; p < pixels; ++p) {
        dw_blocks4_3x3(x, f, row_bytes, depth, b, depth / 4, out);
        x += x_step;
        out += depth;
    }
}

/* One output channel oc (input channel ic) over the in-image taps. */
static int32_t dw_one_channel(const hil_conv_params_t *p, const window_t *win, int32_t row_bytes,
                              int32_t in_depth, int32_t out_depth, int32_t filter_w, const int8_t *filter,
                              int32_t ic, int32_t oc)
{
    const int32_t x_step = p->dilation_w * in_depth;
    int32_t acc = 0;
    int32_t ky, kx;
    for (ky = win->ky_lo; ky < win->ky_hi; ++ky) {
        const int8_t *x = win->first + (ky - win->ky_lo) * p->dilation_h * row_bytes + ic;
        const int8_t *f = filter + (ky * filter_w + win->kx_lo) * out_depth + oc;
        for (kx = win->kx_lo; kx < win->kx_hi; ++kx) {
            acc = hil_wrap_add(acc, *f * (*x + p->input_offset));
            x += x_step;
            f += out_depth;
        }
    }
    return acc;
}

typedef struct {
    const hil_conv_params_t *p;
    const hil_dims_t *in_d, *f_d;
    const int8_t *input, *filter;
    const int32_t *bias, *multipliers, *shifts;
    int32_t rq_step, in_depth, out_depth, row_bytes, three_by_three;
    hil_dsp_out_t o;
    hil_dsp_block_t blk;
} dw_t;

/* Stack bytes for a gathered 3x3 depthwise window: up to 256 channels. */
#define HIL_DSP_DW_WINDOW_BYTES (9 * 256)

/* The 3x3 window at (in_y0, in_x0) as 3 rows of 3 * depth bytes, taps outside the image set to
 * the input zero point, so that (x + input_offset) is 0 there as the reference's skipped taps. */
static void gather_3x3(const dw_t *d, int32_t batch, int32_t in_y0, int32_t in_x0, int8_t *buf)
{
    const int32_t depth = d->in_depth;
    const int8_t pad = (int8_t)(-d->p->input_offset);
    int32_t ky, kx;
    for (ky = 0; ky < 3; ++ky) {
        for (kx = 0; kx < 3; ++kx) {
            const int32_t y = in_y0 + ky, x = in_x0 + kx;
            int8_t *dst = buf + (ky * 3 + kx) * depth;
            if (y < 0 || y >= d->in_d->h || x < 0 || x >= d->in_d->w) {
                hil_dsp_fill(dst, pad, depth);
            } else {
                hil_dsp_copy(dst, d->input + hil_offset4(d->in_d, batch, y, x, 0), depth);
            }
        }
    }
}

/* Every output channel of one pixel, any window (borders, other filter sizes, multipliers). */
static void dw_pixel(const dw_t *d, int32_t batch, int32_t in_y0, int32_t ky_lo, int32_t ky_hi, int32_t in_x0,
                     int8_t *out)
{
    const hil_conv_params_t *params = d->p;
    const int32_t multiplier = params->depth_multiplier;
    const int32_t out_depth = d->out_depth;
    window_t win;
    int32_t oc = 0, j;
    win.ky_lo = ky_lo;
    win.ky_hi = ky_hi;
    hil_dsp_tap_range(in_x0, params->dilation_w, d->f_d->w, d->in_d->w, &win.kx_lo, &win.kx_hi);
    win.first = d->input;
    if (win.ky_lo < win.ky_hi && win.kx_lo < win.kx_hi) {
        win.first += hil_offset4(d->in_d, batch, in_y0 + win.ky_lo * params->dilation_h,
                                 in_x0 + win.kx_lo * params->dilation_w, 0);
    }
    if (multiplier == 1) {
        if (d->three_by_three && win.ky_hi - win.ky_lo == 3 && win.kx_hi - win.kx_lo == 3) {
            dw_blocks4_3x3(win.first, d->filter, d->row_bytes, d->in_depth, &d->blk, out_depth / 4, out);
            oc = out_depth / 4 * 4;
        } else if (d->three_by_three && 9 * d->in_depth <= HIL_DSP_DW_WINDOW_BYTES) {
            /* a border pixel: its window gathered, taps outside the image at the zero point */
            uint32_t window[HIL_DSP_DW_WINDOW_BYTES / 4];
            gather_3x3(d, batch, in_y0, in_x0, (int8_t *)window);
            dw_blocks4_3x3((const int8_t *)window, d->filter, 3 * d->in_depth, d->in_depth, &d->blk,
                           out_depth / 4, out);
            oc = out_depth / 4 * 4;
        }
        for (; oc + 4 <= out_depth; oc += 4) {
            int32_t acc[4] = {0, 0, 0, 0};
            if (d->bias != NULL) {
                for (j = 0; j < 4; ++j) {
                    acc[j] = d->bias[oc + j];
                }
            }
            dw_four_channels(params, &win, d->row_bytes, d->in_depth, d->f_d->w, d->filter, oc, acc);
            for (j = 0; j < 4; ++j) {
                const int32_t q = (oc + j) * d->rq_step;
                out[oc + j] = hil_dsp_requant(acc[j], d->multipliers[q], d->shifts[q], d->o);
            }
        }
    }
    for (; oc < out_depth; ++oc) {
        const int32_t acc = dw_one_channel(params, &win, d->row_bytes, d->in_depth, out_depth, d->f_d->w,
                                           d->filter, oc / multiplier, oc);
        const int32_t q = oc * d->rq_step;
        out[oc] = hil_dsp_requant(hil_wrap_add(acc, d->bias != NULL ? d->bias[oc] : 0), d->multipliers[q],
                                  d->shifts[q], d->o);
    }
}

int32_t hil_depthwise_conv2d_s8_dsp(const hil_conv_params_t *params, const hil_requant_t *requant,
                                    const hil_dims_t *input_dims, const int8_t *input,
                                    const hil_dims_t *filter_dims, const int8_t *filter, const int32_t *bias,
                                    const hil_dims_t *output_dims, int8_t *output)
{
    const int32_t in_depth = input_dims->c;
    const int32_t out_depth = output_dims->c;
    const hil_dsp_out_t o = {params->output_offset, params->act_min, params->act_max};
    const dw_t d = {
        params,
        input_dims,
        filter_dims,
        input,
        filter,
        bias,
        requant->multiplier,
        requant->shift,
        requant->per_channel ? 1 : 0,
        in_depth,
        out_depth,
        input_dims->w * in_depth,
        filter_dims->h == 3 && filter_dims->w == 3 && params->dilation_h == 1 && params->dilation_w == 1,
        o,
        {params->input_offset, bias, requant->multiplier, requant->shift, requant->per_channel ? 1 : 0, o,
         hil_dsp_bytes4(params->act_min), hil_dsp_bytes4(params->act_max),
         hil_dsp_narrow_ok(requant, out_depth, bias, filter_dims->h * filter_dims->w, params->input_offset,
                           0)}};
    /* interior pixels of a row (3x3, multiplier 1, channels a multiple of 4): out_x in [x_lo, x_hi) */
    const int32_t runs = d.three_by_three && params->depth_multiplier == 1 && out_depth % 4 == 0;
    const int32_t sw = params->stride_w;
    int32_t x_lo = (params->pad_w + sw - 1) / sw;
    int32_t x_hi = input_dims->w - 3 + params->pad_w < 0 ? 0 : (input_dims->w - 3 + params->pad_w) / sw + 1;
    x_hi = x_hi < output_dims->w ? x_hi : output_dims->w;
    x_lo = x_lo < x_hi ? x_lo : x_hi;
    int32_t batch, out_y, out_x;
    for (batch = 0; batch < input_dims->n; ++batch) {
        for (out_y = 0; out_y < output_dims->h; ++out_y) {
            const int32_t in_y0 = out_y * params->stride_h - params->pad_h;
            int32_t ky_lo, ky_hi;
            hil_dsp_tap_range(in_y0, params->dilation_h, filter_dims->h, input_dims->h, &ky_lo, &ky_hi);
            int8_t *out_row = output + hil_offset4(output_dims, batch, out_y, 0, 0);
            const int32_t run = runs && ky_lo == 0 && ky_hi == 3 && x_lo < x_hi;
            for (out_x = 0; out_x < output_dims->w; ++out_x) {
                if (run && out_x == x_lo) {
                    dw_row_3x3(input + hil_offset4(input_dims, batch, in_y0, x_lo * sw - params->pad_w, 0),
                               filter, d.row_bytes, in_depth, sw * in_depth, &d.blk, x_hi - x_lo,
                               out_row + x_lo * out_depth);
                    out_x = x_hi - 1;
                    continue;
                }
                dw_pixel(&d, batch, in_y0, ky_lo, ky_hi, out_x * sw - params->pad_w,
                         out_row + out_x * out_depth);
            }
        }
    }
    return HIL_KERNEL_OK;
}

#else
typedef int32_t hil_depthwise_conv_s8_dsp_unused_t; /* ISO C forbids an empty translation unit */
#endif /* HIL_KERNELS_DSP */

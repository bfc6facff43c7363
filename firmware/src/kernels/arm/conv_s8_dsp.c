/* CONV_2D int8 on the DSP extension (ARMv7E-M): same results as hil_conv2d_s8.
 *
 * Each output pixel's receptive field becomes one or a few contiguous int8 runs that line
 * up with the filter (OHWI), and hil_dsp_dot4 takes four output channels per pass, reusing
 * every input load for all four:
 *  - 1x1 filters without padding: the input pixel itself (cin bytes);
 *  - windows up to HIL_DSP_WINDOW_BYTES (kh*kw*cin; e.g. the first layers with 1-3 input
 *    channels, where rows are short): the window is gathered into a stack buffer, taps outside the image set
 * to the input zero point, so that (x + input_offset) is 0 there as the reference's skipped taps; one dot
 * product of kh*kw*cin per output channel;
 *  - otherwise each filter row's in-image taps x cin (dilation 1), or each tap (dilation > 1).
 * The accumulators start at the bias (integer sums do not depend on the order). Groups of 1
 * only: the caller keeps grouped convolutions on the portable loop. */
#include "hil_dsp_dot.h"

#if HIL_KERNELS_DSP
#include "../hil_internal.h"

/* Stack bytes for a gathered window (a multiple of 4): 3x3 filters up to 113 input channels. */
#define HIL_DSP_WINDOW_BYTES 1024

typedef struct {
    const hil_conv_params_t *p;
    const hil_dims_t *in_d, *f_d;
    const int8_t *input, *filter;
    const int32_t *bias, *multiplier, *shift;
    int32_t rq_step;      /* 1: per-channel requantisation, 0: per tensor */
    int32_t filter_bytes; /* kh * kw * cin: one output channel's filter */
    hil_dsp_out_t out;
} conv_t;

/* Where the current pixel's receptive field lies. */
typedef struct {
    const int8_t *run; /* one run of filter_bytes (gathered or 1x1), or NULL: rows */
    int32_t batch, in_y0, in_x0, ky_lo, ky_hi, kx_lo, kx_hi;
} field_t;

/* The receptive field of one pixel as kh * kw * cin contiguous bytes; a row's in-image taps
 * are one copy when dilation_w is 1. */
static void gather_window(const conv_t *cv, const field_t *fd, int8_t *buf)
{
    const hil_conv_params_t *p = cv->p;
    const int32_t depth = cv->in_d->c;
    const int32_t row_bytes = cv->f_d->w * depth;
    const int8_t pad = (int8_t)(-p->input_offset); /* the input zero point */
    int32_t ky, kx;
    for (ky = 0; ky < cv->f_d->h; ++ky) {
        int8_t *dst = buf + ky * row_bytes;
        const int32_t in_y = fd->in_y0 + ky * p->dilation_h;
        if (in_y < 0 || in_y >= cv->in_d->h || fd->kx_lo >= fd->kx_hi) {
            hil_dsp_fill(dst, pad, row_bytes);
            continue;
        }
        const int8_t *src = cv->input + hil_offset4(cv->in_d, fd->batch, in_y, fd->in_x0, 0);
        if (p->dilation_w == 1) {
            hil_dsp_fill(dst, pad, fd->kx_lo * depth);
            hil_dsp_copy(dst + fd->kx_lo * depth, src + fd->kx_lo * depth, (fd->kx_hi - fd->kx_lo) * depth);
            hil_dsp_fill(dst + fd->kx_hi * depth, pad, (cv->f_d->w - fd->kx_hi) * depth);
            continue;
        }
        for (kx = 0; kx < cv->f_d->w; ++kx) {
            if (kx < fd->kx_lo || kx >= fd->kx_hi) {
                hil_dsp_fill(dst + kx * depth, pad, depth);
            } else {
                hil_dsp_copy(dst + kx * depth, src + kx * p->dilation_w * depth, depth);
            }
        }
    }
}

/* acc[0..count) += the field against output channels oc.. (count 4 or 1). */
HIL_DSP_INLINE void accumulate(const conv_t *cv, const field_t *fd, int32_t oc, int32_t count, int32_t acc[4])
{
    const hil_conv_params_t *p = cv->p;
    const int32_t x_off = p->input_offset;
    const int32_t row = cv->filter_bytes;
    const int8_t *f_oc = cv->filter + oc * row;
    if (fd->run != NULL) {
        if (count == 4) {
            hil_dsp_dot4(fd->run, f_oc, row, row, x_off, acc);
        } else {
            acc[0] = hil_dsp_dot1(fd->run, f_oc, row, x_off, 0, acc[0]);
        }
        return;
    }
    const int32_t depth = cv->in_d->c;
    const int32_t taps = p->dilation_w == 1 ? 1 : fd->kx_hi - fd->kx_lo;
    const int32_t len = p->dilation_w == 1 ? (fd->kx_hi - fd->kx_lo) * depth : depth;
    int32_t ky, t;
    for (ky = fd->ky_lo; ky < fd->ky_hi; ++ky) {
        const int32_t in_y = fd->in_y0 + ky * p->dilation_h;
        for (t = 0; t < taps; ++t) {
            const int32_t kx = fd->kx_lo + t;
            const int8_t *x =
                cv->input + hil_offset4(cv->in_d, fd->batch, in_y, fd->in_x0 + kx * p->dilation_w, 0);
            const int8_t *f = f_oc + (ky * cv->f_d->w + kx) * depth;
            if (count == 4) {
                hil_dsp_dot4(x, f, row, len, x_off, acc);
            } else {
                acc[0] = hil_dsp_dot1(x, f, len, x_off, 0, acc[0]);
            }
        }
    }
}

/* Every output channel of one pixel. */
static void conv_pixel(const conv_t *cv, const hil_dsp_block_t *blk, const field_t *fd, int32_t out_depth,
                       int8_t *out)
{
    const int32_t *bias = cv->bias, *multiplier = cv->multiplier, *shift = cv->shift;
    const int32_t rq_step = cv->rq_step;
    const hil_dsp_out_t o = cv->out;
    int32_t oc = 0, j;
    if (fd->run != NULL) { /* the common case: one call does every block of four channels */
        const int32_t blocks = out_depth / 4;
        hil_dsp_blocks4(fd->run, cv->filter, cv->filter_bytes, cv->filter_bytes, blk, blocks, out);
        oc = 4 * blocks;
    }
    for (; oc < out_depth; ++oc) {
        const int32_t count = out_depth - oc >= 4 ? 4 : 1;
        int32_t acc[4] = {0, 0, 0, 0};
        if (bias != NULL) {
            for (j = 0; j < count; ++j) {
                acc[j] = bias[oc + j];
            }
        }
        if (count == 4) {
            accumulate(cv, fd, oc, 4, acc);
        } else {
            accumulate(cv, fd, oc, 1, acc);
        }
        for (j = 0; j < count; ++j) {
            const int32_t q = (oc + j) * rq_step;
            out[oc + j] = hil_dsp_requant(acc[j], multiplier[q], shift[q], o);
        }
        oc += count - 1;
    }
}

int32_t hil_conv2d_s8_dsp(const hil_conv_params_t *params, const hil_requant_t *requant,
                          const hil_dims_t *input_dims, const int8_t *input, const hil_dims_t *filter_dims,
                          const int8_t *filter, const int32_t *bias, const hil_dims_t *output_dims,
                          int8_t *output)
{
    const conv_t cv = {params,
                       input_dims,
                       filter_dims,
                       input,
                       filter,
                       bias,
                       requant->multiplier,
                       requant->shift,
                       requant->per_channel ? 1 : 0,
                       filter_dims->h * filter_dims->w * filter_dims->c,
                       {params->output_offset, params->act_min, params->act_max}};
    const int32_t pointwise =
        filter_dims->h == 1 && filter_dims->w == 1 && params->pad_h == 0 && params->pad_w == 0;
    /* the zero point as padding must be an int8: true for every valid model */
    const int32_t gather = !pointwise && cv.filter_bytes <= HIL_DSP_WINDOW_BYTES &&
                           params->input_offset >= -127 && params->input_offset <= 128;
    const hil_dsp_block_t blk = {
        params->input_offset,
        bias,
        requant->multiplier,
        requant->shift,
        requant->per_channel ? 1 : 0,
        {params->output_offset, params->act_min, params->act_max},
        hil_dsp_bytes4(params->act_min),
        hil_dsp_bytes4(params->act_max),
        hil_dsp_narrow_ok(requant, output_dims->c, bias, cv.filter_bytes, params->input_offset, 0)};
    uint32_t window[HIL_DSP_WINDOW_BYTES / 4];
    field_t fd;
    int32_t out_y, out_x;
    for (fd.batch = 0; fd.batch < input_dims->n; ++fd.batch) {
        for (out_y = 0; out_y < output_dims->h; ++out_y) {
            fd.in_y0 = out_y * params->stride_h - params->pad_h;
            hil_dsp_tap_range(fd.in_y0, params->dilation_h, filter_dims->h, input_dims->h, &fd.ky_lo,
                              &fd.ky_hi);
            for (out_x = 0; out_x < output_dims->w; ++out_x) {
                fd.in_x0 = out_x * params->stride_w - params->pad_w;
                hil_dsp_tap_range(fd.in_x0, params->dilation_w, filter_dims->w, input_dims->w, &fd.kx_lo,
                                  &fd.kx_hi);
                fd.run = 0;
                if (pointwise) {
                    fd.run = input + hil_offset4(input_dims, fd.batch, fd.in_y0, fd.in_x0, 0);
                } else if (gather) {
                    gather_window(&cv, &fd, (int8_t *)window);
                    fd.run = (const int8_t *)window;
                }
                conv_pixel(&cv, &blk, &fd, output_dims->c,
                           output + hil_offset4(output_dims, fd.batch, out_y, out_x, 0));
            }
        }
    }
    return HIL_KERNEL_OK;
}

#else
typedef int32_t hil_conv_s8_dsp_unused_t; /* ISO C forbids an empty translation unit */
#endif /* HIL_KERNELS_DSP */

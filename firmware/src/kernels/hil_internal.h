/* Small helpers shared by the kernel sources (internal header). */
#ifndef HIL_INTERNAL_H
#define HIL_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "kernels.h"

/* Offset of element (b, y, x, c) in an NHWC tensor (tflite::Offset). */
static inline int32_t hil_offset4(const hil_dims_t *d, int32_t b, int32_t y, int32_t x, int32_t c)
{
    return ((b * d->h + y) * d->w + x) * d->c + c;
}

static inline int32_t hil_dims_valid(const hil_dims_t *d)
{
    return d->n >= 0 && d->h >= 0 && d->w >= 0 && d->c >= 0;
}

/* tflite::ActivationFunctionWithMinMax: std::min(std::max(x, lo), hi), with
 * the same comparison order (NaN propagates). */
static inline float hil_act_f32(float x, float lo, float hi)
{
    const float t = (x < lo) ? lo : x;
    return (hi < t) ? hi : t;
}

static inline int32_t hil_shape_valid(const hil_shape_t *s)
{
    int32_t i;
    if (s == NULL || s->rank < 0 || s->rank > HIL_MAX_RANK) {
        return 0;
    }
    for (i = 0; i < s->rank; ++i) {
        if (s->dims[i] < 0) {
            return 0;
        }
    }
    return 1;
}

#endif /* HIL_INTERNAL_H */

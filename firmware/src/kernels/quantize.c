/* QUANTIZE (float -> int8, int8 -> int8), DEQUANTIZE (int8 -> float) and
 * RESHAPE. Counterparts: tflite::reference_ops::AffineQuantize, Requantize,
 * Dequantize. */
#include "hil_fixedpoint.h"
#include "hil_internal.h"
#include "kernels.h"

/* static_cast<int32_t>(std::round(x)) for |x| < 2^31 (round half away from
 * zero), saturating outside; NaN gives 0. No libm. */
static int32_t round_to_i32(float x)
{
    if (x != x) {
        return 0;
    }
    if (x >= 2147483520.0f) {
        return HIL_INT32_MAX;
    }
    if (x <= -2147483648.0f) {
        return HIL_INT32_MIN;
    }
    int32_t t = (int32_t)x;          /* truncates toward zero */
    const float frac = x - (float)t; /* exact */
    if (frac >= 0.5f) {
        t += 1;
    } else if (frac <= -0.5f) {
        t -= 1;
    }
    return t;
}

int32_t hil_quantize_f32_s8(float scale, int32_t zero_point, int32_t size, const float *input, int8_t *output)
{
    int32_t i;
    if (input == NULL || output == NULL || size < 0) {
        return HIL_KERNEL_ERR_ARG;
    }
    for (i = 0; i < size; ++i) {
        const float val = input[i];
        /* keep the sum in range: anything beyond +-2^16 clamps the same way */
        const int32_t rounded = hil_clamp_i32(round_to_i32(val / scale), -65536, 65536);
        const int32_t unclamped = rounded + zero_point;
        output[i] = (int8_t)hil_clamp_i32(unclamped, -128, 127);
    }
    return HIL_KERNEL_OK;
}

int32_t hil_requantize_s8(int32_t input_zero_point, int32_t output_zero_point, int32_t multiplier,
                          int32_t shift, int32_t size, const int8_t *input, int8_t *output)
{
    int32_t i;
    if (input == NULL || output == NULL || size < 0) {
        return HIL_KERNEL_ERR_ARG;
    }
    for (i = 0; i < size; ++i) {
        const int32_t in = (int32_t)input[i] - input_zero_point;
        const int32_t out = hil_wrap_add(hil_mbqm(in, multiplier, shift), output_zero_point);
        output[i] = (int8_t)hil_clamp_i32(out, -128, 127);
    }
    return HIL_KERNEL_OK;
}

int32_t hil_dequantize_s8_f32(float scale, int32_t zero_point, int32_t size, const int8_t *input,
                              float *output)
{
    int32_t i;
    if (input == NULL || output == NULL || size < 0) {
        return HIL_KERNEL_ERR_ARG;
    }
    for (i = 0; i < size; ++i) {
        /* TFLM computes double(scale) * (q - zp) and rounds to float; the
         * exact product has at most 33 significant bits, so one float
         * multiplication rounds to the same value. */
        output[i] = scale * (float)((int32_t)input[i] - zero_point);
    }
    return HIL_KERNEL_OK;
}

int32_t hil_reshape(const void *input, void *output, int32_t num_bytes)
{
    const uint8_t *src = (const uint8_t *)input;
    uint8_t *dst = (uint8_t *)output;
    int32_t i;
    if (input == NULL || output == NULL || num_bytes < 0) {
        return HIL_KERNEL_ERR_ARG;
    }
    if (dst == src) {
        return HIL_KERNEL_OK;
    }
    if (dst < src) {
        for (i = 0; i < num_bytes; ++i) {
            dst[i] = src[i];
        }
    } else {
        for (i = num_bytes - 1; i >= 0; --i) {
            dst[i] = src[i];
        }
    }
    return HIL_KERNEL_OK;
}

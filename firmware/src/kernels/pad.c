/* PAD / PADV2, int8 and float32.
 * Counterpart: tflite::reference_ops::Pad (PadImpl). For int8 PAD the pad
 * value is the output zero point; PADV2 passes its constant. */
#include "hil_internal.h"
#include "kernels.h"

#define DEFINE_PAD(NAME, T)                                                                                  \
    int32_t NAME(const hil_shape_t *input_shape, const T *input, const int32_t *pad_before,                  \
                 const int32_t *pad_after, T pad_value, T *output)                                           \
    {                                                                                                        \
        int32_t out_dims[HIL_MAX_RANK], index[HIL_MAX_RANK];                                                 \
        int32_t d, rank, total = 1, i;                                                                       \
        if (!hil_shape_valid(input_shape) || input == NULL || output == NULL || pad_before == NULL ||        \
            pad_after == NULL) {                                                                             \
            return HIL_KERNEL_ERR_ARG;                                                                       \
        }                                                                                                    \
        rank = input_shape->rank;                                                                            \
        for (d = 0; d < rank; ++d) {                                                                         \
            if (pad_before[d] < 0 || pad_after[d] < 0) {                                                     \
                return HIL_KERNEL_ERR_ARG;                                                                   \
            }                                                                                                \
            out_dims[d] = pad_before[d] + input_shape->dims[d] + pad_after[d];                               \
            index[d] = 0;                                                                                    \
            total *= out_dims[d];                                                                            \
        }                                                                                                    \
        for (i = 0; i < total; ++i) {                                                                        \
            int32_t in_offset = 0, inside = 1;                                                               \
            for (d = 0; d < rank; ++d) {                                                                     \
                const int32_t k = index[d] - pad_before[d];                                                  \
                if (k < 0 || k >= input_shape->dims[d]) {                                                    \
                    inside = 0;                                                                              \
                    break;                                                                                   \
                }                                                                                            \
                in_offset = in_offset * input_shape->dims[d] + k;                                            \
            }                                                                                                \
            output[i] = inside ? input[in_offset] : pad_value;                                               \
            for (d = rank - 1; d >= 0; --d) {                                                                \
                if (++index[d] < out_dims[d]) {                                                              \
                    break;                                                                                   \
                }                                                                                            \
                index[d] = 0;                                                                                \
            }                                                                                                \
        }                                                                                                    \
        return HIL_KERNEL_OK;                                                                                \
    }

DEFINE_PAD(hil_pad_s8, int8_t)
DEFINE_PAD(hil_pad_f32, float)

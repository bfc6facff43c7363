/* CONCATENATION, int8 and float32.
 * Counterpart: tflite::reference_ops::Concatenation. TFLM requires int8
 * inputs and output to share scale and zero point, so this is a copy. */
#include "hil_internal.h"
#include "kernels.h"

#define DEFINE_CONCAT(NAME, T)                                                                               \
    int32_t NAME(int32_t axis, int32_t num_inputs, const hil_shape_t *const *input_shapes,                   \
                 const T *const *inputs, T *output)                                                          \
    {                                                                                                        \
        int32_t i, d, k, rank, outer = 1, inner = 1, out_offset = 0;                                         \
        if (num_inputs <= 0 || input_shapes == NULL || inputs == NULL || output == NULL ||                   \
            !hil_shape_valid(input_shapes[0])) {                                                             \
            return HIL_KERNEL_ERR_ARG;                                                                       \
        }                                                                                                    \
        rank = input_shapes[0]->rank;                                                                        \
        if (axis < 0) {                                                                                      \
            axis += rank;                                                                                    \
        }                                                                                                    \
        if (axis < 0 || axis >= rank) {                                                                      \
            return HIL_KERNEL_ERR_ARG;                                                                       \
        }                                                                                                    \
        for (i = 0; i < num_inputs; ++i) {                                                                   \
            if (!hil_shape_valid(input_shapes[i]) || input_shapes[i]->rank != rank || inputs[i] == NULL) {   \
                return HIL_KERNEL_ERR_ARG;                                                                   \
            }                                                                                                \
            for (d = 0; d < rank; ++d) {                                                                     \
                if (d != axis && input_shapes[i]->dims[d] != input_shapes[0]->dims[d]) {                     \
                    return HIL_KERNEL_ERR_ARG;                                                               \
                }                                                                                            \
            }                                                                                                \
        }                                                                                                    \
        for (d = 0; d < axis; ++d) {                                                                         \
            outer *= input_shapes[0]->dims[d];                                                               \
        }                                                                                                    \
        for (d = axis + 1; d < rank; ++d) {                                                                  \
            inner *= input_shapes[0]->dims[d];                                                               \
        }                                                                                                    \
        for (k = 0; k < outer; ++k) {                                                                        \
            for (i = 0; i < num_inputs; ++i) {                                                               \
                const int32_t copy_size = input_shapes[i]->dims[axis] * inner;                               \
                const T *src = inputs[i] + k * copy_size;                                                    \
                for (d = 0; d < copy_size; ++d) {                                                            \
                    output[out_offset + d] = src[d];                                                         \
                }                                                                                            \
                out_offset += copy_size;                                                                     \
            }                                                                                                \
        }                                                                                                    \
        return HIL_KERNEL_OK;                                                                                \
    }

DEFINE_CONCAT(hil_concatenation_s8, int8_t)
DEFINE_CONCAT(hil_concatenation_f32, float)

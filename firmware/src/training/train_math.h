/* float32 helpers of on-device training (docs/training_spec.md, "Float32 helpers"), mirrored
 * operation for operation by harness/training/f32math.py. No libm: the same result everywhere.
 * Its exp is the kernels' hil_expf (src/kernels/kernels.h), shared with the float softmax. */
#ifndef TRAIN_MATH_H
#define TRAIN_MATH_H

#include <stdint.h>

/* Natural log of a positive normal float (the softmax sum is >= 1). */
float train_logf(float x);
/* NaN -> 0, clamp to [-limit, limit], add +-0.5, truncate toward zero. */
int32_t train_round(float value, float limit);

#endif

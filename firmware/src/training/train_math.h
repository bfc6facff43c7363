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
/* Stochastic rounding (TRAIN_FLAG_STOCHASTIC_ROUNDING): a counter-based generator, no state to keep
 * in step between device and host. train_rounding_base: one layer's stream in one step;
 * train_uniform: u in [0, 1) for one weight index; train_round_stochastic: NaN -> 0, clamp,
 * floor(value + u). */
uint32_t train_hash32(uint32_t x);
uint32_t train_rounding_base(uint32_t seed, uint32_t step, uint32_t layer);
float train_uniform(uint32_t base, uint32_t index);
int32_t train_round_stochastic(float value, float limit, float u);

#endif

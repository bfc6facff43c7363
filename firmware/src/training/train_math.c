#include "train_math.h"

#if !defined(__AVR__)

typedef union {
    float f;
    uint32_t u;
} f32_bits_t;

float train_logf(float x)
{
    const float ln2_hi = 6.93145751953125e-1f;
    const float ln2_lo = 1.42860682030941723212e-6f;
    f32_bits_t b;
    b.f = x;
    int32_t e = (int32_t)((b.u >> 23) & 0xFFu) - 127;
    b.u = (b.u & 0x7FFFFFu) | 0x3F800000u;
    float m = b.f;
    if (m > 1.41421356f) {
        m = m * 0.5f;
        e += 1;
    }
    const float f = m - 1.0f;
    const float s = f / (2.0f + f);
    const float z = s * s;
    float p = 1.0f / 9.0f;
    p = p * z + 1.0f / 7.0f;
    p = p * z + 1.0f / 5.0f;
    p = p * z + 1.0f / 3.0f;
    p = p * z;
    const float two_s = s + s;
    const float log_m = two_s + two_s * p;
    const float ef = (float)e;
    return ef * ln2_hi + (ef * ln2_lo + log_m);
}

/* A step as both roundings take it: NaN as 0, clamped to +-limit. */
static float clamp_step(float value, float limit)
{
    if (value != value) {
        return 0.0f;
    }
    return value > limit ? limit : value < -limit ? -limit : value;
}

int32_t train_round(float value, float limit)
{
    value = clamp_step(value, limit);
    return (int32_t)(value >= 0.0f ? value + 0.5f : value - 0.5f);
}

/* Wellons' lowbias32: a full-avalanche 32-bit integer hash (harness/training/f32math.py hash32). */
uint32_t train_hash32(uint32_t x)
{
    x ^= x >> 16;
    x *= 0x7feb352du;
    x ^= x >> 15;
    x *= 0x846ca68bu;
    x ^= x >> 16;
    return x;
}

uint32_t train_rounding_base(uint32_t seed, uint32_t step, uint32_t layer)
{
    return train_hash32(layer ^ train_hash32(step ^ train_hash32(seed)));
}

float train_uniform(uint32_t base, uint32_t index)
{
    return (float)(train_hash32(index ^ base) >> 8) * (1.0f / 16777216.0f);
}

int32_t train_round_stochastic(float value, float limit, float u)
{
    value = clamp_step(value, limit);
    const float sum = value + u;
    int32_t whole = (int32_t)sum; /* toward zero; one less below zero unless exact */
    if ((float)whole > sum) {
        whole -= 1;
    }
    return whole;
}

#endif

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

int32_t train_round(float value, float limit)
{
    if (value != value) {
        value = 0.0f;
    }
    if (value > limit) {
        value = limit;
    }
    if (value < -limit) {
        value = -limit;
    }
    return (int32_t)(value >= 0.0f ? value + 0.5f : value - 0.5f);
}

#endif

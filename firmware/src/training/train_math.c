#include "train_math.h"

#if !defined(__AVR__)

typedef union {
    float f;
    uint32_t u;
} f32_bits_t;

static float pow2i(int32_t k) /* 2^k for k in [-126, 127] */
{
    f32_bits_t b;
    b.u = (uint32_t)(k + 127) << 23;
    return b.f;
}

#if HIL_TRAINING_SELFTEST_PERTURB
/* A deliberately wrong constant (the r^3 coefficient 2^-10 too big, ~100 ulp in exp): the host's
 * bit-exact comparison must catch it. (1/721 for 1/720 was tried and stays below float
 * resolution for |r| <= 0.35: it changes no result, so no check could see it.) */
#define EXP_C3 ((1.0f / 6.0f) * 1.0009765625f)
#else
#define EXP_C3 (1.0f / 6.0f)
#endif

float train_expf(float x)
{
    const float log2e = 1.44269504088896341f;
    const float ln2_hi = 6.93145751953125e-1f; /* k * ln2_hi is exact */
    const float ln2_lo = 1.42860682030941723212e-6f;
    if (x != x) {
        return x + x;
    }
    if (x > 88.72283935546875f) {
        return pow2i(127) * pow2i(127);
    }
    if (x < -103.972084045410156f) {
        return 0.0f;
    }
    const float t = x * log2e;
    const int32_t k = (int32_t)(t >= 0.0f ? t + 0.5f : t - 0.5f);
    const float kf = (float)k;
    const float r = (x - kf * ln2_hi) - kf * ln2_lo;
    float p = 1.0f / 40320.0f;
    p = p * r + 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + EXP_C3;
    p = p * r + 0.5f;
    p = p * r;
    p = p * r;
    const float y = 1.0f + (r + p);
    if (k > 127) {
        return y * pow2i(127) * pow2i(k - 127);
    }
    if (k < -126) {
        return y * pow2i(-126) * pow2i(k + 126);
    }
    return y * pow2i(k);
}

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

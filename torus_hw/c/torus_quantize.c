/* torus_quantize.c: the fixed flat-torus grid of torus_hw/quantize.py in C.
 * Bit-exact with NumPy on IEEE-754 double with round-to-nearest and no excess
 * precision (FLT_EVAL_METHOD 0: any SSE2, Arm or RISC-V double, soft or hard).
 * Part of torus-hw. */
#include "torus_pack.h"

/* NumPy's np.pi is the double nearest pi; this literal denotes exactly that double. */
#define TORUS_TWO_PI (2.0 * 3.141592653589793115997963468544185161590576171875)

/* np.rint: round half to even, without libm. */
static double torus_rint(double x)
{
    const double two52 = 4503599627370496.0;  /* from here on every double is an integer */
    double a = x < 0 ? -x : x, t, frac;
    int64_t i;

    if (a >= two52)
        return x;
    i = (int64_t)a;               /* truncation, exact below 2^52 */
    t = (double)i;
    frac = a - t;                 /* exact */
    if (frac > 0.5 || (frac == 0.5 && (i & 1)))
        t += 1.0;
    return x < 0 ? -t : t;
}

uint16_t torus_quantize_angle(double theta, uint32_t bits)
{
    double scale = (double)(1u << bits) / TORUS_TWO_PI;   /* the same two roundings as NumPy */
    int64_t steps = (int64_t)torus_rint(theta * scale);
    return (uint16_t)((uint64_t)steps & ((1u << bits) - 1u));
}

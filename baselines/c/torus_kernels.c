/*
 * torus-hw: the plain C reference kernels, the naive baseline.  Written as a
 * careful embedded engineer would write it for a compiler (no intrinsics, no
 * hand tricks), then compiled by the same compilers and flags as every other
 * baseline (baselines/build.py); the other sources in this folder are what a
 * speed-minded engineer would write instead.
 *
 * Specialised at compile time, like the generated kernels:
 *   TORUS_DIMS D, TORUS_BITS n in {1,4,8,16}, TORUS_L2 (0 = l1, 1 = l2),
 *   TORUS_ROW_STRIDE bytes per row, TORUS_K_MAX (search).
 * Semantics: torus_hw/reference.py (per dim t = min(d, 2^n - d) with
 * d = (a - b) mod 2^n; l1 = sum t, l2 = sum t*t; search by (distance, row)).
 */
#include <stdint.h>

#define TORUS_MASK ((1u << TORUS_BITS) - 1u)

static inline uint32_t torus_code(const uint8_t *v, uint32_t j)
{
#if TORUS_BITS == 8
    return v[j];
#elif TORUS_BITS == 16
    return (uint32_t)v[2 * j] | ((uint32_t)v[2 * j + 1] << 8);
#elif TORUS_BITS == 4
    return (v[j >> 1] >> ((j & 1u) * 4u)) & 0xFu;
#else
    return (v[j >> 3] >> (j & 7u)) & 1u;
#endif
}

typedef struct { const uint8_t *q; } torus_query;

static inline void torus_prepare(torus_query *pq, const uint8_t *q)
{
    pq->q = q;
}

static inline uint32_t torus_row(const torus_query *pq, const uint8_t *row)
{
    uint32_t sum = 0;
    for (uint32_t j = 0; j < TORUS_DIMS; j++) {
        uint32_t d = (torus_code(pq->q, j) - torus_code(row, j)) & TORUS_MASK;
        uint32_t e = (0u - d) & TORUS_MASK;
        uint32_t t = d < e ? d : e;
#if TORUS_L2
        sum += t * t;
#else
        sum += t;
#endif
    }
    return sum;
}

#include "torus_search.h"

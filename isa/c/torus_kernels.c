/*
 * torus-hw: the plain C reference kernels, the baseline every generated
 * kernel is measured against.  Written as a careful embedded engineer would
 * write it for a compiler (no intrinsics, no hand tricks), then compiled by
 * the same ziglang clang at -O2 / -O3 for each target.
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

uint32_t torus_distance(const uint8_t *q, const uint8_t *row)
{
    uint32_t sum = 0;
    for (uint32_t j = 0; j < TORUS_DIMS; j++) {
        uint32_t d = (torus_code(q, j) - torus_code(row, j)) & TORUS_MASK;
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

void torus_scan(const uint8_t *q, const uint8_t *db, uint32_t n, uint32_t *out)
{
    for (uint32_t i = 0; i < n; i++)
        out[i] = torus_distance(q, db + (uintptr_t)i * TORUS_ROW_STRIDE);
}

uint32_t torus_search(const uint8_t *q, const uint8_t *db, uint32_t n, uint32_t k,
                      uint32_t *out_idx, uint32_t *out_dist)
{
    uint32_t found = 0;
    if (k > TORUS_K_MAX)
        k = TORUS_K_MAX;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t d = torus_distance(q, db + (uintptr_t)i * TORUS_ROW_STRIDE);
        if (found == k && d >= out_dist[k - 1])
            continue;               /* not better than the worst kept: ties keep the lower row */
        uint32_t pos = found < k ? found++ : k - 1;
        while (pos > 0 && out_dist[pos - 1] > d) {
            out_dist[pos] = out_dist[pos - 1];
            out_idx[pos] = out_idx[pos - 1];
            pos--;
        }
        out_dist[pos] = d;
        out_idx[pos] = i;
    }
    return found;
}

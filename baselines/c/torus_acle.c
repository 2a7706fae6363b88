/*
 * torus-hw: ACLE intrinsics C for the Cortex-M4 (ARMv7E-M DSP SIMD), 8-bit l1.
 *
 * With the query prepared once per call as q' = q ^ 0x80 per byte,
 * __usub8(q', r) is (d + 128) mod 256 per byte (d = q - r mod 256) and
 * |y - 128| = min(d, 256 - d), so __usada8(y, 0x80808080, acc) adds four
 * torus distances: two DSP instructions per word.  What an engineer who knows
 * the DSP extension writes in C; the compiler schedules loads and the loop.
 */
#include <stdint.h>
#include <arm_acle.h>

#if TORUS_BITS != 8 || TORUS_L2
#error "the ACLE baseline covers 8-bit l1 codes"
#endif

#define WORDS (TORUS_ROW_STRIDE / 4u)
typedef uint32_t __attribute__((may_alias)) word_alias;

typedef struct { uint32_t qx[WORDS]; } torus_query;

static inline void torus_prepare(torus_query *pq, const uint8_t *q)
{
    const word_alias *w = (const word_alias *)q;
    for (uint32_t j = 0; j < WORDS; j++)
        pq->qx[j] = w[j] ^ 0x80808080u;
}

static inline uint32_t torus_row(const torus_query *pq, const uint8_t *row)
{
    const word_alias *r = (const word_alias *)row;
    uint32_t acc = 0;
    for (uint32_t j = 0; j < WORDS; j++)
        acc = __usada8(__usub8(pq->qx[j], r[j]), 0x80808080u, acc);
    return acc;
}

#include "torus_search.h"

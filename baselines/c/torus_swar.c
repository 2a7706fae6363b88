/*
 * torus-hw: portable SWAR C for 8-bit l1 codes, one machine word (32 or 64
 * bits: TORUS_WORD_BITS) of four or eight dims at a time, no intrinsics.
 *
 * Per word, with q and r the query and row words, H = 0x80 and L = 0x7F in
 * every byte, and the query prepared once per call as qh = q | H, qx = q ^ H:
 *
 *   z = qh - (r & L)          7-bit differences; the guard bit H stops each
 *                             byte's borrow (z's byte is 128 + q7 - r7 >= 1)
 *   s = (z ^ r ^ qx) & H      the sign bit of d = q - r mod 256, per byte
 *   m = s >> 7                1 in the bytes where d >= 128
 *   x = (z ^ (s - m)) & L     low 7 bits of d, inverted (^ 0x7F) where d >= 128
 *
 * nine operations (and, sub, xor, xor, and, shift, sub, xor, and).  Then the
 * torus distance of each byte is t = x + m = min(d, 256 - d): d < 128 gives
 * t = d; d >= 128 gives (127 - (d - 128)) + 1 = 256 - d.  The step is proved
 * over every byte pair in every lane by tests/test_baselines.py.
 *
 * Sums: x bytes are <= 127, so two words' x add without carry (<= 254)
 * before they are split into 16-bit lanes; the m bytes count up to CHUNK
 * words.  Each chunk is reduced by one multiply per accumulator (the
 * horizontal sum lands in the top lane) while no lane can overflow.
 * Rows are padded to a whole word (zero padding in row and query adds 0).
 */
#include <stdint.h>

#if TORUS_BITS != 8 || TORUS_L2
#error "the SWAR baseline covers 8-bit l1 codes"
#endif

#if TORUS_WORD_BITS == 64
typedef uint64_t word_t;
#define CHUNK 31u          /* 8 m-bytes * 31 < 256; 4 lanes * 254 * 31 < 65536 */
#else
typedef uint32_t word_t;
#define CHUNK 63u          /* 4 m-bytes * 63 < 256; 2 lanes * 254 * 63 < 65536 */
#endif
typedef word_t __attribute__((may_alias)) word_alias;

#define ONES ((word_t)-1 / 0xFFu)            /* 0x0101...01 */
#define H (ONES * 0x80u)
#define L (ONES * 0x7Fu)
#define M16 ((word_t)-1 / 0xFFFFu * 0xFFu)   /* 0x00FF00FF...: even bytes */
#define P16 ((word_t)-1 / 0xFFFFu)           /* 0x00010001...: sums 16-bit lanes */
#define WORDS (TORUS_ROW_STRIDE / sizeof(word_t))
#define TOP8 (TORUS_WORD_BITS - 8)
#define TOP16 (TORUS_WORD_BITS - 16)

typedef struct { word_t qh[WORDS], qx[WORDS]; } torus_query;

static inline void torus_prepare(torus_query *pq, const uint8_t *q)
{
    const word_alias *w = (const word_alias *)q;
    for (uint32_t j = 0; j < WORDS; j++) {
        pq->qh[j] = w[j] | H;
        pq->qx[j] = w[j] ^ H;
    }
}

/* The nine-operation step: x (<= 127 per byte); m (0 or 1 per byte) is added to *cnt. */
static inline word_t torus_step(word_t qh, word_t qx, word_t r, word_t *cnt)
{
    word_t z = qh - (r & L);
    word_t s = (z ^ r ^ qx) & H;
    word_t m = s >> 7;
    *cnt += m;
    return (z ^ (s - m)) & L;
}

static inline uint32_t torus_row(const torus_query *pq, const uint8_t *row)
{
    const word_alias *r = (const word_alias *)row;
    uint32_t total = 0;
    for (uint32_t c = 0; c < WORDS; c += CHUNK) {
        uint32_t end = c + CHUNK < WORDS ? c + CHUNK : WORDS;
        word_t lanes = 0, cnt = 0;
        uint32_t j = c;
        for (; j + 2 <= end; j += 2) {
            word_t x = torus_step(pq->qh[j], pq->qx[j], r[j], &cnt)
                     + torus_step(pq->qh[j + 1], pq->qx[j + 1], r[j + 1], &cnt);
            lanes += (x & M16) + ((x >> 8) & M16);
        }
        if (j < end) {
            word_t x = torus_step(pq->qh[j], pq->qx[j], r[j], &cnt);
            lanes += (x & M16) + ((x >> 8) & M16);
        }
        total += (uint32_t)((lanes * P16) >> TOP16) + (uint32_t)((cnt * ONES) >> TOP8);
    }
    return total;
}

#include "torus_search.h"

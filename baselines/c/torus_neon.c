/*
 * torus-hw: NEON intrinsics C for AArch64, 8-bit l1, TORUS_GROUP rows at a
 * time sharing each query vector.
 *
 * Per 16 dims: d = q - r (vsubq_u8) read as int8 has |d| = min(d, 256 - d)
 * (vabsq_s8, and ABS(-128) = 0x80 = 128 read unsigned); vpadalq_u8 adds the
 * byte pairs into 16-bit lanes (each lane < 65536 while D < 4096*8/16).  A group's
 * lane sums are folded with a vpaddq_u16 tree into one vector of row sums
 * (while 128 * D < 65536; longer rows reduce each row with vaddlvq_u16).
 * Rows of at most 8 dims use 8-byte vectors.
 */
#include <stdint.h>
#include <arm_neon.h>

#if TORUS_BITS != 8 || TORUS_L2
#error "the NEON baseline covers 8-bit l1 codes"
#endif

#if TORUS_ROW_STRIDE == 8
#define CHUNKS 1u
typedef struct { uint8x8_t q; } torus_query;

static inline void torus_prepare(torus_query *pq, const uint8_t *q)
{
    pq->q = vld1_u8(q);
}

static inline uint16x4_t torus_lanes(const torus_query *pq, const uint8_t *row)
{
    int8x8_t d = vreinterpret_s8_u8(vsub_u8(pq->q, vld1_u8(row)));
    return vpaddl_u8(vreinterpret_u8_s8(vabs_s8(d)));
}

static inline uint32_t torus_row(const torus_query *pq, const uint8_t *row)
{
    return vaddlv_u16(torus_lanes(pq, row));
}

#if TORUS_GROUP == 4
static inline void torus_rows(const torus_query *pq, const uint8_t *rows, uint32_t *d)
{
    uint16x4_t a0 = torus_lanes(pq, rows), a1 = torus_lanes(pq, rows + 8);
    uint16x4_t a2 = torus_lanes(pq, rows + 16), a3 = torus_lanes(pq, rows + 24);
    uint16x4_t s = vpadd_u16(vpadd_u16(a0, a1), vpadd_u16(a2, a3));
    vst1q_u32(d, vmovl_u16(s));
}
#elif TORUS_GROUP == 8
static inline void torus_rows(const torus_query *pq, const uint8_t *rows, uint32_t *d)
{
    uint16x4_t a[8];
    for (int g = 0; g < 8; g++)
        a[g] = torus_lanes(pq, rows + 8 * g);
    uint16x4_t lo = vpadd_u16(vpadd_u16(a[0], a[1]), vpadd_u16(a[2], a[3]));
    uint16x4_t hi = vpadd_u16(vpadd_u16(a[4], a[5]), vpadd_u16(a[6], a[7]));
    vst1q_u32(d, vmovl_u16(lo));
    vst1q_u32(d + 4, vmovl_u16(hi));
}
#endif

#else /* rows padded to whole 16-byte vectors */
#define CHUNKS (TORUS_ROW_STRIDE / 16u)
#define FOLD (TORUS_DIMS * 128u < 65536u)  /* row sums fit a 16-bit lane */
typedef struct { uint8x16_t q[CHUNKS]; } torus_query;

static inline void torus_prepare(torus_query *pq, const uint8_t *q)
{
    for (uint32_t c = 0; c < CHUNKS; c++)
        pq->q[c] = vld1q_u8(q + 16 * c);
}

static inline uint16x8_t torus_step(uint16x8_t acc, uint8x16_t q, const uint8_t *p)
{
    int8x16_t d = vreinterpretq_s8_u8(vsubq_u8(q, vld1q_u8(p)));
    return vpadalq_u8(acc, vreinterpretq_u8_s8(vabsq_s8(d)));
}

static inline uint32_t torus_row(const torus_query *pq, const uint8_t *row)
{
    uint16x8_t acc = vdupq_n_u16(0);
    for (uint32_t c = 0; c < CHUNKS; c++)
        acc = torus_step(acc, pq->q[c], row + 16 * c);
    return vaddlvq_u16(acc);
}

#if TORUS_GROUP > 1
static inline void torus_rows(const torus_query *pq, const uint8_t *rows, uint32_t *d)
{
    uint16x8_t acc[TORUS_GROUP];
    for (int g = 0; g < TORUS_GROUP; g++)
        acc[g] = vdupq_n_u16(0);
    for (uint32_t c = 0; c < CHUNKS; c++)
        for (int g = 0; g < TORUS_GROUP; g++)
            acc[g] = torus_step(acc[g], pq->q[c], rows + (uintptr_t)g * TORUS_ROW_STRIDE + 16 * c);
    if (FOLD) {
        for (int g = 0; g < TORUS_GROUP; g += 8 < TORUS_GROUP ? 8 : TORUS_GROUP) {
            /* the fold tree: pairs of rows, then pairs of pairs, ... one u16 sum per row */
            uint16x8_t p0 = vpaddq_u16(acc[g], acc[g + 1]), p1 = vpaddq_u16(acc[g + 2], acc[g + 3]);
            uint16x8_t s4 = vpaddq_u16(p0, p1);
#if TORUS_GROUP >= 8
            uint16x8_t p2 = vpaddq_u16(acc[g + 4], acc[g + 5]), p3 = vpaddq_u16(acc[g + 6], acc[g + 7]);
            uint16x8_t s8 = vpaddq_u16(s4, vpaddq_u16(p2, p3));
            vst1q_u32(d + g, vmovl_u16(vget_low_u16(s8)));
            vst1q_u32(d + g + 4, vmovl_high_u16(s8));
#else
            vst1q_u32(d + g, vmovl_u16(vget_low_u16(vpaddq_u16(s4, s4))));
#endif
        }
    } else {
        for (int g = 0; g < TORUS_GROUP; g++)
            d[g] = vaddlvq_u16(acc[g]);
    }
}
#endif
#endif

#include "torus_search.h"

/* torus_pack.h: pack a query at run time exactly as torus_hw/quantize.py packs rows.
 *
 * Layout (docs/firmware.md): 8-bit codes one per byte; 16-bit codes little-endian;
 * 4-bit codes two per byte, dim 2j in the low nibble of byte j; 1-bit codes eight
 * per byte, dim j at bit (j mod 8) of byte j / 8; then zero bytes up to the stride.
 * Portable C99, integer only, no library calls.  Part of torus-hw. */
#ifndef TORUS_PACK_H
#define TORUS_PACK_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bytes one packed row of `dims` codes of `bits` bits needs before padding. */
uint32_t torus_row_bytes(uint32_t dims, uint32_t bits);

/* Pack `dims` codes (each below 2^bits) into `out[0 .. stride)`, zero-padded.
 * Returns 0, or -1 (and writes nothing) when bits is not 1, 4, 8 or 16, a code
 * does not fit `bits` bits, or `stride` is smaller than the packed row. */
int torus_pack_query(const uint16_t *codes, uint32_t dims, uint32_t bits, uint32_t stride, uint8_t *out);

/* The fixed flat-torus grid of torus_hw/quantize.py (angles_to_codes):
 * code = round(theta * 2^bits / (2 pi)) mod 2^bits, round half to even, in IEEE double.
 * Defined in torus_quantize.c (it needs double arithmetic, which small cores emulate). */
uint16_t torus_quantize_angle(double theta, uint32_t bits);

#ifdef __cplusplus
}
#endif

#endif /* TORUS_PACK_H */

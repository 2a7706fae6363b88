/* torus_pack.c: see torus_pack.h.  Part of torus-hw. */
#include "torus_pack.h"

uint32_t torus_row_bytes(uint32_t dims, uint32_t bits)
{
    return (dims * bits + 7u) / 8u;
}

int torus_pack_query(const uint16_t *codes, uint32_t dims, uint32_t bits, uint32_t stride, uint8_t *out)
{
    uint32_t i, need;

    if (bits != 1u && bits != 4u && bits != 8u && bits != 16u)
        return -1;
    need = torus_row_bytes(dims, bits);
    if (stride < need)
        return -1;
    for (i = 0; i < dims; i++)  /* check everything before writing anything */
        if (bits < 16u && codes[i] >= (1u << bits))
            return -1;
    for (i = 0; i < stride; i++)
        out[i] = 0;
    for (i = 0; i < dims; i++) {
        uint32_t c = codes[i];
        switch (bits) {
        case 16u: out[2u * i] = (uint8_t)(c & 0xFFu); out[2u * i + 1u] = (uint8_t)(c >> 8); break;
        case 8u:  out[i] = (uint8_t)c; break;
        case 4u:  out[i / 2u] |= (uint8_t)(c << (4u * (i & 1u))); break;
        default:  out[i / 8u] |= (uint8_t)(c << (i & 7u)); break;
        }
    }
    return 0;
}

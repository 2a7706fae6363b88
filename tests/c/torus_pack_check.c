/* Host driver for tests/test_firmware_export.py: reads requests on stdin, answers on stdout.
 *   p BITS DIMS STRIDE c0 c1 ...   -> the packed row in hex, or "error"
 *   a BITS HEX64                    -> torus_quantize_angle of the double with those bits */
#include <stdio.h>
#include <string.h>
#include "torus_pack.h"

int main(void)
{
    char op;
    while (scanf(" %c", &op) == 1) {
        unsigned bits, dims, stride, i, v;
        if (op == 'p') {
            static uint16_t codes[4096];
            static uint8_t out[16384];
            if (scanf("%u %u %u", &bits, &dims, &stride) != 3) return 2;
            for (i = 0; i < dims; i++) { if (scanf("%u", &v) != 1) return 2; codes[i] = (uint16_t)v; }
            memset(out, 0xA5, sizeof out);
            if (torus_pack_query(codes, dims, bits, stride, out)) { puts("error"); continue; }
            for (i = 0; i < stride; i++) printf("%02x", out[i]);
            if (out[stride] != 0xA5) printf("!overrun");
            putchar('\n');
        } else if (op == 'a') {
            unsigned long long raw; double theta;
            if (scanf("%u %llx", &bits, &raw) != 2) return 2;
            memcpy(&theta, &raw, sizeof theta);
            printf("%u\n", (unsigned)torus_quantize_angle(theta, bits));
        } else return 2;
    }
    return 0;
}

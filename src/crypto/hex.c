/* Hex encoding for keys, ids and hashes shown to people. Decoding runs in
 * time independent of the digits, since key files are decoded with it. */
#include "crypto.h"

void crypto_hex(const uint8_t *in, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * len] = '\0';
}

/* Branch-free: returns the value 0..15 of one hex digit, or -1. */
static int hex_value(unsigned char c)
{
    int v = -1;
    int d = c - '0', l = c - 'a', u = c - 'A';
    /* mask is all ones when lo <= x <= hi */
    v += ((((d >= 0) & (d <= 9))) * (d + 1));
    v += ((((l >= 0) & (l <= 5))) * (l + 11));
    v += ((((u >= 0) & (u <= 5))) * (u + 11));
    return v;
}

crypto_err crypto_unhex(const char *hex, uint8_t *out, size_t len)
{
    int bad = 0;
    size_t i;
    for (i = 0; i < 2 * len; i++)
        if (hex[i] == '\0')
            return CRYPTO_ERR_BAD_HEX; /* too short: length is not secret */
    if (hex[2 * len] != '\0')
        return CRYPTO_ERR_BAD_HEX;
    for (i = 0; i < len; i++) {
        int hi = hex_value((unsigned char)hex[2 * i]);
        int lo = hex_value((unsigned char)hex[2 * i + 1]);
        bad |= (hi < 0) | (lo < 0);
        out[i] = (uint8_t)(((hi & 15) << 4) | (lo & 15));
    }
    return bad ? CRYPTO_ERR_BAD_HEX : CRYPTO_OK;
}

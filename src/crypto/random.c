/* OS randomness, wiping and constant-time comparison: the three primitives
 * every secret in evote goes through. */
#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "crypto.h"

crypto_err crypto_random(void *buf, size_t len)
{
    uint8_t *p = buf;
    while (len > 0) {
        /* getrandom blocks until the kernel pool is initialised, and never
         * returns short for <= 256 bytes; loop anyway for larger requests. */
        ssize_t got = getrandom(p, len, 0);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            return CRYPTO_ERR_RANDOM;
        }
        p += got;
        len -= (size_t)got;
    }
    return CRYPTO_OK;
}

void crypto_wipe(void *p, size_t len)
{
    /* explicit_bzero is not removed by dead-store elimination. */
    explicit_bzero(p, len);
}

int crypto_equal(const void *a, const void *b, size_t len)
{
    const volatile uint8_t *x = a;
    const volatile uint8_t *y = b;
    uint8_t diff = 0;
    for (size_t i = 0; i < len; i++)
        diff |= (uint8_t)(x[i] ^ y[i]);
    return diff == 0;
}

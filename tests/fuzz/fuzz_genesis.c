/* Fuzz target: the genesis file (genesis_parse), which every validator,
 * client and auditor reads: refused with a reason, never a crash. A
 * genesis that parses has n = 3f+1 validators with distinct keys, or
 * abort(). */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "ledger.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    genesis *g = NULL;
    genesis_error why;

    if (genesis_parse(data, size, &g, &why) == LEDGER_OK) {
        if (g->n != 3 * g->f + 1 || g->n > GENESIS_MAX_VALIDATORS)
            abort();
        for (uint32_t i = 0; i < g->n; i++)
            for (uint32_t j = i + 1; j < g->n; j++)
                if (memcmp(g->validators[i].pubkey, g->validators[j].pubkey, CRYPTO_PUBKEY_LEN) == 0)
                    abort();
        genesis_destroy(&g);
    }
    return 0;
}

/* The seed in corpus/genesis/ is a real one (evote genesis --validators 4,
 * plus two authorities); this one only has the mandatory lines. */
void fuzz_seeds(fuzz_emit emit, void *ctx)
{
    static const char text[] = "evote-genesis-v1\nchain_name fuzz\n";
    emit(ctx, (const uint8_t *)text, sizeof text - 1);
}

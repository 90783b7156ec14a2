/* CURVE keys for the transport: Z85 text (the genesis form), key pairs from
 * libsodium through libzmq, and secret key files that only their owner can
 * read — the same rules as the Schnorr key files of src/crypto. */
#include <string.h>

#include <zmq.h>

#include "net.h"

#define CURVE_FILE_HEADER "evote-curve-secret-v1 "
#define CURVE_FILE_HEADER_LEN (sizeof(CURVE_FILE_HEADER) - 1)
#define CURVE_FILE_LEN (CURVE_FILE_HEADER_LEN + NET_CURVE_Z85_LEN + 1)

static const char z85_alphabet[] =
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

int net_has_curve(void)
{
    return zmq_has("curve") ? 1 : 0;
}

void net_z85_encode(const uint8_t key[NET_CURVE_KEY_LEN], char out[NET_CURVE_Z85_LEN + 1])
{
    /* Cannot fail: 32 is a multiple of 4. */
    (void)zmq_z85_encode(out, key, NET_CURVE_KEY_LEN);
}

net_err net_z85_decode(const char *text, uint8_t out[NET_CURVE_KEY_LEN])
{
    uint8_t key[NET_CURVE_KEY_LEN];
    char again[NET_CURVE_Z85_LEN + 1];
    size_t i;

    if (text == NULL)
        return NET_ERR_BAD_Z85;
    for (i = 0; i < NET_CURVE_Z85_LEN; i++)
        if (text[i] == '\0' || strchr(z85_alphabet, text[i]) == NULL)
            return NET_ERR_BAD_Z85;
    if (text[NET_CURVE_Z85_LEN] != '\0')
        return NET_ERR_BAD_Z85;
    if (zmq_z85_decode(key, text) == NULL)
        return NET_ERR_BAD_Z85;
    /* A 5-character group above 2^32-1 would wrap silently in some libzmq
     * versions: accept only the one encoding that round-trips. */
    net_z85_encode(key, again);
    if (memcmp(again, text, NET_CURVE_Z85_LEN) != 0) {
        crypto_wipe(key, sizeof key);
        return NET_ERR_BAD_Z85;
    }
    memcpy(out, key, sizeof key);
    crypto_wipe(key, sizeof key);
    crypto_wipe(again, sizeof again);
    return NET_OK;
}

void net_curve_keypair_wipe(net_curve_keypair *kp)
{
    if (kp != NULL)
        crypto_wipe(kp, sizeof *kp);
}

net_err net_curve_keypair_generate(net_curve_keypair *out)
{
    char pub[NET_CURVE_Z85_LEN + 1], sec[NET_CURVE_Z85_LEN + 1];
    net_err err = NET_OK;

    if (!net_has_curve())
        return NET_ERR_NO_CURVE;
    if (zmq_curve_keypair(pub, sec) != 0)
        return NET_ERR_ZMQ;
    if (net_z85_decode(pub, out->public_key) != NET_OK ||
        net_z85_decode(sec, out->secret_key) != NET_OK) {
        net_curve_keypair_wipe(out);
        err = NET_ERR_ZMQ;
    }
    crypto_wipe(sec, sizeof sec);
    return err;
}

net_err net_curve_keypair_from_secret(const uint8_t secret[NET_CURVE_KEY_LEN], net_curve_keypair *out)
{
    char pub[NET_CURVE_Z85_LEN + 1], sec[NET_CURVE_Z85_LEN + 1];
    net_err err = NET_OK;

    if (!net_has_curve())
        return NET_ERR_NO_CURVE;
    net_z85_encode(secret, sec);
    if (zmq_curve_public(pub, sec) != 0 || net_z85_decode(pub, out->public_key) != NET_OK)
        err = NET_ERR_ZMQ;
    else
        memmove(out->secret_key, secret, NET_CURVE_KEY_LEN);
    crypto_wipe(sec, sizeof sec);
    return err;
}

static net_err from_crypto(crypto_err err)
{
    switch (err) {
    case CRYPTO_OK: return NET_OK;
    case CRYPTO_ERR_KEY_FILE_MODE: return NET_ERR_KEY_FILE_MODE;
    case CRYPTO_ERR_KEY_FILE_SIZE: return NET_ERR_KEY_FILE_SIZE;
    case CRYPTO_ERR_KEY_FILE_FORMAT: return NET_ERR_KEY_FILE_FORMAT;
    case CRYPTO_ERR_KEY_FILE_EXISTS: return NET_ERR_KEY_FILE_EXISTS;
    case CRYPTO_ERR_KEY_FILE_WRITE: return NET_ERR_KEY_FILE_WRITE;
    default: return NET_ERR_KEY_FILE_OPEN;
    }
}

net_err net_curve_secret_load(const char *path, net_curve_keypair *out)
{
    char buf[CURVE_FILE_LEN + 1];
    uint8_t secret[NET_CURVE_KEY_LEN];
    net_err err = from_crypto(crypto_secret_file_read(path, CURVE_FILE_HEADER, buf, CURVE_FILE_LEN));

    if (err != NET_OK)
        return err;
    err = net_z85_decode(buf + CURVE_FILE_HEADER_LEN, secret);
    crypto_wipe(buf, sizeof buf);
    if (err != NET_OK) {
        crypto_wipe(secret, sizeof secret);
        return NET_ERR_KEY_FILE_FORMAT;
    }
    err = net_curve_keypair_from_secret(secret, out);
    crypto_wipe(secret, sizeof secret);
    return err;
}

net_err net_curve_secret_save(const net_curve_keypair *kp, const char *path)
{
    char buf[CURVE_FILE_LEN];
    char z85[NET_CURVE_Z85_LEN + 1];
    net_err err;

    net_z85_encode(kp->secret_key, z85);
    memcpy(buf, CURVE_FILE_HEADER, CURVE_FILE_HEADER_LEN);
    memcpy(buf + CURVE_FILE_HEADER_LEN, z85, NET_CURVE_Z85_LEN);
    buf[CURVE_FILE_LEN - 1] = '\n';
    crypto_wipe(z85, sizeof z85);
    err = from_crypto(crypto_secret_file_write(path, buf, sizeof buf));
    crypto_wipe(buf, sizeof buf);
    return err;
}

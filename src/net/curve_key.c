/* CURVE keys for the transport: Z85 text (the genesis form), key pairs from
 * libsodium through libzmq, and secret key files that only their owner can
 * read — the same rules as the Schnorr key files of src/crypto. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

net_err net_curve_secret_load(const char *path, net_curve_keypair *out)
{
    char buf[CURVE_FILE_LEN + 1];
    uint8_t secret[NET_CURVE_KEY_LEN];
    struct stat st;
    net_err err;
    ssize_t got;
    size_t have = 0;
    int fd;

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return NET_ERR_KEY_FILE_OPEN;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return NET_ERR_KEY_FILE_OPEN;
    }
    if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
        close(fd);
        return NET_ERR_KEY_FILE_MODE;
    }
    if (!S_ISREG(st.st_mode) || st.st_size != (off_t)CURVE_FILE_LEN) {
        close(fd);
        return NET_ERR_KEY_FILE_SIZE;
    }
    /* Read one byte more than expected to notice a file that grew. */
    while (have < sizeof buf) {
        got = read(fd, buf + have, sizeof buf - have);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        have += (size_t)got;
    }
    close(fd);
    if (have != CURVE_FILE_LEN) {
        crypto_wipe(buf, sizeof buf);
        return NET_ERR_KEY_FILE_SIZE;
    }
    if (memcmp(buf, CURVE_FILE_HEADER, CURVE_FILE_HEADER_LEN) != 0 || buf[CURVE_FILE_LEN - 1] != '\n') {
        crypto_wipe(buf, sizeof buf);
        return NET_ERR_KEY_FILE_FORMAT;
    }
    buf[CURVE_FILE_LEN - 1] = '\0';
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
    size_t done = 0;
    int fd, ok;

    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return errno == EEXIST ? NET_ERR_KEY_FILE_EXISTS : NET_ERR_KEY_FILE_WRITE;
    /* The umask may only remove bits; make sure of 0600 whatever it is. */
    if (fchmod(fd, 0600) != 0) {
        close(fd);
        unlink(path);
        return NET_ERR_KEY_FILE_WRITE;
    }
    net_z85_encode(kp->secret_key, z85);
    memcpy(buf, CURVE_FILE_HEADER, CURVE_FILE_HEADER_LEN);
    memcpy(buf + CURVE_FILE_HEADER_LEN, z85, NET_CURVE_Z85_LEN);
    buf[CURVE_FILE_LEN - 1] = '\n';
    crypto_wipe(z85, sizeof z85);
    while (done < sizeof buf) {
        ssize_t w = write(fd, buf + done, sizeof buf - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        done += (size_t)w;
    }
    crypto_wipe(buf, sizeof buf);
    ok = done == sizeof buf && fsync(fd) == 0;
    if (close(fd) != 0)
        ok = 0;
    if (!ok) {
        unlink(path);
        return NET_ERR_KEY_FILE_WRITE;
    }
    return NET_OK;
}

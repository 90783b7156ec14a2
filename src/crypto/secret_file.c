/* Secret key files, whatever the key: one line "<header><text>\n" of a fixed
 * length, created 0600 with O_EXCL (never overwritten) and fsync'ed, and
 * refused on read when the group or others may read it. Schnorr keys
 * (signing_key.c) and CURVE keys (src/net) both go through here. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto.h"

crypto_err crypto_secret_file_read(const char *path, const char *header, char *buf, size_t len)
{
    size_t hlen = strlen(header), have = 0;
    struct stat st;
    ssize_t got;
    int fd;

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return CRYPTO_ERR_KEY_FILE_OPEN;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return CRYPTO_ERR_KEY_FILE_OPEN;
    }
    if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
        close(fd);
        return CRYPTO_ERR_KEY_FILE_MODE;
    }
    if (!S_ISREG(st.st_mode) || st.st_size != (off_t)len) {
        close(fd);
        return CRYPTO_ERR_KEY_FILE_SIZE;
    }
    /* Read one byte more than expected to notice a file that grew. */
    while (have < len + 1) {
        got = read(fd, buf + have, len + 1 - have);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        have += (size_t)got;
    }
    close(fd);
    if (have != len) {
        crypto_wipe(buf, len + 1);
        return CRYPTO_ERR_KEY_FILE_SIZE;
    }
    if (len <= hlen || memcmp(buf, header, hlen) != 0 || buf[len - 1] != '\n') {
        crypto_wipe(buf, len + 1);
        return CRYPTO_ERR_KEY_FILE_FORMAT;
    }
    buf[len - 1] = '\0';
    return CRYPTO_OK;
}

crypto_err crypto_secret_file_write(const char *path, const char *buf, size_t len)
{
    size_t done = 0;
    int fd, ok;

    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return errno == EEXIST ? CRYPTO_ERR_KEY_FILE_EXISTS : CRYPTO_ERR_KEY_FILE_WRITE;
    /* The umask may only remove bits; make sure of 0600 whatever it is. */
    ok = fchmod(fd, 0600) == 0;
    while (ok && done < len) {
        ssize_t w = write(fd, buf + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        done += (size_t)w;
    }
    ok = ok && done == len && fsync(fd) == 0;
    if (close(fd) != 0)
        ok = 0;
    if (!ok) {
        unlink(path);
        return CRYPTO_ERR_KEY_FILE_WRITE;
    }
    return CRYPTO_OK;
}

/* net_strerror: every transport error as a sentence for an operator. The
 * specifics (which endpoint, which peer, the ZeroMQ errno) travel in a
 * net_error next to the code. */
#include "net.h"

const char *net_strerror(net_err err)
{
    switch (err) {
    case NET_OK: return "success";
    case NET_ERR_AGAIN: return "no message is waiting (try again when the socket is readable)";
    case NET_ERR_NOMEM: return "out of memory";
    case NET_ERR_NO_CURVE: return "this libzmq was built without CURVE encryption (libsodium): install Debian's libzmq5 or build libzmq with --with-libsodium";
    case NET_ERR_CONFIG: return "the network configuration is inconsistent (validator set, own index or CURVE key): check the genesis file and this validator's curve_key";
    case NET_ERR_ENDPOINT: return "invalid endpoint: expected tcp://host:port with a host this machine can resolve";
    case NET_ERR_BIND: return "cannot bind the listening endpoint: the port is in use or the host is not an address of this machine — is another evoted running, or is the endpoint wrong?";
    case NET_ERR_ZMQ: return "unexpected ZeroMQ failure (see the log for the ZeroMQ error)";
    case NET_ERR_THREAD: return "cannot start the network thread: the system is out of threads or memory";
    case NET_ERR_BAD_INDEX: return "no such validator (or it is this validator itself)";
    case NET_ERR_EMPTY: return "empty message: nothing to send";
    case NET_ERR_TOO_LARGE: return "message is larger than the configured size limit; it was not sent";
    case NET_ERR_QUEUE_FULL: return "the peer's send queue is full (it is slow, down or unreachable): the message was dropped";
    case NET_ERR_PEER_GONE: return "the client disconnected before the reply: it was dropped";
    case NET_ERR_TIMEOUT: return "no reply within the timeout: is evoted running at that endpoint, and is the server key right?";
    case NET_ERR_MALFORMED: return "the reply is not a well-formed evote message (is that endpoint an evoted client port?)";
    case NET_ERR_BAD_Z85: return "not a CURVE key: expected 40 Z85 characters";
    case NET_ERR_KEY_FILE_OPEN: return "cannot open or read the CURVE key file: check the path and that this user may read it";
    case NET_ERR_KEY_FILE_MODE: return "CURVE key file is readable by group or others: a secret key must be private; run 'chmod 600' on it (and consider the key exposed if others could read it)";
    case NET_ERR_KEY_FILE_SIZE: return "CURVE key file has the wrong size: it is not an evote CURVE key file (expected one line: evote-curve-secret-v1 <40 Z85 characters>)";
    case NET_ERR_KEY_FILE_FORMAT: return "CURVE key file is not an evote CURVE key file (expected one line: evote-curve-secret-v1 <40 Z85 characters>)";
    case NET_ERR_KEY_FILE_WRITE: return "cannot write the CURVE key file: check that the directory exists, is writable and the disk is not full";
    case NET_ERR_KEY_FILE_EXISTS: return "a file already exists at that path: refusing to overwrite a key; choose another path or move the old file away";
    }
    return "unknown network error";
}

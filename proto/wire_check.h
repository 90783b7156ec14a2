/* A check of protobuf bytes from strangers before protobuf-c unpacks them. */
#ifndef EVOTE_WIRE_CHECK_H
#define EVOTE_WIRE_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

/* Returns: how many fields of bytes[0..len), a protobuf encoding of desc,
 * have a number that their message does not declare (fields of message type
 * are looked into, recursively, at most 32 deep), up to max + 1; or -1 when
 * the bytes are not such an encoding (truncated, too deep, a known field
 * with a wire type its declaration does not allow; a repeated number may be
 * packed).
 *
 * protobuf-c keeps unknown fields, one allocation each, so a message of a
 * million tiny unknown fields costs a hundred milliseconds and hundreds of
 * megabytes to unpack. This linear scan allocates nothing: run it first on
 * what a stranger sent, and refuse more unknown fields than a newer peer
 * could have a reason to send. (It does not check what unpacking checks:
 * lengths of known fields, UTF-8, the values of enums.) */
int pb_wire_unknown(const ProtobufCMessageDescriptor *desc, const uint8_t *bytes, size_t len, int max);

#endif

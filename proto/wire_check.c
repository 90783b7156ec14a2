/* See wire_check.h. */
#include "wire_check.h"

#define MAX_DEPTH 32

/* Reads a varint at *p (< end). Returns: 1, or 0 when truncated or longer
 * than 10 bytes. */
static int varint(const uint8_t **p, const uint8_t *end, uint64_t *out)
{
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 70 && *p < end; shift += 7) {
        uint8_t b = *(*p)++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if ((b & 0x80) == 0) {
            *out = v;
            return 1;
        }
    }
    return 0;
}

/* The wire type a field of this type is written with when not packed. */
static int wire_type_of(ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
        return 1;
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_FLOAT:
        return 5;
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_BYTES:
    case PROTOBUF_C_TYPE_MESSAGE:
        return 2;
    default: /* the varints: (s)int32/64, uint32/64, bool, enum */
        return 0;
    }
}

/* Adds to *unknown the unknown fields of p..end as desc; 0 when malformed. */
static int scan(const ProtobufCMessageDescriptor *desc, const uint8_t *p, const uint8_t *end, int depth,
                int max, int *unknown)
{
    if (depth > MAX_DEPTH)
        return 0;
    while (p < end) {
        uint64_t tag, v;
        const ProtobufCFieldDescriptor *f;
        int got;

        if (!varint(&p, end, &tag) || tag >> 3 == 0 || tag >> 3 > 0x1fffffff)
            return 0;
        got = (int)(tag & 7);
        f = protobuf_c_message_descriptor_get_field(desc, (unsigned)(tag >> 3));
        if (f == NULL) {
            if (++*unknown > max)
                return 1; /* enough said */
        } else {
            int want = wire_type_of(f->type);
            if (got != want && !(got == 2 && want != 2 && f->label == PROTOBUF_C_LABEL_REPEATED))
                return 0;
        }
        switch (got) {
        case 0:
            if (!varint(&p, end, &v))
                return 0;
            break;
        case 1:
            if ((size_t)(end - p) < 8)
                return 0;
            p += 8;
            break;
        case 5:
            if ((size_t)(end - p) < 4)
                return 0;
            p += 4;
            break;
        case 2:
            if (!varint(&p, end, &v) || v > (uint64_t)(end - p))
                return 0;
            if (f != NULL && f->type == PROTOBUF_C_TYPE_MESSAGE &&
                (!scan(f->descriptor, p, p + v, depth + 1, max, unknown) || *unknown > max))
                return *unknown > max;
            p += v;
            break;
        default: /* groups (3, 4) are not used by evote */
            return 0;
        }
    }
    return 1;
}

int pb_wire_unknown(const ProtobufCMessageDescriptor *desc, const uint8_t *bytes, size_t len, int max)
{
    int unknown = 0;
    if (desc == NULL || (bytes == NULL && len != 0) || max < 0)
        return -1;
    if (!scan(desc, bytes, bytes + len, 0, max, &unknown))
        return -1;
    return unknown;
}

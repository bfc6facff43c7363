/* The link protocol's receiver and sender (hil_link.h). */
#include "hil_link.h"

#include <string.h>

#include "hil_crc32.h"
#include "hil_port.h"

#define MAGIC_SIZE 2u
#define HEADER_SIZE sizeof(link_header_t)
#define FRAME_MAX (MAGIC_SIZE + HEADER_SIZE + LINK_MAX_PAYLOAD + LINK_CRC_SIZE)

static uint8_t rx[FRAME_MAX]; /* bytes of the frame being received */
static size_t rx_fill;
static uint32_t last_byte_ms;

static uint8_t message[LINK_MAX_MESSAGE]; /* the request being reassembled */
static struct {
    bool active;
    uint8_t type;
    uint16_t seq;
    uint32_t length;
} assembly;

static link_stats_t stats;

const link_stats_t *link_stats(void)
{
    return &stats;
}

/* Drops at least `from` bytes, then everything up to the next possible magic. */
static void resync(size_t from)
{
    size_t skip = from;
    while (skip < rx_fill && rx[skip] != LINK_MAGIC0) {
        skip++;
    }
    stats.garbage_bytes += skip;
    memmove(rx, rx + skip, rx_fill - skip);
    rx_fill -= skip;
}

static uint32_t read_le32(const uint8_t *bytes)
{
    return (uint32_t)bytes[0] | (uint32_t)bytes[1] << 8 | (uint32_t)bytes[2] << 16 | (uint32_t)bytes[3] << 24;
}

/* True when rx starts with a complete frame whose CRC checks; `header` is then filled in. */
static bool frame_complete(link_header_t *header)
{
    for (;;) {
        if (rx_fill == 0) {
            return false;
        }
        if (rx[0] != LINK_MAGIC0) {
            resync(0);
            continue;
        }
        if (rx_fill < MAGIC_SIZE) {
            return false;
        }
        if (rx[1] != LINK_MAGIC1) {
            resync(1);
            continue;
        }
        if (rx_fill < MAGIC_SIZE + HEADER_SIZE) {
            return false;
        }
        memcpy(header, rx + MAGIC_SIZE, HEADER_SIZE);
        if (header->length > LINK_MAX_PAYLOAD) {
            stats.oversize++;
            resync(1);
            continue;
        }
        size_t body = HEADER_SIZE + header->length;
        if (rx_fill < MAGIC_SIZE + body + LINK_CRC_SIZE) {
            return false;
        }
        uint32_t crc = crc32_final(crc32_update(CRC32_INIT, rx + MAGIC_SIZE, body));
        if (crc != read_le32(rx + MAGIC_SIZE + body)) {
            stats.bad_crc++;
            link_send_error(header->seq, LINK_ERR_BAD_CRC, "frame CRC mismatch");
            resync(1);
            continue;
        }
        return true;
    }
}

/* Adds a checked frame to the request being reassembled; true when the request is complete. */
static bool assemble(const link_header_t *header, const uint8_t *payload)
{
    if (!assembly.active || header->seq != assembly.seq || header->type != assembly.type) {
        assembly.active = true; /* a new request: an unfinished one is abandoned */
        assembly.type = header->type;
        assembly.seq = header->seq;
        assembly.length = 0;
    }
    if (assembly.length + header->length > LINK_MAX_MESSAGE) {
        stats.oversize++;
        assembly.active = false;
        link_send_error(header->seq, LINK_ERR_OVERSIZE, "request larger than LINK_MAX_MESSAGE");
        return false;
    }
    memcpy(message + assembly.length, payload, header->length);
    assembly.length += header->length;
    if (header->flags & LINK_FLAG_MORE) {
        link_send(LINK_MSG_ACK, header->seq, NULL, 0);
        return false;
    }
    assembly.active = false;
    return true;
}

/* A frame that stops arriving is dropped, but only its first byte is discarded for good: a
 * header whose payload never comes may have swallowed the start of the next valid frame, so the
 * receiver rescans the bytes after it (the next link_poll() finds that frame). Each stall is
 * reported once; candidates found by the rescan that stall too are dropped silently. */
static bool stall_reported;

static void check_stalled_frame(void)
{
    if (rx_fill == 0 || (uint32_t)(hil_port_millis() - last_byte_ms) <= LINK_INTER_BYTE_TIMEOUT_MS) {
        return;
    }
    uint16_t seq = 0;
    if (rx_fill >= MAGIC_SIZE + HEADER_SIZE) {
        link_header_t header;
        memcpy(&header, rx + MAGIC_SIZE, HEADER_SIZE);
        seq = header.seq;
    }
    resync(1);
    if (!stall_reported) {
        stall_reported = true;
        stats.truncated++;
        link_send_error(seq, LINK_ERR_TRUNCATED, "frame stopped before its end");
    }
}

bool link_poll(link_message_t *out)
{
    for (;;) {
        link_header_t header;
        if (frame_complete(&header)) {
            stats.frames_ok++;
            size_t frame_size = MAGIC_SIZE + HEADER_SIZE + header.length + LINK_CRC_SIZE;
            bool complete = assemble(&header, rx + MAGIC_SIZE + HEADER_SIZE);
            rx_fill -= frame_size;
            memmove(rx, rx + frame_size, rx_fill); /* bytes left over from a resync */
            if (complete) {
                out->type = assembly.type;
                out->seq = assembly.seq;
                out->length = assembly.length;
                out->payload = message;
                return true;
            }
            continue;
        }
        int byte = hil_port_uart_getc();
        if (byte < 0) {
            size_t before = rx_fill;
            check_stalled_frame();
            if (rx_fill != before && rx_fill > 0) {
                continue; /* rescan what the dropped frame held */
            }
            return false;
        }
        last_byte_ms = hil_port_millis();
        stall_reported = false;
        rx[rx_fill++] = (uint8_t)byte;
    }
}

/* A message's bytes: `head` then `body`, either possibly empty (and then NULL). */
typedef struct {
    const uint8_t *head;
    uint32_t head_length;
    const uint8_t *body;
} message_parts_t;

/* Bytes [offset, offset + length) of the message, in at most two pieces: written to the UART,
 * or (write == 0) folded into `crc`, which is returned. */
static uint32_t for_each_piece(const message_parts_t *parts, uint32_t offset, uint32_t length, uint32_t crc,
                               int write)
{
    while (length > 0) {
        const uint8_t *piece;
        uint32_t size;
        if (offset < parts->head_length) {
            piece = parts->head + offset;
            size = parts->head_length - offset;
        } else {
            piece = parts->body + (offset - parts->head_length);
            size = length;
        }
        if (size > length) {
            size = length;
        }
        if (write) {
            hil_port_uart_write(piece, size);
        } else {
            crc = crc32_update(crc, piece, size);
        }
        offset += size;
        length -= size;
    }
    return crc;
}

static void send_frame(uint8_t type, uint8_t flags, uint16_t seq, const message_parts_t *parts,
                       uint32_t offset, uint16_t length)
{
    static const uint8_t magic[MAGIC_SIZE] = {LINK_MAGIC0, LINK_MAGIC1};
    link_header_t header = {.length = length, .type = type, .flags = flags, .seq = seq};
    uint32_t crc = crc32_update(CRC32_INIT, (const uint8_t *)&header, HEADER_SIZE);
    crc = crc32_final(for_each_piece(parts, offset, length, crc, 0));
    uint8_t trailer[LINK_CRC_SIZE] = {(uint8_t)crc, (uint8_t)(crc >> 8), (uint8_t)(crc >> 16),
                                      (uint8_t)(crc >> 24)};
    hil_port_uart_write(magic, MAGIC_SIZE);
    hil_port_uart_write((const uint8_t *)&header, HEADER_SIZE);
    for_each_piece(parts, offset, length, 0, 1);
    hil_port_uart_write(trailer, LINK_CRC_SIZE);
}

void link_send_parts(uint8_t type, uint16_t seq, const void *head, uint32_t head_length, const void *body,
                     uint32_t body_length)
{
    message_parts_t parts = {.head = head, .head_length = head_length, .body = body};
    uint32_t length = head_length + body_length;
    uint32_t offset = 0;
    do {
        uint16_t chunk = length > LINK_MAX_PAYLOAD ? LINK_MAX_PAYLOAD : (uint16_t)length;
        length -= chunk;
        send_frame(type, length ? LINK_FLAG_MORE : 0, seq, &parts, offset, chunk);
        offset += chunk;
    } while (length > 0);
}

void link_send(uint8_t type, uint16_t seq, const void *payload, uint32_t length)
{
    link_send_parts(type, seq, payload, length, NULL, 0);
}

void link_reply(const link_message_t *request, const void *payload, uint32_t length)
{
    link_send((uint8_t)(request->type | LINK_REPLY_BIT), request->seq, payload, length);
}

void link_send_error(uint16_t seq, uint16_t code, const char *text)
{
    struct __attribute__((packed)) {
        uint16_t code;
        char text[64];
    } error = {.code = code};
    size_t length = strlen(text);
    if (length > sizeof error.text) {
        length = sizeof error.text;
    }
    memcpy(error.text, text, length);
    link_send(LINK_MSG_ERROR, seq, &error, (uint32_t)(sizeof error.code + length));
}

/* The device side of the link protocol (docs/protocol.md, harness/link/protocol.yaml).
 *
 * link_poll() turns UART bytes into complete request messages: it checks each frame's CRC,
 * resynchronises after garbage, drops frames that stall (inter-byte timeout), reassembles
 * multi-frame requests (acknowledging each frame but the last) and answers link-level
 * problems with ERROR frames itself. Replies of any length go out with link_send(). */
#ifndef HIL_LINK_H
#define HIL_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "link_protocol.h"

#ifndef LINK_MAX_PAYLOAD
#define LINK_MAX_PAYLOAD 1024u /* largest frame payload accepted */
#endif
#ifndef LINK_MAX_MESSAGE
#define LINK_MAX_MESSAGE 8192u /* largest reassembled request accepted */
#endif

typedef struct {
    uint8_t type;
    uint16_t seq;
    uint32_t length;
    const uint8_t *payload; /* valid until the next link_poll() */
} link_message_t;

typedef struct {
    uint32_t frames_ok;
    uint32_t bad_crc;
    uint32_t garbage_bytes;
    uint32_t truncated;
    uint32_t oversize;
} link_stats_t;

/* Reads what the UART has; returns true when `message` holds a complete request. */
bool link_poll(link_message_t *message);

/* Sends one message, split into frames of at most LINK_MAX_PAYLOAD bytes. */
void link_send(uint8_t type, uint16_t seq, const void *payload, uint32_t length);

/* Sends one message made of `head` then `body` (a fixed header and a buffer it describes),
 * without copying them together. */
void link_send_parts(uint8_t type, uint16_t seq, const void *head, uint32_t head_length, const void *body,
                     uint32_t body_length);

/* Sends the reply to `request` (its type with LINK_REPLY_BIT). */
void link_reply(const link_message_t *request, const void *payload, uint32_t length);

/* Sends an ERROR frame: a code (LINK_ERR_*) and a short text. */
void link_send_error(uint16_t seq, uint16_t code, const char *text);

const link_stats_t *link_stats(void);

#endif

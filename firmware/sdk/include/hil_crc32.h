/* CRC-32 (IEEE 802.3, reflected, as zlib.crc32), incremental. */
#ifndef HIL_CRC32_H
#define HIL_CRC32_H

#include <stddef.h>
#include <stdint.h>

#define CRC32_INIT 0xFFFFFFFFu

/* Feed bytes into a running CRC; start with CRC32_INIT and finish with crc32_final. */
uint32_t crc32_update(uint32_t crc, const uint8_t *data, size_t length);

static inline uint32_t crc32_final(uint32_t crc)
{
    return crc ^ 0xFFFFFFFFu;
}

#endif

/* The CRC-32 now lives in the device SDK (firmware/sdk); this name stays for the engine. */
#include "hil_crc32.h"

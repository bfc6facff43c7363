/* The SDK's built-in requests (HELLO, ECHO, DISCARD, LINK_STATS, RESET, self-tests). */
#ifndef HIL_SYSTEM_H
#define HIL_SYSTEM_H

#include "hil_sdk.h"

extern const hil_command_t hil_system_commands[];

#endif

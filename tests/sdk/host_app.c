/* The device SDK built for the host (its CMake target) with a porting layer on stdin/stdout:
 * the bytes of stdin are the UART's receive side, stdout its send side. Registers one request
 * of its own (0x70: answers its payload reversed); exits when stdin is used up, with status 3 if
 * the SDK accepted a user table with a type outside the user range. */
#include <stdio.h>
#include <string.h>

#include "hil_sdk.h"

static unsigned char input[65536];
static size_t input_length, input_pos;
static uint32_t now_ms;

int hil_port_uart_getc(void) { return input_pos < input_length ? input[input_pos++] : -1; }
void hil_port_uart_write(const uint8_t *data, size_t length) { fwrite(data, 1, length, stdout); }
uint32_t hil_port_millis(void) { return now_ms += 1000; } /* every idle poll runs out the timeout */

static void reverse(const link_message_t *request)
{
    uint8_t out[256];
    uint32_t n = request->length < sizeof out ? request->length : (uint32_t)sizeof out;
    for (uint32_t i = 0; i < n; i++) {
        out[i] = request->payload[n - 1 - i];
    }
    link_reply(request, out, n);
}

static void never(const link_message_t *request) { (void)request; }

static const hil_command_t mine[] = {{0x70, reverse}, {0, NULL}};
static const hil_command_t outside[] = {{0x71, never}, {0x26, never}, {0, NULL}};

int main(void)
{
    input_length = fread(input, 1, sizeof input, stdin);
    if (hil_sdk_register_user(outside) != -1 || hil_sdk_register_user(mine) != 0) {
        return 3;
    }
    hil_sdk_ready();
    while (input_pos < input_length) {
        hil_sdk_poll();
    }
    while (hil_sdk_poll()) {
    }
    return 0;
}

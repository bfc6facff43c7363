/* libFuzzer target `link`: a byte stream into the firmware's frame receiver and reassembly
 * (firmware/sdk/src/hil_link.c, compiled in here so each input starts from a fresh receiver).
 *
 * Input: one control byte, then the bytes on the wire. The stream arrives in bursts of
 * (control & 0x7F) + 1 bytes (0x7F: all at once); between bursts the clock moves on by 1 ms,
 * or, when control has bit 7 set, past the inter-byte timeout, so stalled frames are dropped
 * and rescanned mid-stream. After the last byte the clock always runs out the timeout. Every
 * complete request is echoed back (link_reply), and every byte sent is read by the UART stub. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../firmware/sdk/src/hil_link.c"

void fuzz_consume(const void *data, uint32_t length);

static const uint8_t *wire;
static size_t wire_end, wire_pos, burst_end;
static uint32_t now_ms;

int hil_port_uart_getc(void) { return wire_pos < burst_end ? wire[wire_pos++] : -1; }
void hil_port_uart_write(const uint8_t *data, size_t length) { fuzz_consume(data, (uint32_t)length); }
uint32_t hil_port_millis(void) { return now_ms; }

static void fresh_receiver(void)
{
    rx_fill = 0;
    last_byte_ms = 0;
    stall_reported = false;
    memset(&assembly, 0, sizeof assembly);
    memset(&stats, 0, sizeof stats);
    now_ms = 0;
}

static void serve(void)
{
    link_message_t message;
    while (link_poll(&message)) {
        if (message.length > LINK_MAX_MESSAGE) {
            abort(); /* reassembly handed out more than its buffer holds */
        }
        link_reply(&message, message.payload, message.length);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) {
        return 0;
    }
    fresh_receiver();
    const size_t burst = data[0] & 0x7Fu ? (size_t)(data[0] & 0x7Fu) + 1u : size;
    const uint32_t gap_ms = data[0] & 0x80u ? LINK_INTER_BYTE_TIMEOUT_MS + 1u : 1u;
    wire = data + 1;
    wire_end = size - 1;
    wire_pos = 0;
    burst_end = 0;
    while (wire_pos < wire_end) {
        burst_end = wire_pos + burst < wire_end ? wire_pos + burst : wire_end;
        serve();
        now_ms += gap_ms;
    }
    now_ms += LINK_INTER_BYTE_TIMEOUT_MS + 1u;
    serve();
    if (rx_fill != 0) {
        abort(); /* after the timeout nothing may stay buffered */
    }
    return 0;
}

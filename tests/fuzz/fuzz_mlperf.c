/* libFuzzer target `mlperf`: text into the device SDK's MLPerf Tiny responder
 * (firmware/sdk/src/hil_mlperf.c, compiled in here so each input starts from a fresh parser),
 * on a fake model runner whose tensors are heap buffers of exactly their size.
 *
 * Input: one control byte, then the bytes on the wire (commands end with '%'). Control bits 0-2
 * pick the output's element type (int8, uint8, int16, int32, float32), bit 3 the model version
 * (vww01 shifts pixels, kws01 does not), bit 4 a db buffer of exactly the input's size (else
 * larger), bit 5 a port without a cycle counter. The fake invoke copies the input into the output
 * (so the wire decides the printed values, NaN and infinity among them) and fails after
 * MAX_INVOKES calls, so `infer 999999999` ends. Every byte sent is read by the UART stub. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../firmware/sdk/src/hil_mlperf.c"

void fuzz_consume(const void *data, uint32_t length);

#define INPUT_BYTES 16u
#define OUTPUT_BYTES 12u
#define MAX_INVOKES 64u

static const uint8_t *wire;
static size_t wire_end, wire_pos;
static uint32_t ticks, invokes, has_counter;
static uint8_t *input_data, *output_data, output_dtype;

int hil_port_uart_getc(void)
{
    return wire_pos < wire_end ? wire[wire_pos++] : -1;
}
void hil_port_uart_write(const uint8_t *data, size_t length)
{
    fuzz_consume(data, (uint32_t)length);
}
uint32_t hil_port_cycles(void)
{
    return has_counter ? (ticks += 977u) : 0u;
}
uint32_t hil_port_cycles_hz(void)
{
    return has_counter ? 1000000u : 0u;
}
void hil_port_idle(void)
{
} /* hil_mlperf_run, never called here */

static int tensor(hil_tensor_t *out, uint8_t dtype, void *data, uint32_t bytes)
{
    memset(out, 0, sizeof *out);
    out->dtype = dtype;
    out->rank = 2;
    out->dims[0] = 1;
    out->dims[1] = (int32_t)bytes;
    out->scale = 0.125f;
    out->zero_point = -3;
    out->data = data;
    out->bytes = bytes;
    return 0;
}

static int input(void *context, uint32_t index, hil_tensor_t *out)
{
    (void)context;
    return index == 0 ? tensor(out, HIL_DTYPE_INT8, input_data, INPUT_BYTES) : -1;
}

static int output(void *context, uint32_t index, hil_tensor_t *out)
{
    (void)context;
    return index == 0 ? tensor(out, output_dtype, output_data, OUTPUT_BYTES) : -1;
}

static int invoke(void *context)
{
    (void)context;
    for (uint32_t i = 0; i < OUTPUT_BYTES; i++) {
        output_data[i] = input_data[i % INPUT_BYTES];
    }
    return ++invokes > MAX_INVOKES ? -1 : 0;
}

static void fresh_responder(void)
{
    db_size = db_filled = 0;
    elapsed_ticks = 0;
    last_ticks = 0;
    command_length = 0;
    command_too_long = 0;
    ticks = invokes = 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t dtypes[] = {HIL_DTYPE_INT8, HIL_DTYPE_UINT8, HIL_DTYPE_INT16, HIL_DTYPE_INT32,
                                     HIL_DTYPE_FLOAT32};
    if (size == 0) {
        return 0;
    }
    fresh_responder();
    output_dtype = dtypes[(data[0] & 7u) % sizeof dtypes];
    has_counter = !(data[0] & 0x20u);
    const uint32_t db_bytes = data[0] & 0x10u ? INPUT_BYTES : 3u * INPUT_BYTES;
    input_data = malloc(INPUT_BYTES);
    output_data = malloc(OUTPUT_BYTES);
    uint8_t *db = malloc(db_bytes);
    memset(input_data, 0, INPUT_BYTES);
    memset(output_data, 0, OUTPUT_BYTES);
    memset(db, 0, db_bytes);
    const hil_model_runner_t runner = {"", 1, 1, input, output, invoke, NULL};
    const hil_mlperf_config_t settings = {"fuzz", data[0] & 8u ? "vww01" : "kws01", db, db_bytes, NULL};
    wire = data + 1;
    wire_end = size - 1;
    wire_pos = 0;
    hil_mlperf_begin(&runner, &settings);
    while (hil_mlperf_poll()) {
    }
    free(db);
    free(output_data);
    free(input_data);
    return 0;
}

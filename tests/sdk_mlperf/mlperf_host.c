/* The SDK's MLPerf Tiny responder on the host: commands from stdin, replies on stdout, on a
 * runner whose "model" is y = x * scale per element, in float32 (scales chosen to print both
 * the usual three decimals and values beyond 64 bits of thousandths). */
#include <stdio.h>
#include <string.h>

#include "hil_mlperf.h"

static int8_t input_data[3];
static float output_data[3];
static const float scales[3] = {0.25f, 1e28f, -1e-3f};

int hil_port_uart_getc(void)
{
    int c = getchar();
    return c == EOF ? -1 : c;
}

void hil_port_uart_write(const uint8_t *data, size_t length) { fwrite(data, 1, length, stdout); }

uint32_t hil_port_millis(void) { return 0; }

static int describe(hil_tensor_t *tensor, uint8_t dtype, void *data, uint32_t bytes)
{
    memset(tensor, 0, sizeof *tensor);
    tensor->dtype = dtype;
    tensor->rank = 1;
    tensor->dims[0] = 3;
    tensor->data = data;
    tensor->bytes = bytes;
    return 0;
}

static int input(void *context, uint32_t index, hil_tensor_t *tensor)
{
    (void)context;
    return index ? -1 : describe(tensor, HIL_DTYPE_INT8, input_data, sizeof input_data);
}

static int output(void *context, uint32_t index, hil_tensor_t *tensor)
{
    (void)context;
    return index ? -1 : describe(tensor, HIL_DTYPE_FLOAT32, output_data, sizeof output_data);
}

static int invoke(void *context)
{
    (void)context;
    for (int i = 0; i < 3; i++) {
        output_data[i] = (float)input_data[i] * scales[i];
    }
    return 0;
}

int main(void)
{
    static const hil_model_runner_t runner = {NULL, 1, 1, input, output, invoke, NULL};
    static uint8_t db[8];
    static const hil_mlperf_config_t config = {"host", "kws01", db, sizeof db, NULL};
    hil_mlperf_begin(&runner, &config);
    while (hil_mlperf_poll()) {
    }
    return 0;
}

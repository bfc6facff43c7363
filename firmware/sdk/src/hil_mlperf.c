/* The MLPerf Tiny benchmark API's text protocol on a model runner (hil_mlperf.h). Written from
 * the API's description (mlcommons/tiny benchmark/api and runner): the same commands and reply
 * lines, and stricter where the reference code is lax: an input of the wrong size is refused
 * instead of inferring on stale bytes, and an overlong command is an error, not truncated. */
#include "hil_mlperf.h"

#include <math.h>
#include <string.h>

#include "hil_port.h"

#define COMMAND_SIZE 80u                                /* the API's EE_CMD_SIZE */
#define FW_VERSION "ULPMark for tinyML Firmware V0.0.1" /* the API version implemented */
#define DEFAULT_WARMUPS 10u                             /* the API's default for `infer N` */

static const hil_model_runner_t *runner;
static const hil_mlperf_config_t *config;
static uint32_t db_size, db_filled;
static uint64_t elapsed_ticks; /* a 64-bit clock on the port's 32-bit counter */
static uint32_t last_ticks;
static char command[COMMAND_SIZE + 1u];
static uint32_t command_length;
static int command_too_long;

/* ---- output ---- */

static void say(const char *text)
{
    hil_port_uart_write((const uint8_t *)text, strlen(text));
}

static void say_u64(uint64_t value)
{
    char digits[21];
    int n = 0;
    do {
        digits[n++] = (char)('0' + (int)(value % 10u));
        value /= 10u;
    } while (value);
    while (n) {
        n--;
        hil_port_uart_write((const uint8_t *)&digits[n], 1u);
    }
}

static void say_error(const char *text)
{
    say("e-[");
    say(text);
    say("]\r\n");
}

/* `value` with three decimals, as the reference submissions' "%0.3f" prints it. */
static void say_fixed3(float value)
{
    if (isnan(value) || isinf(value)) {
        say(isnan(value) ? "nan" : value > 0 ? "inf" : "-inf");
        return;
    }
    double scaled = (double)value * 1000.0;
    if (scaled < 0) {
        say("-");
        scaled = -scaled;
    }
    if (scaled >= 1e18) { /* beyond 64 bits of thousandths: an integer and a decimal exponent */
        uint32_t exponent = 0;
        for (scaled /= 1000.0; scaled >= 1e15; scaled /= 10.0) {
            exponent++;
        }
        say_u64((uint64_t)(scaled + 0.5));
        say("e");
        say_u64(exponent);
        return;
    }
    uint64_t milli = (uint64_t)(scaled + 0.5);
    say_u64(milli / 1000u);
    char fraction[5] = {'.', (char)('0' + (int)(milli / 100u % 10u)), (char)('0' + (int)(milli / 10u % 10u)),
                        (char)('0' + (int)(milli % 10u)), 0};
    say(fraction);
}

static void say_no_model(void)
{
    say("e-[no model: ");
    say(config->problem ? config->problem : "none registered");
    say("]\r\n");
}

/* ---- the API's th_* hooks, on the runner ---- */

static uint64_t now_us(void)
{
    uint32_t ticks = hil_port_cycles();
    elapsed_ticks += (uint32_t)(ticks - last_ticks); /* called at least once per counter wrap */
    last_ticks = ticks;
    uint32_t hz = hil_port_cycles_hz();
    return hz ? elapsed_ticks * 1000000u / hz : 0u;
}

static void th_timestamp(void)
{
    say("m-lap-us-");
    say_u64(now_us());
    say("\r\n");
}

static int has_model(void)
{
    return runner != NULL && config->problem == NULL;
}

static int input_tensor(hil_tensor_t *tensor)
{
    return runner->input(runner->context, 0, tensor) == 0 && tensor->data != NULL;
}

/* The runner's input is the interpreter's buffer, which later tensors may reuse: every inference
 * copies the db bytes in again (inside the timed loop: 1 byte per element). */
static int copy_input(void)
{
    hil_tensor_t input;
    if (!input_tensor(&input)) {
        say_error("the runner has no input tensor");
        return 0;
    }
    const char *version = config->model_version ? config->model_version : "";
    uint8_t shift = strcmp(version, "vww01") == 0 || strcmp(version, "ic01") == 0 ? 128u : 0u;
    uint8_t *data = input.data;
    for (uint32_t i = 0; i < input.bytes; i++) {
        data[i] = (uint8_t)(config->db[i] - shift);
    }
    return 1;
}

static int th_infer(void)
{
    if (!copy_input()) {
        return 0;
    }
    if (runner->invoke(runner->context) != 0) {
        say_error("the model's invoke failed");
        return 0;
    }
    now_us(); /* keeps the 64-bit clock across long loops */
    return 1;
}

static float element(const hil_tensor_t *tensor, uint32_t i)
{
    const uint8_t *data = tensor->data;
    switch (tensor->dtype) {
    case HIL_DTYPE_INT8:
        return (float)((int32_t)(int8_t)data[i] - tensor->zero_point) * tensor->scale;
    case HIL_DTYPE_UINT8:
        return (float)((int32_t)data[i] - tensor->zero_point) * tensor->scale;
    case HIL_DTYPE_INT16: {
        int16_t raw;
        memcpy(&raw, data + 2u * i, sizeof raw);
        return (float)((int32_t)raw - tensor->zero_point) * tensor->scale;
    }
    case HIL_DTYPE_INT32: {
        int32_t raw;
        memcpy(&raw, data + 4u * i, sizeof raw);
        return (float)raw;
    }
    default: {
        float raw;
        memcpy(&raw, data + 4u * i, sizeof raw);
        return raw;
    }
    }
}

static uint32_t element_size(uint8_t dtype)
{
    return dtype == HIL_DTYPE_INT8 || dtype == HIL_DTYPE_UINT8 ? 1u : dtype == HIL_DTYPE_INT16 ? 2u : 4u;
}

/* The first output, dequantized, three decimals, comma-separated. */
static void th_results(void)
{
    hil_tensor_t output;
    if (runner->output(runner->context, 0, &output) != 0 || output.data == NULL) {
        say_error("the runner has no output tensor");
        return;
    }
    uint32_t count = output.bytes / element_size(output.dtype);
    say("m-results-[");
    for (uint32_t i = 0; i < count; i++) {
        if (i) {
            say(",");
        }
        say_fixed3(element(&output, i));
    }
    say("]\r\n");
}

/* ---- the commands ---- */

static const char *next_word(char **cursor)
{
    char *word = *cursor;
    while (*word == ' ') {
        word++;
    }
    if (!*word) {
        return NULL;
    }
    char *end = word;
    while (*end && *end != ' ') {
        end++;
    }
    *cursor = *end ? end + 1 : end;
    *end = 0;
    return word;
}

/* A decimal count of at most 9 digits, or -1. */
static int32_t parse_count(const char *word)
{
    int32_t value = 0;
    size_t n = strlen(word);
    if (n == 0 || n > 9u) {
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (word[i] < '0' || word[i] > '9') {
            return -1;
        }
        value = value * 10 + (word[i] - '0');
    }
    return value;
}

static int hex_digit(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

static void db_load(const char *count)
{
    int32_t n = count ? parse_count(count) : -1;
    if (!has_model()) {
        say_no_model();
    } else if (n <= 0) {
        say_error("Command 'db load' requires a byte count above 0");
    } else if ((uint32_t)n > config->db_capacity) {
        say("e-[db load ");
        say_u64((uint32_t)n);
        say(" exceeds the buffer of ");
        say_u64(config->db_capacity);
        say(" bytes]\r\n");
    } else {
        db_size = (uint32_t)n;
        db_filled = 0;
        say("m-[Expecting ");
        say_u64(db_size);
        say(" bytes]\r\n");
    }
}

static void db_hex(const char *hex)
{
    size_t n = strlen(hex);
    if (n % 2u) {
        say_error("Insufficent number of hex digits");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (hex_digit(hex[i]) < 0) {
            say_error("Invalid hex digit");
            return;
        }
    }
    if (db_filled >= db_size) {
        say_error("db: no bytes expected (db load N first)");
        return;
    }
    for (size_t i = 0; i < n && db_filled < db_size; i += 2u) { /* digits past N are ignored */
        config->db[db_filled++] = (uint8_t)(hex_digit(hex[i]) * 16 + hex_digit(hex[i + 1u]));
    }
    if (db_filled == db_size) {
        say("m-load-done\r\n");
    }
}

static void db_print(void)
{
    static const char digits[] = "0123456789abcdef";
    for (uint32_t i = 0; i < db_filled; i++) {
        say(i % 8u == 0 ? "m-buffer-" : "-");
        char pair[3] = {digits[config->db[i] >> 4], digits[config->db[i] & 15u], 0};
        say(pair);
        if (i % 8u == 7u || i + 1u == db_filled) {
            say("\r\n");
        }
    }
}

static void command_db(char *cursor)
{
    const char *sub = next_word(&cursor);
    if (!sub) {
        say_error("Command 'db' requires a subcommand");
    } else if (strcmp(sub, "load") == 0) {
        db_load(next_word(&cursor));
    } else if (strcmp(sub, "print") == 0) {
        db_print();
    } else {
        db_hex(sub);
    }
}

/* th_load_tensor's check: the db holds exactly one input. */
static int input_loaded(void)
{
    hil_tensor_t input;
    if (!input_tensor(&input)) {
        say_error("the runner has no input tensor");
        return 0;
    }
    if (db_filled != input.bytes) {
        say("e-[Input db has ");
        say_u64(db_filled);
        say(" bytes, the input tensor ");
        say_u64(input.bytes);
        say("]\r\n");
        return 0;
    }
    return 1;
}

static void command_infer(char *cursor)
{
    const char *count = next_word(&cursor), *warmups = next_word(&cursor);
    int32_t n = count ? parse_count(count) : 1;
    int32_t w = warmups ? parse_count(warmups) : (int32_t)DEFAULT_WARMUPS;
    if (n <= 0) {
        say_error("Inference iterations must be >0");
    } else if (w < 0) {
        say_error("Inference warmup must be >=0");
    } else if (!has_model()) {
        say_no_model();
    } else if (input_loaded()) {
        say("m-warmup-start-");
        say_u64((uint32_t)w);
        say("\r\n");
        for (int32_t i = 0; i < w; i++) {
            if (!th_infer()) {
                return;
            }
        }
        say("m-warmup-done\r\nm-infer-start-");
        say_u64((uint32_t)n);
        say("\r\n");
        th_timestamp();
        for (int32_t i = 0; i < n; i++) {
            if (!th_infer()) {
                return;
            }
        }
        th_timestamp();
        say("m-infer-done\r\n");
        th_results();
    }
}

static void dispatch(char *text)
{
    char *cursor = text;
    const char *word = next_word(&cursor);
    if (!word) {
        say_error("Unknown command: ");
    } else if (strcmp(word, "name") == 0) {
        say("m-name-dut-[");
        say(config->name ? config->name : "unnamed");
        say("]\r\n");
    } else if (strcmp(word, "timestamp") == 0) {
        th_timestamp();
    } else if (strcmp(word, "profile") == 0) {
        say("m-profile-[" FW_VERSION "]\r\nm-model-[");
        say(config->model_version ? config->model_version : "");
        say("]\r\n");
    } else if (strcmp(word, "help") == 0) {
        say(FW_VERSION
            "\r\nname, timestamp, profile, db load N, db HH.., db print, infer N [W], results\r\n");
    } else if (strcmp(word, "db") == 0) {
        command_db(cursor);
    } else if (strcmp(word, "infer") == 0) {
        command_infer(cursor);
    } else if (strcmp(word, "results") == 0) {
        if (has_model()) {
            th_results();
        } else {
            say_no_model();
        }
    } else {
        say("e-[Unknown command: ");
        say(word);
        say("]\r\n");
    }
    say("m-ready\r\n");
}

void hil_mlperf_begin(const hil_model_runner_t *model_runner, const hil_mlperf_config_t *settings)
{
    runner = model_runner;
    config = settings;
    last_ticks = hil_port_cycles();
    if (!has_model()) {
        say("e-[");
        say(config->problem ? config->problem : "no model runner");
        say("]\r\n");
    }
    say("m-init-done\r\nm-ready\r\n");
}

static void feed(char c)
{
    if (c == '%') {
        command[command_length] = 0;
        if (command_too_long) {
            say_error("command longer than 80 characters");
            say("m-ready\r\n");
        } else {
            dispatch(command);
        }
        command_length = 0;
        command_too_long = 0;
    } else if (c == '\r' || c == '\n') {
        /* terminals send line ends; the API's commands never contain them */
    } else if (command_length < COMMAND_SIZE) {
        command[command_length++] = c;
    } else {
        command_too_long = 1;
    }
}

int hil_mlperf_poll(void)
{
    int received = 0;
    for (int c = hil_port_uart_getc(); c >= 0; c = hil_port_uart_getc()) {
        feed((char)c);
        received = 1;
    }
    now_us();
    return received;
}

void hil_mlperf_run(const hil_model_runner_t *model_runner, const hil_mlperf_config_t *settings)
{
    hil_mlperf_begin(model_runner, settings);
    for (;;) {
        if (!hil_mlperf_poll()) {
            hil_port_idle();
        }
    }
}

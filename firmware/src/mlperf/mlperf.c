/* MLPerf Tiny responder: the harness firmware answering the MLPerf Tiny benchmark API (the
 * EEMBC runner's text protocol, mlcommons/tiny benchmark/api) with the engine on the packed model
 * in the flash model slot, so that the official runner, or `hil run --protocol mlperf-tiny`,
 * can drive it (docs/mlperf_tiny.md).
 *
 * Built only with HIL_MLPERF_TINY=1 (harness/mlperf/firmware.py's MLPERF_FLAGS, or the
 * PlatformIO envs *_mlperf): those flags also link with --wrap=app_main, so the startup code
 * enters mlperf_main here instead of the link's request loop, and shrink the engine service's
 * pool (ENGINE_POOL_SIZE), whose SRAM this module's pool takes instead.
 *
 * Commands end with '%', words are separated by spaces; every reply ends with "m-ready". */
#if defined(HIL_MLPERF_TINY) && HIL_MLPERF_TINY

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "../engine/engine.h"
#include "../hal/hal.h"
#include "mlperf.h"

#ifndef HIL_MLPERF_MODEL
#define HIL_MLPERF_MODEL "kws01" /* m-model-[...]: kws01, vww01, ad01 or ic01 */
#endif
#ifndef HIL_MLPERF_POOL_SIZE
#define HIL_MLPERF_POOL_SIZE (HIL_SRAM_SIZE - 48u * 1024u) /* engine_commands.c's formula */
#endif

#define COMMAND_SIZE 80u /* the API's EE_CMD_SIZE */
#define FW_VERSION "ULPMark for tinyML Firmware V0.0.1" /* the API version implemented */
#define DEFAULT_WARMUPS 10u                             /* the API's default for `infer N` */

static uint8_t pool[HIL_MLPERF_POOL_SIZE] __attribute__((aligned(16)));
static engine_model_t model;
static const char *model_problem = "not loaded"; /* NULL once the slot's model is loaded */
static uint8_t *db;                               /* the `db` buffer: the pool after the arena */
static uint32_t db_capacity, db_size, db_filled;
static uint64_t elapsed_ticks; /* a 64-bit clock built on the 32-bit timer */
static uint32_t last_ticks;

/* ---- output ---- */

static void say(const char *text)
{
    hal_uart_write((const uint8_t *)text, strlen(text));
}

static void say_u64(uint64_t value)
{
    char digits[21];
    int n = 0;
    do {
        digits[n++] = (char)('0' + value % 10u);
        value /= 10u;
    } while (value);
    while (n) {
        hal_uart_write((const uint8_t *)&digits[--n], 1);
    }
}

static void say_error(const char *text)
{
    say("e-[");
    say(text);
    say("]\r\n");
}

/* `value` as C's "%0.3f" would print it (rounded to three decimals from the float). */
static void say_fixed3(float value)
{
    if (!isfinite(value)) {
        say(isnan(value) ? "nan" : value > 0 ? "inf" : "-inf");
        return;
    }
    double scaled = (double)value * 1000.0;
    int64_t milli = (int64_t)(scaled < 0 ? scaled - 0.5 : scaled + 0.5);
    if (milli < 0) {
        say("-");
        milli = -milli;
    }
    say_u64((uint64_t)milli / 1000u);
    char fraction[5] = {'.', (char)('0' + milli / 100 % 10), (char)('0' + milli / 10 % 10),
                        (char)('0' + milli % 10), 0};
    say(fraction);
}

/* ---- the th_* hooks of the API, on the engine ---- */

static uint64_t now_us(void)
{
    uint32_t ticks = hal_timer_ticks();
    elapsed_ticks += (uint32_t)(ticks - last_ticks); /* called at least once per timer wrap */
    last_ticks = ticks;
    return elapsed_ticks * 1000000u / hal_timer_hz();
}

static void th_timestamp(void)
{
    say("m-lap-us-");
    say_u64(now_us());
    say("\r\n");
}

static engine_tensor_t io_tensor(uint32_t position)
{
    uint16_t index;
    engine_model_read(&model, model.header.io_offset + 2u * position, &index, sizeof index);
    return engine_tensor(&model, index);
}

/* The db buffer holds one input. The engine's arena reuses the input tensor's memory for later
 * tensors, so each inference copies it in again (part of the measured time: 1 byte per element).
 * vww01 and ic01 runners send pixels as uint8 (p = q + 128); kws01 and ad01 the int8 bytes. */
static int th_load_tensor(void)
{
    engine_tensor_t input = io_tensor(0);
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

static void copy_input(void)
{
    engine_tensor_t input = io_tensor(0);
    uint8_t *data = engine_tensor_data(&model, &input);
    uint8_t shift = strcmp(HIL_MLPERF_MODEL, "vww01") == 0 || strcmp(HIL_MLPERF_MODEL, "ic01") == 0 ? 128u : 0u;
    for (uint32_t i = 0; i < input.bytes; i++) {
        data[i] = (uint8_t)(db[i] - shift);
    }
}

static int th_infer(void)
{
    uint32_t failed = 0;
    copy_input();
    if (engine_invoke(&model, 0, model.header.num_ops, &failed) != ENGINE_OK) {
        say("e-[kernel failed in operator ");
        say_u64(failed);
        say("]\r\n");
        return 0;
    }
    now_us(); /* keeps the 64-bit clock across long loops */
    return 1;
}

/* The first graph output, dequantized, printed "%0.3f" like the reference submissions. */
static void th_results(void)
{
    engine_tensor_t output = io_tensor(model.header.num_inputs);
    const uint8_t *data = engine_tensor_data(&model, &output);
    uint32_t size = engine_element_size(output.type);
    uint32_t count = size ? output.bytes / size : 0;
    say("m-results-[");
    for (uint32_t i = 0; i < count; i++) {
        float value;
        if (output.type == ENGINE_TYPE_INT8) {
            value = (float)((int32_t)(int8_t)data[i] - output.zero_point) * output.scale;
        } else if (output.type == ENGINE_TYPE_FLOAT32) {
            memcpy(&value, data + 4u * i, sizeof value);
        } else {
            int32_t raw;
            memcpy(&raw, data + 4u * i, sizeof raw);
            value = (float)raw;
        }
        if (i) {
            say(",");
        }
        say_fixed3(value);
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
    if (n == 0 || n > 9) {
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
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static void say_no_model(void)
{
    say("e-[no model: ");
    say(model_problem);
    say("]\r\n");
}

static void db_load(const char *count)
{
    int32_t n = count ? parse_count(count) : -1;
    if (model_problem) {
        say_no_model(); /* the buffer is the pool after the model's arena */
    } else if (n <= 0) {
        say_error("Command 'db load' requires a byte count above 0");
    } else if ((uint32_t)n > db_capacity) {
        say("e-[db load ");
        say_u64((uint32_t)n);
        say(" exceeds the buffer of ");
        say_u64(db_capacity);
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
        db[db_filled++] = (uint8_t)(hex_digit(hex[i]) * 16 + hex_digit(hex[i + 1u]));
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
        char pair[3] = {digits[db[i] >> 4], digits[db[i] & 15u], 0};
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

static void command_infer(char *cursor)
{
    const char *count = next_word(&cursor), *warmups = next_word(&cursor);
    int32_t n = count ? parse_count(count) : 1;
    int32_t w = warmups ? parse_count(warmups) : (int32_t)DEFAULT_WARMUPS;
    if (n <= 0) {
        say_error("Inference iterations must be >0");
        return;
    }
    if (w < 0) {
        say_error("Inference warmup must be >=0");
        return;
    }
    if (model_problem) {
        say_no_model();
        return;
    }
    if (!th_load_tensor()) {
        return;
    }
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

static void dispatch(char *command)
{
    char *cursor = command;
    const char *word = next_word(&cursor);
    if (!word) {
        say_error("Unknown command: ");
    } else if (strcmp(word, "name") == 0) {
        say("m-name-dut-[hil-harness]\r\n");
    } else if (strcmp(word, "timestamp") == 0) {
        th_timestamp();
    } else if (strcmp(word, "profile") == 0) {
        say("m-profile-[" FW_VERSION "]\r\nm-model-[" HIL_MLPERF_MODEL "]\r\n");
    } else if (strcmp(word, "help") == 0) {
        say(FW_VERSION "\r\nname, timestamp, profile, db load N, db HH.., db print, infer N [W], results\r\n");
    } else if (strcmp(word, "db") == 0) {
        command_db(cursor);
    } else if (strcmp(word, "infer") == 0) {
        command_infer(cursor);
    } else if (strcmp(word, "results") == 0) {
        if (model_problem) {
            say_no_model();
        } else {
            th_results();
        }
    } else {
        say("e-[Unknown command: ");
        say(word);
        say("]\r\n");
    }
    say("m-ready\r\n");
}

static void load_slot_model(void)
{
    const char *why = "the model's arena does not fit the pool";
    if (engine_load(&model, (const uint8_t *)(uintptr_t)HIL_MODEL_SLOT_ADDR, HIL_MODEL_SLOT_SIZE, 0, pool,
                    HIL_MLPERF_POOL_SIZE, &why) != ENGINE_OK) {
        model_problem = why;
        return;
    }
    if (model.header.num_inputs != 1 || model.header.num_outputs < 1) {
        model_problem = "the API feeds one input tensor";
        return;
    }
    uint32_t used = (model.header.arena_size + 15u) & ~15u;
    db = pool + used;
    db_capacity = HIL_MLPERF_POOL_SIZE - used;
    model_problem = NULL;
}

void mlperf_main(void)
{
    last_ticks = hal_timer_ticks();
    load_slot_model();
    if (model_problem) {
        say("e-[model in the flash slot: ");
        say(model_problem);
        say("]\r\n");
    }
    say("m-init-done\r\nm-ready\r\n");
    char command[COMMAND_SIZE + 1];
    uint32_t length = 0;
    int too_long = 0;
    for (;;) {
        int c = hal_uart_getc();
        if (c < 0) {
            hal_idle();
            now_us();
            continue;
        }
        if (c == '%') {
            command[length] = 0;
            if (too_long) {
                say_error("command longer than 80 characters");
                say("m-ready\r\n");
            } else {
                dispatch(command);
            }
            length = 0;
            too_long = 0;
        } else if (c == '\r' || c == '\n') {
            /* terminals send line ends; the API's commands never contain them */
        } else if (length < COMMAND_SIZE) {
            command[length++] = (char)c;
        } else {
            too_long = 1;
        }
    }
}

/* The startup code calls app_main; --wrap=app_main sends that call here. */
void __wrap_app_main(void);
void __wrap_app_main(void)
{
    mlperf_main();
}

#endif

/* The application: its model behind the SDK's model-runner service, one request of its own,
 * then the SDK serves the host. The board support's startup code calls app_main() once the
 * clocks and the UART run (a vendor's main() would do the same after its HAL_Init()). */
#include <stdint.h>

#include "engine_adapter.h"
#include "hil_runner.h"
#include "hil_sdk.h"
#ifdef EXAMPLE_MLPERF_TINY
#include "hil_mlperf.h"
#ifndef EXAMPLE_MLPERF_MODEL
#define EXAMPLE_MLPERF_MODEL "kws01" /* m-model-[...]: which MLPerf Tiny benchmark the model is */
#endif
#ifndef EXAMPLE_MLPERF_DB_BYTES
#define EXAMPLE_MLPERF_DB_BYTES 32768u /* the largest input the runner sends (VWW: 27,648 bytes) */
#endif
#endif

void app_main(void);

/* A request of the application's own, in the SDK's user range (HIL_USER_TYPE_FIRST..LAST): it
 * answers how many inferences ran since boot. The host knows it by name from
 * examples/user_firmware/messages.yaml (harness.link.user_messages). */
#define EXAMPLE_MSG_COUNTERS 0x70u

static hil_model_runner_t runner;
static uint32_t invokes;
static int (*engine_invoke_fn)(void *context);

static int counted_invoke(void *context)
{
    invokes++;
    return engine_invoke_fn(context);
}

static void counters(const link_message_t *request)
{
    struct __attribute__((packed)) {
        uint32_t invokes;
        uint32_t model_ok;
    } reply = {.invokes = invokes, .model_ok = runner.invoke != 0};
    link_reply(request, &reply, sizeof reply);
}

static const hil_command_t user_commands[] = {
    {EXAMPLE_MSG_COUNTERS, counters},
    {0, 0},
};

void app_main(void)
{
    if (engine_adapter_init(&runner) == 0) {
        engine_invoke_fn = runner.invoke;
        runner.invoke = counted_invoke;
        hil_runner_register(&runner);
    } /* else: RUNNER_* requests answer UNKNOWN_TYPE, and the host says the firmware has no runner */
    hil_sdk_register_user(user_commands);
#ifdef EXAMPLE_MLPERF_TINY
    /* MLPerf Tiny mode (docs/mlperf_tiny.md): the same runner answers the MLPerf Tiny benchmark
     * API's text protocol, as the official runner drives a submission, instead of the link. */
    static uint8_t db[EXAMPLE_MLPERF_DB_BYTES];
    static const hil_mlperf_config_t config = {"user-firmware-example", EXAMPLE_MLPERF_MODEL, db, sizeof db, NULL};
    hil_mlperf_run(runner.invoke ? &runner : NULL, &config);
#else
    hil_sdk_run();
#endif
}

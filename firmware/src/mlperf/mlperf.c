/* The harness firmware's MLPerf Tiny mode: the SDK's MLPerf Tiny responder (hil_mlperf.h) on the
 * engine, with the packed model the flash model slot holds (docs/mlperf_tiny.md), so that the
 * official MLPerf Tiny runner, or `hil run --protocol mlperf-tiny`, can drive this firmware.
 *
 * Built only with HIL_MLPERF_TINY=1 (harness/mlperf/firmware.py's MLPERF_FLAGS, or the
 * PlatformIO env nucleo_f746_mlperf): those flags also link with --wrap=app_main, so the startup
 * code enters this file's __wrap_app_main instead of the link's request loop, and shrink the
 * engine service's pool (ENGINE_POOL_SIZE), whose SRAM this module's pool takes instead. */
#if defined(HIL_MLPERF_TINY) && HIL_MLPERF_TINY

#include <stdint.h>

#include "../engine/engine.h"
#include "../engine/engine_runner.h"
#include "hil_mlperf.h"
#include "mlperf.h"

#ifndef HIL_MLPERF_MODEL
#define HIL_MLPERF_MODEL "kws01" /* m-model-[...]: kws01, vww01, ad01 or ic01 */
#endif
#ifndef HIL_MLPERF_POOL_SIZE
#define HIL_MLPERF_POOL_SIZE (HIL_SRAM_SIZE - 48u * 1024u) /* engine_commands.c's formula */
#endif

static uint8_t pool[HIL_MLPERF_POOL_SIZE] __attribute__((aligned(16)));
static engine_model_t model;

static int input(void *context, uint32_t index, hil_tensor_t *tensor)
{
    (void)context;
    return index < model.header.num_inputs
               ? engine_describe_tensor(&model, engine_io_tensor(&model, index), tensor)
               : -1;
}

static int output(void *context, uint32_t index, hil_tensor_t *tensor)
{
    (void)context;
    const uint32_t position = model.header.num_inputs + index;
    return index < model.header.num_outputs
               ? engine_describe_tensor(&model, engine_io_tensor(&model, position), tensor)
               : -1;
}

static int invoke(void *context)
{
    (void)context;
    uint32_t failed = 0;
    return engine_invoke(&model, 0, model.header.num_ops, &failed) == ENGINE_OK ? 0 : -1;
}

static const hil_model_runner_t runner = {NULL, 1, 1, input, output, invoke, NULL};

void mlperf_main(void)
{
    static hil_mlperf_config_t config = {"hil-harness", HIL_MLPERF_MODEL, NULL, 0, NULL};
    const char *why = "the model's arena does not fit the pool";
    if (engine_load(&model, (const uint8_t *)(uintptr_t)HIL_MODEL_SLOT_ADDR, HIL_MODEL_SLOT_SIZE, 0, pool,
                    HIL_MLPERF_POOL_SIZE, &why) != ENGINE_OK) {
        config.problem = why;
    } else if (model.header.num_inputs != 1 || model.header.num_outputs < 1) {
        config.problem = "the API feeds one input tensor";
    } else {
        uint32_t used = (model.header.arena_size + 15u) & ~15u; /* the db buffer: the pool's rest */
        config.db = pool + used;
        config.db_capacity = HIL_MLPERF_POOL_SIZE - used;
    }
    hil_mlperf_run(&runner, &config);
}

/* The startup code calls app_main; --wrap=app_main sends that call here. */
void __wrap_app_main(void);
void __wrap_app_main(void)
{
    mlperf_main();
}

#endif

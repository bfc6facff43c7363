/* The model-runner adapter on the inference engine: tensors described as hil_tensor_t, and an
 * invoke that runs the model one operator at a time so that each operator's output reaches the
 * per-layer hook (as a TFLM MicroProfiler's EndEvent would) and each operator is a timing
 * region. */
#include "engine_adapter.h"

#include "engine/engine.h"
#include "engine/engine_runner.h"

extern const char hil_example_model_sha256[];
extern const uint8_t hil_example_model[];
extern const uint32_t hil_example_model_size;
extern const uint32_t hil_example_arena_size;
extern uint8_t hil_example_arena[];

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
    return index < model.header.num_outputs
               ? engine_describe_tensor(&model, engine_io_tensor(&model, model.header.num_inputs + index),
                                        tensor)
               : -1;
}

static uint16_t first_output_of(uint32_t op_index)
{
    engine_op_t op;
    uint16_t tensor;
    engine_model_read(&model, model.header.ops_offset + op_index * (uint32_t)sizeof op, &op, sizeof op);
    engine_model_read(&model, op.tensors_offset + 2u * op.num_inputs, &tensor, sizeof tensor);
    return tensor;
}

/* A deliberately wrong kernel for the harness's own test: built with -DEXAMPLE_PERTURB_OP=N,
 * operator N's first output element comes out one too high, as from a kernel with an off-by-one
 * rounding bug. */
static void perturb(uint32_t op_index, hil_tensor_t *out)
{
#ifdef EXAMPLE_PERTURB_OP
    if (op_index == (uint32_t)(EXAMPLE_PERTURB_OP) && out->bytes > 0) {
        ((uint8_t *)out->data)[0] += 1u;
    }
#else
    (void)op_index;
    (void)out;
#endif
}

static int invoke(void *context)
{
    (void)context;
    for (uint32_t i = 0; i < model.header.num_ops; i++) {
        uint32_t failed_op;
        hil_runner_region_begin(i < HIL_RUNNER_REGIONS ? i : HIL_RUNNER_REGIONS - 1u);
        int32_t status = engine_invoke(&model, i, i + 1u, &failed_op);
        hil_runner_region_end(i < HIL_RUNNER_REGIONS ? i : HIL_RUNNER_REGIONS - 1u);
        if (status != ENGINE_OK) {
            return (int)status;
        }
        hil_tensor_t out;
        uint16_t tensor = first_output_of(i);
        if (engine_describe_tensor(&model, tensor, &out) != 0) {
            return -1;
        }
        perturb(i, &out);
        hil_runner_publish_op(i, tensor, out.data, out.bytes);
    }
    return 0;
}

int engine_adapter_init(hil_model_runner_t *runner)
{
    const char *why = NULL;
    if (engine_load(&model, hil_example_model, hil_example_model_size, 0, hil_example_arena,
                    hil_example_arena_size, &why) != ENGINE_OK) {
        return -1;
    }
    runner->sha256 = hil_example_model_sha256;
    runner->num_inputs = (uint8_t)model.header.num_inputs;
    runner->num_outputs = (uint8_t)model.header.num_outputs;
    runner->input = input;
    runner->output = output;
    runner->invoke = invoke;
    runner->context = NULL;
    return 0;
}

/* One operator: its parameters and tensors from the model, then the kernel. The parameters
 * were computed on the host exactly as TFLM's Prepare() would (harness/engine/lower.py). */
#include <string.h>

#include "engine.h"

/* Tensors per operator: a minimal build (FULLY_CONNECTED, RESHAPE) needs 3 inputs and the
 * output, which keeps this stack record small on a 2 KB part. */
#if ENGINE_ALL_OPS
#define OP_TENSORS (ENGINE_MAX_OP_INPUTS + 1)
#else
#define OP_TENSORS 4
#endif

typedef struct {
    engine_tensor_t tensor[OP_TENSORS]; /* inputs, then the output */
    void *data[OP_TENSORS];
    uint32_t num_inputs;
} op_tensors_t;

/* 0 when the operator has more tensors than this build handles or its constants do not fit the
 * scratch area (models in program memory). */
static int read_tensors(const engine_model_t *model, const engine_op_t *op, op_tensors_t *t)
{
    t->num_inputs = op->num_inputs;
    if ((uint32_t)op->num_inputs + 1u > OP_TENSORS) {
        return 0;
    }
    for (uint32_t i = 0; i < (uint32_t)op->num_inputs + 1u; i++) {
        uint16_t index;
        engine_model_read(model, op->tensors_offset + 2u * i, &index, sizeof index);
        t->tensor[i] = engine_tensor(model, index);
        t->data[i] = engine_tensor_data(model, &t->tensor[i]);
        if (t->data[i] == NULL) {
            return 0;
        }
    }
    return 1;
}

/* Copies the operator's parameter record into `params` if it is exactly `size` bytes. */
static int read_params(const engine_model_t *model, const engine_op_t *op, void *params, uint32_t size)
{
    if (op->params_size != size) {
        return 0;
    }
    engine_model_read(model, op->params_offset, params, size);
    return 1;
}

#if ENGINE_ALL_OPS /* every operator; a minimal build keeps FULLY_CONNECTED and RESHAPE */
static hil_dims_t dims4(const engine_tensor_t *t)
{
    hil_dims_t d = {t->dims[0], t->dims[1], t->dims[2], t->dims[3]};
    return d;
}

static hil_shape_t shape_of(const engine_tensor_t *t)
{
    hil_shape_t s;
    s.rank = t->rank;
    for (int32_t i = 0; i < ENGINE_MAX_RANK; i++) {
        s.dims[i] = i < t->rank ? t->dims[i] : 1;
    }
    return s;
}

static int32_t elements(const engine_tensor_t *t)
{
    hil_shape_t s = shape_of(t);
    return hil_shape_flat_size(&s);
}

static int32_t conv(const engine_model_t *model, const engine_op_t *op, const op_tensors_t *t)
{
    uint32_t out = t->num_inputs;
    int depthwise = op->opcode == ENGINE_OP_DEPTHWISE_CONV_2D;
    hil_dims_t in_d = dims4(&t->tensor[0]), f_d = dims4(&t->tensor[1]), out_d = dims4(&t->tensor[out]);
    if (t->tensor[0].rank != 4 || t->tensor[1].rank != 4 || t->tensor[out].rank != 4) {
        return HIL_KERNEL_ERR_ARG;
    }
    const void *bias = t->num_inputs > 2 ? t->data[2] : NULL;
    if (op->type == ENGINE_TYPE_FLOAT32) {
        hil_conv_f32_params_t p;
        if (!read_params(model, op, &p, sizeof p)) {
            return HIL_KERNEL_ERR_ARG;
        }
        return (depthwise ? hil_depthwise_conv2d_f32 : hil_conv2d_f32)(
            &p, &in_d, t->data[0], &f_d, t->data[1], bias, &out_d, t->data[out]);
    }
    engine_conv_s8_t p;
    if (!read_params(model, op, &p, sizeof p) || p.per_channel != 1) {
        return HIL_KERNEL_ERR_ARG;
    }
    uint32_t channels_bytes = 4u * (uint32_t)out_d.c;
    hil_requant_t rq = {engine_model_data(model, p.multipliers_offset, channels_bytes),
                        engine_model_data(model, p.shifts_offset, channels_bytes), 1};
    if (rq.multiplier == NULL || rq.shift == NULL) {
        return HIL_KERNEL_ERR_ARG;
    }
    return (depthwise ? hil_depthwise_conv2d_s8 : hil_conv2d_s8)(
        &p.conv, &rq, &in_d, t->data[0], &f_d, t->data[1], bias, &out_d, t->data[out]);
}

#endif

static int32_t fully_connected(const engine_model_t *model, const engine_op_t *op, const op_tensors_t *t)
{
    uint32_t out = t->num_inputs;
    const void *bias = t->num_inputs > 2 ? t->data[2] : NULL;
    if (op->type == ENGINE_TYPE_FLOAT32) {
#if ENGINE_ALL_OPS
        engine_fc_f32_t p;
        if (!read_params(model, op, &p, sizeof p)) {
            return HIL_KERNEL_ERR_ARG;
        }
        return hil_fully_connected_f32(p.act_min, p.act_max, p.batches, p.accum_depth, p.output_depth,
                                       t->data[0], t->data[1], bias, t->data[out]);
#else
        return HIL_KERNEL_ERR_ARG;
#endif
    }
    engine_fc_s8_t p;
    if (!read_params(model, op, &p, sizeof p)) {
        return HIL_KERNEL_ERR_ARG;
    }
    uint32_t channels_bytes = p.per_channel ? 4u * (uint32_t)p.output_depth : 4u;
    hil_requant_t rq = {engine_model_data(model, p.multipliers_offset, channels_bytes),
                        engine_model_data(model, p.shifts_offset, channels_bytes), p.per_channel};
    if (rq.multiplier == NULL || rq.shift == NULL) {
        return HIL_KERNEL_ERR_ARG;
    }
    return hil_fully_connected_s8(&p.fc, &rq, p.batches, p.accum_depth, p.output_depth,
                                  t->data[0], t->data[1], bias, t->data[out]);
}

#if ENGINE_ALL_OPS
static int32_t pool(const engine_model_t *model, const engine_op_t *op, const op_tensors_t *t)
{
    hil_pool_params_t p;
    if (!read_params(model, op, &p, sizeof p) || t->tensor[0].rank != 4 || t->tensor[1].rank != 4) {
        return HIL_KERNEL_ERR_ARG;
    }
    hil_dims_t in_d = dims4(&t->tensor[0]), out_d = dims4(&t->tensor[1]);
    int avg = op->opcode == ENGINE_OP_AVERAGE_POOL_2D;
    if (op->type == ENGINE_TYPE_FLOAT32) {
        return (avg ? hil_avgpool_f32 : hil_maxpool_f32)(&p, &in_d, t->data[0], &out_d, t->data[1]);
    }
    return (avg ? hil_avgpool_s8 : hil_maxpool_s8)(&p, &in_d, t->data[0], &out_d, t->data[1]);
}

static int32_t binary(const engine_model_t *model, const engine_op_t *op, const op_tensors_t *t)
{
    hil_shape_t a = shape_of(&t->tensor[0]), b = shape_of(&t->tensor[1]), y = shape_of(&t->tensor[2]);
    int add = op->opcode == ENGINE_OP_ADD;
    if (t->num_inputs != 2) {
        return HIL_KERNEL_ERR_ARG;
    }
    if (op->type == ENGINE_TYPE_FLOAT32) {
        engine_act_f32_t p;
        if (!read_params(model, op, &p, sizeof p)) {
            return HIL_KERNEL_ERR_ARG;
        }
        return (add ? hil_add_f32 : hil_mul_f32)(p.act_min, p.act_max, &a, t->data[0], &b, t->data[1],
                                                 &y, t->data[2]);
    }
    if (add) {
        hil_add_params_t p;
        return read_params(model, op, &p, sizeof p)
                   ? hil_add_s8(&p, &a, t->data[0], &b, t->data[1], &y, t->data[2]) : HIL_KERNEL_ERR_ARG;
    }
    hil_mul_params_t p;
    return read_params(model, op, &p, sizeof p)
               ? hil_mul_s8(&p, &a, t->data[0], &b, t->data[1], &y, t->data[2]) : HIL_KERNEL_ERR_ARG;
}

static int32_t softmax(const engine_model_t *model, const engine_op_t *op, const op_tensors_t *t)
{
    const engine_tensor_t *x = &t->tensor[0];
    int32_t depth = x->rank > 0 ? x->dims[x->rank - 1] : 1;
    int32_t outer = depth > 0 ? elements(x) / depth : 0;
    if (op->type == ENGINE_TYPE_FLOAT32) {
        engine_softmax_f32_t p;
        return read_params(model, op, &p, sizeof p)
                   ? hil_softmax_f32(p.beta, outer, depth, t->data[0], t->data[1]) : HIL_KERNEL_ERR_ARG;
    }
    hil_softmax_params_t p;
    return read_params(model, op, &p, sizeof p)
               ? hil_softmax_s8(&p, outer, depth, t->data[0], t->data[1]) : HIL_KERNEL_ERR_ARG;
}

static int32_t logistic(const engine_model_t *model, const engine_op_t *op, const op_tensors_t *t)
{
    if (op->type == ENGINE_TYPE_FLOAT32) {
        return op->params_size == 0 ? hil_logistic_f32(elements(&t->tensor[0]), t->data[0], t->data[1])
                                    : HIL_KERNEL_ERR_ARG;
    }
    hil_logistic_params_t p;
    return read_params(model, op, &p, sizeof p)
               ? hil_logistic_s8(&p, elements(&t->tensor[0]), t->data[0], t->data[1]) : HIL_KERNEL_ERR_ARG;
}

static int32_t mean(const engine_model_t *model, const engine_op_t *op, const op_tensors_t *t)
{
    hil_shape_t x = shape_of(&t->tensor[0]);
    if (op->type == ENGINE_TYPE_FLOAT32) {
        engine_mean_f32_t p;
        return read_params(model, op, &p, sizeof p)
                   ? hil_mean_f32(&x, t->data[0], p.axes, p.num_axes, t->data[1]) : HIL_KERNEL_ERR_ARG;
    }
    engine_mean_s8_t p;
    return read_params(model, op, &p, sizeof p)
               ? hil_mean_s8(&p.mean, &x, t->data[0], p.axes, p.num_axes, t->data[1]) : HIL_KERNEL_ERR_ARG;
}

static int32_t pad(const engine_model_t *model, const engine_op_t *op, const op_tensors_t *t)
{
    hil_shape_t x = shape_of(&t->tensor[0]);
    engine_pad_t p;
    if (!read_params(model, op, &p, sizeof p)) {
        return HIL_KERNEL_ERR_ARG;
    }
    if (op->type == ENGINE_TYPE_FLOAT32) {
        return hil_pad_f32(&x, t->data[0], p.before, p.after, p.value_f32, t->data[1]);
    }
    return hil_pad_s8(&x, t->data[0], p.before, p.after, (int8_t)p.value_s8, t->data[1]);
}

static int32_t concatenation(const engine_model_t *model, const engine_op_t *op, const op_tensors_t *t)
{
    engine_concat_t p;
    hil_shape_t shapes[ENGINE_MAX_OP_INPUTS];
    const hil_shape_t *shape_ptrs[ENGINE_MAX_OP_INPUTS];
    const void *inputs[ENGINE_MAX_OP_INPUTS];
    if (!read_params(model, op, &p, sizeof p)) {
        return HIL_KERNEL_ERR_ARG;
    }
    for (uint32_t i = 0; i < t->num_inputs; i++) {
        shapes[i] = shape_of(&t->tensor[i]);
        shape_ptrs[i] = &shapes[i];
        inputs[i] = t->data[i];
    }
    int32_t n = (int32_t)t->num_inputs;
    if (op->type == ENGINE_TYPE_FLOAT32) {
        return hil_concatenation_f32(p.axis, n, shape_ptrs, (const float *const *)inputs, t->data[n]);
    }
    return hil_concatenation_s8(p.axis, n, shape_ptrs, (const int8_t *const *)inputs, t->data[n]);
}

static int32_t quantize(const engine_model_t *model, const engine_op_t *op, const op_tensors_t *t)
{
    int32_t size = elements(&t->tensor[0]);
    if (op->type == ENGINE_TYPE_FLOAT32) {
        engine_affine_t p;
        return read_params(model, op, &p, sizeof p)
                   ? hil_quantize_f32_s8(p.scale, p.zero_point, size, t->data[0], t->data[1]) : HIL_KERNEL_ERR_ARG;
    }
    engine_requantize_t p;
    return read_params(model, op, &p, sizeof p)
               ? hil_requantize_s8(p.input_zero_point, p.output_zero_point, p.multiplier, p.shift, size,
                                   t->data[0], t->data[1])
               : HIL_KERNEL_ERR_ARG;
}

static int32_t dequantize(const engine_model_t *model, const engine_op_t *op, const op_tensors_t *t)
{
    engine_affine_t p;
    return read_params(model, op, &p, sizeof p)
               ? hil_dequantize_s8_f32(p.scale, p.zero_point, elements(&t->tensor[0]), t->data[0], t->data[1])
               : HIL_KERNEL_ERR_ARG;
}

#endif

static int32_t reshape(const engine_model_t *model, const engine_op_t *op, const op_tensors_t *t)
{
    (void)model;
    (void)op;
    if (t->tensor[0].bytes != t->tensor[1].bytes) {
        return HIL_KERNEL_ERR_ARG;
    }
    return hil_reshape(t->data[0], t->data[1], (int32_t)t->tensor[0].bytes);
}

int32_t engine_run_op(const engine_model_t *model, const engine_op_t *op)
{
    op_tensors_t t;
    engine_scratch_reset();
    if (!read_tensors(model, op, &t)) {
        return HIL_KERNEL_ERR_ARG;
    }
    switch (op->opcode) {
    case ENGINE_OP_FULLY_CONNECTED:
        return fully_connected(model, op, &t);
    case ENGINE_OP_RESHAPE:
        return reshape(model, op, &t);
#if ENGINE_ALL_OPS
    case ENGINE_OP_CONV_2D:
    case ENGINE_OP_DEPTHWISE_CONV_2D:
        return conv(model, op, &t);
    case ENGINE_OP_AVERAGE_POOL_2D:
    case ENGINE_OP_MAX_POOL_2D:
        return pool(model, op, &t);
    case ENGINE_OP_ADD:
    case ENGINE_OP_MUL:
        return binary(model, op, &t);
    case ENGINE_OP_SOFTMAX:
        return softmax(model, op, &t);
    case ENGINE_OP_LOGISTIC:
        return logistic(model, op, &t);
    case ENGINE_OP_MEAN:
        return mean(model, op, &t);
    case ENGINE_OP_PAD:
        return pad(model, op, &t);
    case ENGINE_OP_CONCATENATION:
        return concatenation(model, op, &t);
    case ENGINE_OP_QUANTIZE:
        return quantize(model, op, &t);
    case ENGINE_OP_DEQUANTIZE:
        return dequantize(model, op, &t);
#endif
    default:
        return HIL_KERNEL_ERR_ARG;
    }
}

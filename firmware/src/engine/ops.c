/* One operator: at MODEL_LOAD its record is validated against the tensors it references (each
 * kind's `validate`, as TFLM's Prepare() checks), then at INVOKE its parameters and tensors go
 * to the kernel (`invoke`). The parameters were computed on the host exactly as TFLM's Prepare()
 * would (harness/engine/lower.py); validation makes sure that whatever a record says, no kernel
 * reads or writes outside its tensors, the model image or the fixed-point code's shift range. */
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

typedef const char *(*op_validate_t)(const engine_model_t *model, const engine_op_t *op,
                                     const op_tensors_t *t);
typedef int32_t (*op_invoke_t)(const engine_model_t *model, const engine_op_t *op, const op_tensors_t *t);

typedef struct {
    uint8_t opcode, min_inputs, max_inputs;
    const char *name;
    op_validate_t validate;
    op_invoke_t invoke;
} op_kind_t;

/* Field names in the MODEL_INVALID text ("operator 3 (PAD): invalid before"). */
#define FIELD(name) ENGINE_TEXT(name)

/* ---- shared checks ---- */

static int32_t elements(const engine_tensor_t *t)
{
    return (int32_t)(t->bytes / engine_element_size(t->type)); /* check_tensor: bytes = count * size */
}

static const engine_tensor_t *output_of(const op_tensors_t *t)
{
    return &t->tensor[t->num_inputs];
}

/* a * b == n, without overflow (a, b >= 0). */
static int product_is(int32_t a, int32_t b, int32_t n)
{
    return a >= 0 && b >= 0 && (a == 0 ? n == 0 : n % a == 0 && n / a == b);
}

static int in_range(int32_t value, int32_t low, int32_t high)
{
    return value >= low && value <= high;
}

/* Zero points, and the offsets (-zero point) TFLM's int8 kernels add. */
static int int8_offset(int32_t value)
{
    return in_range(value, -128, 128);
}

/* A fused activation as int8 clamp bounds. */
static int int8_range(int32_t low, int32_t high)
{
    return in_range(low, -128, 127) && in_range(high, low, 127);
}

/* A MultiplyByQuantizedMultiplier exponent: hil_rdbpot shifts right by at most 31. */
static int shift_ok(int32_t shift)
{
    return in_range(shift, -31, 31);
}

/* `count` int32 values at `offset`, 4-byte aligned, inside the model image. */
static int table_in_image(const engine_model_t *model, uint32_t offset, uint32_t count)
{
    uint32_t size = model->header.total_size;
    return offset % 4u == 0 && offset <= size && count <= (size - offset) / 4u;
}

/* The requantization tables of `count` channels: inside the image, every shift in range. */
static const char *check_requant(const engine_model_t *model, uint32_t multipliers, uint32_t shifts,
                                 uint32_t count)
{
    if (!table_in_image(model, multipliers, count)) {
        return FIELD("multipliers_offset");
    }
    if (!table_in_image(model, shifts, count)) {
        return FIELD("shifts_offset");
    }
    for (uint32_t i = 0; i < count; i++) {
        int32_t shift;
        engine_model_read(model, shifts + 4u * i, &shift, sizeof shift);
        if (!shift_ok(shift)) {
            return FIELD("shifts");
        }
    }
    return NULL;
}

/* Input 2 of a convolution or fully connected operator: the bias. */
static int is_bias(const engine_op_t *op, uint32_t position)
{
    return position == 2 && position < op->num_inputs &&
           (op->opcode == ENGINE_OP_FULLY_CONNECTED || op->opcode == ENGINE_OP_CONV_2D ||
            op->opcode == ENGINE_OP_DEPTHWISE_CONV_2D);
}

/* Every tensor of the operator has `type`, except a bias which has `bias_type`. */
static int types_are(const engine_op_t *op, const op_tensors_t *t, uint8_t type, uint8_t bias_type)
{
    for (uint32_t i = 0; i <= t->num_inputs; i++) {
        if (t->tensor[i].type != (is_bias(op, i) ? bias_type : type)) {
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

/* ---- FULLY_CONNECTED (every build) ---- */

static const char *check_fc_shape(const op_tensors_t *t, int32_t batches, int32_t accum_depth,
                                  int32_t output_depth)
{
    const engine_tensor_t *w = &t->tensor[1];
    if (w->rank != 2) {
        return FIELD("weights dims");
    }
    if (output_depth != w->dims[0]) {
        return FIELD("output_depth");
    }
    if (accum_depth != w->dims[1]) {
        return FIELD("accum_depth");
    }
    if (!product_is(batches, accum_depth, elements(&t->tensor[0]))) {
        return FIELD("batches");
    }
    if (!product_is(batches, output_depth, elements(output_of(t)))) {
        return FIELD("output dims");
    }
    if (t->num_inputs > 2 && elements(&t->tensor[2]) != output_depth) {
        return FIELD("bias dims");
    }
    return NULL;
}

static const char *validate_fully_connected(const engine_model_t *model, const engine_op_t *op,
                                            const op_tensors_t *t)
{
    if (op->type == ENGINE_TYPE_FLOAT32) {
#if ENGINE_ALL_OPS
        engine_fc_f32_t p;
        if (!read_params(model, op, &p, sizeof p)) {
            return FIELD("params_size");
        }
        return check_fc_shape(t, p.batches, p.accum_depth, p.output_depth);
#else
        return FIELD("type"); /* not in this build */
#endif
    }
    engine_fc_s8_t p;
    if (!read_params(model, op, &p, sizeof p)) {
        return FIELD("params_size");
    }
    const char *field = check_fc_shape(t, p.batches, p.accum_depth, p.output_depth);
    if (field) {
        return field;
    }
    if (!int8_offset(p.fc.input_offset) || !int8_offset(p.fc.filter_offset) ||
        !int8_offset(p.fc.output_offset)) {
        return FIELD("zero point offsets");
    }
    if (!int8_range(p.fc.act_min, p.fc.act_max)) {
        return FIELD("act_min/act_max");
    }
    if (p.per_channel != 0 && p.per_channel != 1) {
        return FIELD("per_channel");
    }
    return check_requant(model, p.multipliers_offset, p.shifts_offset,
                         p.per_channel ? (uint32_t)p.output_depth : 1u);
}

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
    return hil_fully_connected_s8(&p.fc, &rq, p.batches, p.accum_depth, p.output_depth, t->data[0],
                                  t->data[1], bias, t->data[out]);
}

/* ---- RESHAPE (every build) ---- */

static const char *validate_reshape(const engine_model_t *model, const engine_op_t *op, const op_tensors_t *t)
{
    (void)model;
    if (op->params_size != 0) {
        return FIELD("params_size");
    }
    return t->tensor[0].bytes == t->tensor[1].bytes ? NULL : FIELD("output dims");
}

static int32_t reshape(const engine_model_t *model, const engine_op_t *op, const op_tensors_t *t)
{
    (void)model;
    (void)op;
    return hil_reshape(t->data[0], t->data[1], (int32_t)t->tensor[0].bytes);
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

static int same_elements(const op_tensors_t *t)
{
    return elements(&t->tensor[0]) == elements(output_of(t));
}

static int all_rank4(const op_tensors_t *t)
{
    for (uint32_t i = 0; i <= t->num_inputs; i++) {
        if (t->tensor[i].rank != 4 && !(i == 2 && i < t->num_inputs)) { /* a bias is rank 1 */
            return 0;
        }
    }
    return 1;
}

/* The window geometry shared by the convolution and pooling records. */
typedef struct {
    int32_t stride_h, stride_w, dilation_h, dilation_w, pad_h, pad_w;
} window_t;

/* One spatial axis as TFLM computes it for SAME or VALID padding (ComputeOutSize, ComputePadding
 * WithOffset): 0 when valid, else which of stride (1), dilation (2), filter size (3), output size
 * (4) or pad (5) is wrong. Bounding the effective filter by 2^30 keeps the kernels' int32 index
 * arithmetic from overflowing. */
static int window_axis(int32_t in, int32_t filter, int32_t stride, int32_t dilation, int32_t out, int32_t pad)
{
    if (stride < 1) {
        return 1;
    }
    if (dilation < 1) {
        return 2;
    }
    if (filter < 1) {
        return 3;
    }
    int64_t effective = (int64_t)(filter - 1) * dilation + 1;
    if (effective > ((int64_t)1 << 30)) {
        return 2;
    }
    int64_t same = ((int64_t)in + stride - 1) / stride;
    int64_t valid = ((int64_t)in + stride - effective) / stride;
    if (out != same && out != valid) {
        return 4;
    }
    int64_t total = (int64_t)(out - 1) * stride + effective - in;
    return pad == (total > 0 ? total / 2 : 0) ? 0 : 5;
}

static const char *check_window(const window_t *w, const engine_tensor_t *x, int32_t filter_h,
                                int32_t filter_w, const engine_tensor_t *y)
{
    static const char *const fields[2][6] = {
        {NULL, FIELD("stride_h"), FIELD("dilation_h"), FIELD("filter height"), FIELD("output height"),
         FIELD("pad_h")},
        {NULL, FIELD("stride_w"), FIELD("dilation_w"), FIELD("filter width"), FIELD("output width"),
         FIELD("pad_w")},
    };
    int h = window_axis(x->dims[1], filter_h, w->stride_h, w->dilation_h, y->dims[1], w->pad_h);
    if (h) {
        return fields[0][h];
    }
    return fields[1][window_axis(x->dims[2], filter_w, w->stride_w, w->dilation_w, y->dims[2], w->pad_w)];
}

static const char *check_conv_shape(const engine_op_t *op, const op_tensors_t *t, int32_t depth_multiplier)
{
    const engine_tensor_t *x = &t->tensor[0], *f = &t->tensor[1], *y = output_of(t);
    int32_t in_c = x->dims[3], out_c = y->dims[3];
    if (x->dims[0] != y->dims[0]) {
        return FIELD("output dims");
    }
    if (op->opcode == ENGINE_OP_DEPTHWISE_CONV_2D) {
        if (depth_multiplier < 1 || !product_is(in_c, depth_multiplier, out_c)) {
            return FIELD("depth_multiplier");
        }
        if (f->dims[0] != 1 || f->dims[3] != out_c) {
            return FIELD("filter dims");
        }
    } else {
        int32_t groups = f->dims[3] > 0 ? in_c / f->dims[3] : 0; /* the kernel divides by it */
        if (f->dims[0] != out_c || groups < 1 || in_c % f->dims[3] != 0 || out_c % groups != 0) {
            return FIELD("filter dims");
        }
    }
    if (t->num_inputs > 2 && elements(&t->tensor[2]) != out_c) {
        return FIELD("bias dims");
    }
    return NULL;
}

/* The window of a convolution record, by field name (the two records' layouts are independent). */
#define CONV_WINDOW(p)                                                                                       \
    ((window_t){(p).stride_h, (p).stride_w, (p).dilation_h, (p).dilation_w, (p).pad_h, (p).pad_w})

static const char *check_conv_geometry(const engine_op_t *op, const op_tensors_t *t, window_t w,
                                       int32_t depth_multiplier)
{
    const char *field =
        check_window(&w, &t->tensor[0], t->tensor[1].dims[1], t->tensor[1].dims[2], output_of(t));
    return field ? field : check_conv_shape(op, t, depth_multiplier);
}

static const char *validate_conv(const engine_model_t *model, const engine_op_t *op, const op_tensors_t *t)
{
    if (!all_rank4(t)) {
        return FIELD("tensor ranks");
    }
    if (op->type == ENGINE_TYPE_FLOAT32) {
        hil_conv_f32_params_t p;
        return read_params(model, op, &p, sizeof p)
                   ? check_conv_geometry(op, t, CONV_WINDOW(p), p.depth_multiplier)
                   : FIELD("params_size");
    }
    engine_conv_s8_t p;
    if (!read_params(model, op, &p, sizeof p)) {
        return FIELD("params_size");
    }
    const char *field = check_conv_geometry(op, t, CONV_WINDOW(p.conv), p.conv.depth_multiplier);
    if (field) {
        return field;
    }
    if (!int8_offset(p.conv.input_offset) || !int8_offset(p.conv.output_offset)) {
        return FIELD("zero point offsets");
    }
    if (!int8_range(p.conv.act_min, p.conv.act_max)) {
        return FIELD("act_min/act_max");
    }
    if (p.per_channel != 1) {
        return FIELD("per_channel");
    }
    return check_requant(model, p.multipliers_offset, p.shifts_offset, (uint32_t)output_of(t)->dims[3]);
}

static int32_t conv(const engine_model_t *model, const engine_op_t *op, const op_tensors_t *t)
{
    uint32_t out = t->num_inputs;
    int depthwise = op->opcode == ENGINE_OP_DEPTHWISE_CONV_2D;
    hil_dims_t in_d = dims4(&t->tensor[0]), f_d = dims4(&t->tensor[1]), out_d = dims4(&t->tensor[out]);
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
    if (!read_params(model, op, &p, sizeof p)) {
        return HIL_KERNEL_ERR_ARG;
    }
    uint32_t channels_bytes = 4u * (uint32_t)out_d.c;
    hil_requant_t rq = {engine_model_data(model, p.multipliers_offset, channels_bytes),
                        engine_model_data(model, p.shifts_offset, channels_bytes), 1};
    if (rq.multiplier == NULL || rq.shift == NULL) {
        return HIL_KERNEL_ERR_ARG;
    }
    return (depthwise ? hil_depthwise_conv2d_s8 : hil_conv2d_s8)(&p.conv, &rq, &in_d, t->data[0], &f_d,
                                                                 t->data[1], bias, &out_d, t->data[out]);
}

/* ---- AVERAGE_POOL_2D, MAX_POOL_2D ---- */

static const char *validate_pool(const engine_model_t *model, const engine_op_t *op, const op_tensors_t *t)
{
    hil_pool_params_t p;
    if (!all_rank4(t)) {
        return FIELD("tensor ranks");
    }
    if (!read_params(model, op, &p, sizeof p)) {
        return FIELD("params_size");
    }
    const engine_tensor_t *x = &t->tensor[0], *y = &t->tensor[1];
    if (x->dims[0] != y->dims[0] || x->dims[3] != y->dims[3]) {
        return FIELD("output dims");
    }
    window_t w = {p.stride_h, p.stride_w, 1, 1, p.pad_h, p.pad_w};
    const char *field = check_window(&w, x, p.filter_h, p.filter_w, y);
    if (!field && op->type == ENGINE_TYPE_INT8 && !int8_range(p.act_min, p.act_max)) {
        field = FIELD("act_min/act_max");
    }
    return field;
}

static int32_t pool(const engine_model_t *model, const engine_op_t *op, const op_tensors_t *t)
{
    hil_pool_params_t p;
    if (!read_params(model, op, &p, sizeof p)) {
        return HIL_KERNEL_ERR_ARG;
    }
    hil_dims_t in_d = dims4(&t->tensor[0]), out_d = dims4(&t->tensor[1]);
    int avg = op->opcode == ENGINE_OP_AVERAGE_POOL_2D;
    if (op->type == ENGINE_TYPE_FLOAT32) {
        return (avg ? hil_avgpool_f32 : hil_maxpool_f32)(&p, &in_d, t->data[0], &out_d, t->data[1]);
    }
    return (avg ? hil_avgpool_s8 : hil_maxpool_s8)(&p, &in_d, t->data[0], &out_d, t->data[1]);
}

/* ---- ADD, MUL ---- */

/* numpy broadcasting, right-aligned, as the kernels' bcast_init: every input dim is the
 * output's or 1. */
static int broadcasts_to(const engine_tensor_t *x, const engine_tensor_t *y)
{
    if (x->rank > y->rank) {
        return 0;
    }
    for (int32_t i = 1; i <= x->rank; i++) {
        int32_t d = x->dims[x->rank - i];
        if (d != 1 && d != y->dims[y->rank - i]) {
            return 0;
        }
    }
    return 1;
}

static const char *validate_binary(const engine_model_t *model, const engine_op_t *op, const op_tensors_t *t)
{
    const engine_tensor_t *y = &t->tensor[2];
    if (!broadcasts_to(&t->tensor[0], y) || !broadcasts_to(&t->tensor[1], y)) {
        return FIELD("output dims");
    }
    if (op->type == ENGINE_TYPE_FLOAT32) {
        engine_act_f32_t p;
        return read_params(model, op, &p, sizeof p) ? NULL : FIELD("params_size");
    }
    int32_t offsets[3], act[2];
    if (op->opcode == ENGINE_OP_ADD) {
        hil_add_params_t p;
        if (!read_params(model, op, &p, sizeof p)) {
            return FIELD("params_size");
        }
        /* |offset + x| <= 256: shifted by at most 21, the two scaled inputs sum within int32 */
        if (!in_range(p.left_shift, 0, 21)) {
            return FIELD("left_shift");
        }
        if (!in_range(p.input1_shift, -31, 0) || !in_range(p.input2_shift, -31, 0) ||
            !in_range(p.output_shift, -31, 0)) {
            return FIELD("shifts");
        }
        offsets[0] = p.input1_offset;
        offsets[1] = p.input2_offset;
        offsets[2] = p.output_offset;
        act[0] = p.act_min;
        act[1] = p.act_max;
    } else {
        hil_mul_params_t p;
        if (!read_params(model, op, &p, sizeof p)) {
            return FIELD("params_size");
        }
        if (!shift_ok(p.output_shift)) {
            return FIELD("output_shift");
        }
        offsets[0] = p.input1_offset;
        offsets[1] = p.input2_offset;
        offsets[2] = p.output_offset;
        act[0] = p.act_min;
        act[1] = p.act_max;
    }
    if (!int8_offset(offsets[0]) || !int8_offset(offsets[1]) || !int8_offset(offsets[2])) {
        return FIELD("zero point offsets");
    }
    return int8_range(act[0], act[1]) ? NULL : FIELD("act_min/act_max");
}

static int32_t binary(const engine_model_t *model, const engine_op_t *op, const op_tensors_t *t)
{
    hil_shape_t a = shape_of(&t->tensor[0]), b = shape_of(&t->tensor[1]), y = shape_of(&t->tensor[2]);
    int add = op->opcode == ENGINE_OP_ADD;
    if (op->type == ENGINE_TYPE_FLOAT32) {
        engine_act_f32_t p;
        if (!read_params(model, op, &p, sizeof p)) {
            return HIL_KERNEL_ERR_ARG;
        }
        return (add ? hil_add_f32 : hil_mul_f32)(p.act_min, p.act_max, &a, t->data[0], &b, t->data[1], &y,
                                                 t->data[2]);
    }
    if (add) {
        hil_add_params_t p;
        return read_params(model, op, &p, sizeof p)
                   ? hil_add_s8(&p, &a, t->data[0], &b, t->data[1], &y, t->data[2])
                   : HIL_KERNEL_ERR_ARG;
    }
    hil_mul_params_t p;
    return read_params(model, op, &p, sizeof p)
               ? hil_mul_s8(&p, &a, t->data[0], &b, t->data[1], &y, t->data[2])
               : HIL_KERNEL_ERR_ARG;
}

/* ---- SOFTMAX, LOGISTIC ---- */

static const char *validate_softmax(const engine_model_t *model, const engine_op_t *op, const op_tensors_t *t)
{
    if (!same_elements(t)) {
        return FIELD("output dims");
    }
    if (op->type == ENGINE_TYPE_FLOAT32) {
        engine_softmax_f32_t p;
        return read_params(model, op, &p, sizeof p) ? NULL : FIELD("params_size");
    }
    hil_softmax_params_t p;
    if (!read_params(model, op, &p, sizeof p)) {
        return FIELD("params_size");
    }
    if (!in_range(p.input_left_shift, 0, 31)) {
        return FIELD("input_left_shift");
    }
    return p.diff_min <= 0 ? NULL : FIELD("diff_min"); /* the row's maximum always counts */
}

static int32_t softmax(const engine_model_t *model, const engine_op_t *op, const op_tensors_t *t)
{
    const engine_tensor_t *x = &t->tensor[0];
    int32_t depth = x->rank > 0 ? x->dims[x->rank - 1] : 1;
    int32_t outer = depth > 0 ? elements(x) / depth : 0;
    if (op->type == ENGINE_TYPE_FLOAT32) {
        engine_softmax_f32_t p;
        return read_params(model, op, &p, sizeof p)
                   ? hil_softmax_f32(p.beta, outer, depth, t->data[0], t->data[1])
                   : HIL_KERNEL_ERR_ARG;
    }
    hil_softmax_params_t p;
    return read_params(model, op, &p, sizeof p) ? hil_softmax_s8(&p, outer, depth, t->data[0], t->data[1])
                                                : HIL_KERNEL_ERR_ARG;
}

static const char *validate_logistic(const engine_model_t *model, const engine_op_t *op,
                                     const op_tensors_t *t)
{
    if (!same_elements(t)) {
        return FIELD("output dims");
    }
    if (op->type == ENGINE_TYPE_FLOAT32) {
        return op->params_size == 0 ? NULL : FIELD("params_size");
    }
    hil_logistic_params_t p;
    if (!read_params(model, op, &p, sizeof p)) {
        return FIELD("params_size");
    }
    if (!int8_offset(p.input_zero_point)) {
        return FIELD("input_zero_point");
    }
    if (p.input_range_radius < 0) {
        return FIELD("input_range_radius");
    }
    return shift_ok(p.input_left_shift) ? NULL : FIELD("input_left_shift");
}

static int32_t logistic(const engine_model_t *model, const engine_op_t *op, const op_tensors_t *t)
{
    if (op->type == ENGINE_TYPE_FLOAT32) {
        return hil_logistic_f32(elements(&t->tensor[0]), t->data[0], t->data[1]);
    }
    hil_logistic_params_t p;
    return read_params(model, op, &p, sizeof p)
               ? hil_logistic_s8(&p, elements(&t->tensor[0]), t->data[0], t->data[1])
               : HIL_KERNEL_ERR_ARG;
}

/* ---- MEAN ---- */

/* The axes inside the input's rank, and the output as large as the dims they keep. */
static const char *check_axes(const op_tensors_t *t, int32_t num_axes, const int32_t *axes)
{
    const engine_tensor_t *x = &t->tensor[0];
    int reduced[ENGINE_MAX_RANK] = {0};
    if (!in_range(num_axes, 1, ENGINE_MAX_RANK)) {
        return FIELD("num_axes");
    }
    for (int32_t i = 0; i < num_axes; i++) {
        if (!in_range(axes[i], -(int32_t)x->rank, (int32_t)x->rank - 1)) {
            return FIELD("axes");
        }
        reduced[axes[i] < 0 ? axes[i] + x->rank : axes[i]] = 1;
    }
    int32_t kept = 1;
    for (int32_t d = 0; d < x->rank; d++) {
        kept *= reduced[d] ? 1 : x->dims[d]; /* at most the input's element count */
    }
    return kept == elements(output_of(t)) ? NULL : FIELD("output dims");
}

static const char *validate_mean(const engine_model_t *model, const engine_op_t *op, const op_tensors_t *t)
{
    if (op->type == ENGINE_TYPE_FLOAT32) {
        engine_mean_f32_t p;
        return read_params(model, op, &p, sizeof p) ? check_axes(t, p.num_axes, p.axes)
                                                    : FIELD("params_size");
    }
    engine_mean_s8_t p;
    if (!read_params(model, op, &p, sizeof p)) {
        return FIELD("params_size");
    }
    if (!int8_offset(p.mean.input_zero_point) || !int8_offset(p.mean.output_zero_point)) {
        return FIELD("zero points");
    }
    return shift_ok(p.mean.shift) ? check_axes(t, p.num_axes, p.axes) : FIELD("shift");
}

static int32_t mean(const engine_model_t *model, const engine_op_t *op, const op_tensors_t *t)
{
    hil_shape_t x = shape_of(&t->tensor[0]);
    if (op->type == ENGINE_TYPE_FLOAT32) {
        engine_mean_f32_t p;
        return read_params(model, op, &p, sizeof p)
                   ? hil_mean_f32(&x, t->data[0], p.axes, p.num_axes, t->data[1])
                   : HIL_KERNEL_ERR_ARG;
    }
    engine_mean_s8_t p;
    return read_params(model, op, &p, sizeof p)
               ? hil_mean_s8(&p.mean, &x, t->data[0], p.axes, p.num_axes, t->data[1])
               : HIL_KERNEL_ERR_ARG;
}

/* ---- PAD ---- */

static const char *validate_pad(const engine_model_t *model, const engine_op_t *op, const op_tensors_t *t)
{
    const engine_tensor_t *x = &t->tensor[0], *y = &t->tensor[1];
    engine_pad_t p;
    if (!read_params(model, op, &p, sizeof p)) {
        return FIELD("params_size");
    }
    if (x->rank != y->rank) {
        return FIELD("output dims");
    }
    for (uint8_t d = 0; d < x->rank; d++) {
        int32_t added = y->dims[d] - x->dims[d]; /* both >= 0 */
        if (!in_range(p.before[d], 0, added)) {
            return FIELD("before");
        }
        if (p.after[d] != added - p.before[d]) {
            return FIELD("after");
        }
    }
    return op->type == ENGINE_TYPE_FLOAT32 || in_range(p.value_s8, -128, 127) ? NULL : FIELD("value_s8");
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

/* ---- CONCATENATION ---- */

static const char *validate_concatenation(const engine_model_t *model, const engine_op_t *op,
                                          const op_tensors_t *t)
{
    const engine_tensor_t *y = output_of(t);
    engine_concat_t p;
    if (!read_params(model, op, &p, sizeof p)) {
        return FIELD("params_size");
    }
    if (!in_range(p.axis, -(int32_t)y->rank, (int32_t)y->rank - 1)) {
        return FIELD("axis");
    }
    int32_t axis = p.axis < 0 ? p.axis + y->rank : p.axis, along = 0;
    for (uint32_t i = 0; i < t->num_inputs; i++) {
        const engine_tensor_t *x = &t->tensor[i];
        if (x->rank != y->rank) {
            return FIELD("input dims");
        }
        for (int32_t d = 0; d < y->rank; d++) {
            if (d != axis && x->dims[d] != y->dims[d]) {
                return FIELD("input dims");
            }
        }
        if (x->dims[axis] > y->dims[axis] - along) {
            return FIELD("output dims");
        }
        along += x->dims[axis];
    }
    return along == y->dims[axis] ? NULL : FIELD("output dims");
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

/* ---- QUANTIZE, DEQUANTIZE ---- */

static const char *validate_quantize(const engine_model_t *model, const engine_op_t *op,
                                     const op_tensors_t *t)
{
    if (!same_elements(t)) {
        return FIELD("output dims");
    }
    if (op->type == ENGINE_TYPE_FLOAT32) {
        engine_affine_t p;
        if (!read_params(model, op, &p, sizeof p)) {
            return FIELD("params_size");
        }
        return int8_offset(p.zero_point) ? NULL : FIELD("zero_point");
    }
    engine_requantize_t p;
    if (!read_params(model, op, &p, sizeof p)) {
        return FIELD("params_size");
    }
    if (!int8_offset(p.input_zero_point) || !int8_offset(p.output_zero_point)) {
        return FIELD("zero points");
    }
    return shift_ok(p.shift) ? NULL : FIELD("shift");
}

static int32_t quantize(const engine_model_t *model, const engine_op_t *op, const op_tensors_t *t)
{
    int32_t size = elements(&t->tensor[0]);
    if (op->type == ENGINE_TYPE_FLOAT32) {
        engine_affine_t p;
        return read_params(model, op, &p, sizeof p)
                   ? hil_quantize_f32_s8(p.scale, p.zero_point, size, t->data[0], t->data[1])
                   : HIL_KERNEL_ERR_ARG;
    }
    engine_requantize_t p;
    return read_params(model, op, &p, sizeof p)
               ? hil_requantize_s8(p.input_zero_point, p.output_zero_point, p.multiplier, p.shift, size,
                                   t->data[0], t->data[1])
               : HIL_KERNEL_ERR_ARG;
}

static const char *validate_dequantize(const engine_model_t *model, const engine_op_t *op,
                                       const op_tensors_t *t)
{
    engine_affine_t p;
    if (!same_elements(t)) {
        return FIELD("output dims");
    }
    if (!read_params(model, op, &p, sizeof p)) {
        return FIELD("params_size");
    }
    return int8_offset(p.zero_point) ? NULL : FIELD("zero_point");
}

static int32_t dequantize(const engine_model_t *model, const engine_op_t *op, const op_tensors_t *t)
{
    engine_affine_t p;
    return read_params(model, op, &p, sizeof p)
               ? hil_dequantize_s8_f32(p.scale, p.zero_point, elements(&t->tensor[0]), t->data[0], t->data[1])
               : HIL_KERNEL_ERR_ARG;
}

#endif

/* ---- the operators of this build ---- */

static const op_kind_t kinds[] = {
    {ENGINE_OP_FULLY_CONNECTED, 2, 3, ENGINE_TEXT("FULLY_CONNECTED"), validate_fully_connected,
     fully_connected},
    {ENGINE_OP_RESHAPE, 1, 1, ENGINE_TEXT("RESHAPE"), validate_reshape, reshape},
#if ENGINE_ALL_OPS
    {ENGINE_OP_CONV_2D, 2, 3, ENGINE_TEXT("CONV_2D"), validate_conv, conv},
    {ENGINE_OP_DEPTHWISE_CONV_2D, 2, 3, ENGINE_TEXT("DEPTHWISE_CONV_2D"), validate_conv, conv},
    {ENGINE_OP_AVERAGE_POOL_2D, 1, 1, ENGINE_TEXT("AVERAGE_POOL_2D"), validate_pool, pool},
    {ENGINE_OP_MAX_POOL_2D, 1, 1, ENGINE_TEXT("MAX_POOL_2D"), validate_pool, pool},
    {ENGINE_OP_ADD, 2, 2, ENGINE_TEXT("ADD"), validate_binary, binary},
    {ENGINE_OP_MUL, 2, 2, ENGINE_TEXT("MUL"), validate_binary, binary},
    {ENGINE_OP_SOFTMAX, 1, 1, ENGINE_TEXT("SOFTMAX"), validate_softmax, softmax},
    {ENGINE_OP_LOGISTIC, 1, 1, ENGINE_TEXT("LOGISTIC"), validate_logistic, logistic},
    {ENGINE_OP_MEAN, 1, 1, ENGINE_TEXT("MEAN"), validate_mean, mean},
    {ENGINE_OP_PAD, 1, 1, ENGINE_TEXT("PAD"), validate_pad, pad},
    {ENGINE_OP_CONCATENATION, 1, ENGINE_MAX_OP_INPUTS, ENGINE_TEXT("CONCATENATION"), validate_concatenation,
     concatenation},
    {ENGINE_OP_QUANTIZE, 1, 1, ENGINE_TEXT("QUANTIZE"), validate_quantize, quantize},
    {ENGINE_OP_DEQUANTIZE, 1, 1, ENGINE_TEXT("DEQUANTIZE"), validate_dequantize, dequantize},
#endif
};

static const op_kind_t *kind_of(uint8_t opcode)
{
    for (uint32_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        if (kinds[i].opcode == opcode) {
            return &kinds[i];
        }
    }
    return NULL;
}

/* The tensor records of the operator's inputs and output (indices checked by engine_check_op). */
static void read_records(const engine_model_t *model, const engine_op_t *op, op_tensors_t *t)
{
    t->num_inputs = op->num_inputs;
    for (uint32_t i = 0; i <= t->num_inputs; i++) {
        uint16_t index;
        engine_model_read(model, op->tensors_offset + 2u * i, &index, sizeof index);
        t->tensor[i] = engine_tensor(model, index);
    }
}

/* The types the kernel reads and writes: op->type, an int32 bias for int8, and the conversions. */
static int types_fit(const engine_op_t *op, const op_tensors_t *t)
{
    uint8_t out = output_of(t)->type;
    if (op->opcode == ENGINE_OP_QUANTIZE || op->opcode == ENGINE_OP_DEQUANTIZE) {
        uint8_t want = op->opcode == ENGINE_OP_QUANTIZE ? ENGINE_TYPE_INT8 : ENGINE_TYPE_FLOAT32;
        return t->tensor[0].type == op->type && out == want &&
               (op->opcode == ENGINE_OP_QUANTIZE || op->type == ENGINE_TYPE_INT8);
    }
    return types_are(op, t, op->type, op->type == ENGINE_TYPE_INT8 ? ENGINE_TYPE_INT32 : op->type);
}

const char *engine_check_op(const engine_model_t *model, const engine_op_t *op, const char **name)
{
    const engine_header_t *h = &model->header;
    const op_kind_t *kind = kind_of(op->opcode);
    op_tensors_t t;
    *name = NULL;
    if (kind == NULL) {
        return FIELD("opcode"); /* unknown, or not in this build */
    }
    *name = kind->name;
    if (op->num_inputs < kind->min_inputs || op->num_inputs > kind->max_inputs || op->num_outputs != 1) {
        return FIELD("number of tensors");
    }
    if (op->type != ENGINE_TYPE_INT8 && op->type != ENGINE_TYPE_FLOAT32) {
        return FIELD("type");
    }
    if (!engine_inside(op->tensors_offset, 2u * (op->num_inputs + 1u), h->total_size)) {
        return FIELD("tensors_offset");
    }
    if (!engine_inside(op->params_offset, op->params_size, h->total_size)) {
        return FIELD("params_offset");
    }
    for (uint32_t i = 0; i <= op->num_inputs; i++) {
        uint16_t index;
        engine_model_read(model, op->tensors_offset + 2u * i, &index, sizeof index);
        if (index >= h->num_tensors) {
            return FIELD("tensor index");
        }
        engine_tensor_t tensor = engine_tensor(model, index);
        if (tensor.storage == ENGINE_STORAGE_NONE ||
            (i == op->num_inputs && tensor.storage != ENGINE_STORAGE_ARENA)) {
            return FIELD("tensor storage");
        }
    }
    read_records(model, op, &t);
    if (!types_fit(op, &t)) {
        return FIELD("tensor types");
    }
    return kind->validate(model, op, &t);
}

int32_t engine_run_op(const engine_model_t *model, const engine_op_t *op)
{
    op_tensors_t t;
    const op_kind_t *kind = kind_of(op->opcode);
    engine_scratch_reset();
    if (kind == NULL || (uint32_t)op->num_inputs + 1u > OP_TENSORS) {
        return HIL_KERNEL_ERR_ARG;
    }
    read_records(model, op, &t);
    for (uint32_t i = 0; i <= t.num_inputs; i++) {
        t.data[i] = engine_tensor_data(model, &t.tensor[i]);
        if (t.data[i] == NULL) {
            return HIL_KERNEL_ERR_ARG; /* the constants do not fit the scratch area (program memory) */
        }
    }
    return kind->invoke(model, op, &t);
}

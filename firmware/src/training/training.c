/* On-device training service: one SGD step per TRAIN_STEP exactly as docs/training_spec.md says,
 * mirrored by harness/training/reference.py. The host uploads a setup image (TRAIN_LOAD), which
 * lives at the start of a static arena and is updated in place; TRAIN_BEGIN checks it, plans the
 * rest of the arena (activations, gradients) and refuses a plan over the image's SRAM budget. */
#if !defined(__AVR__)
#include <stdbool.h>
#include <string.h>

#include "../app/app.h"
#include "../hal/hal.h"
#include "../kernels/hil_fixedpoint.h"
#include "../kernels/kernels.h"
#include "../metrics/metrics.h"
#include "hil_constants.h" /* HIL_TRAINING_ARENA_BYTES, HIL_TRAINING_STACK_RESERVE */
#include "train_math.h"
#include "training_image.h"

#define WEIGHT_STEP_LIMIT 256.0f
#define BIAS_STEP_LIMIT 1073741824.0f

extern uint32_t _sdata, _ebss;
/* The inference engine's service (src/engine/engine_commands.c), weak: builds without the engine
 * (the host fuzz target) have no backbone to bind. */
extern int8_t *engine_service_tensor(uint32_t index, uint32_t bytes, const char **why) __attribute__((weak));
extern int32_t engine_service_run(uint32_t end_op) __attribute__((weak));
extern uint32_t engine_service_high_water(void) __attribute__((weak));
extern uint32_t engine_service_pool_size(void) __attribute__((weak));
#define ARENA_PAINT 0x5Au

/* The setup image's header and layer records (setup_header_t, layer_record_t), TRAIN_KIND_*,
 * TRAIN_FLAG_* and TRAIN_RECORD_*: training_image.h, generated from
 * harness/contracts/training_image.yaml. off_weights is an offset into the flash model slot
 * (frozen weights of the backbone the engine runs) when the record has
 * TRAIN_RECORD_WEIGHTS_IN_SLOT: they are read from flash, never copied to SRAM. A dense layer
 * that trains its first R input channels keeps only those columns in the image (off_trained);
 * a depthwise one may not train its weights. */

typedef struct {
    const layer_record_t *record;
    float input_scale, output_scale, lr;
    int8_t *weights;        /* the whole [Cout][Cin] / [KH][KW][C] array: in the image, or the slot */
    int8_t *trained;        /* the trainable first R input channels (row stride trained_stride) */
    int32_t trained_stride; /* Cin when they are part of `weights`, R when split off (off_trained) */
    int32_t *bias;
    const int32_t *multiplier, *shift;
    const float *weight_scales;
    int32_t positions, out_positions, out_size; /* input positions, output positions */
    int32_t out_h, out_w, pad_h, pad_w;         /* depthwise, conv: SAME output size and padding */
    int8_t *out;     /* output: a forward buffer (the last layer's: the logits); residual: kept whole */
    float *grad;     /* dL/d(output), or NULL where backward does not reach */
    int8_t *saved;   /* int8 [P][R]: the input channels the weight gradient reads, or NULL (in place) */
    uint8_t *mask;   /* 1 bit per output: act_min < y < act_max; NULL where backward does not reach */
    float *deferred; /* TRAIN_FLAG_DEFER_UPDATES: the trained weights' then the biases' scaled gradients */
} layer_t;

static uint8_t arena[HIL_TRAINING_ARENA_BYTES] __attribute__((aligned(8)));

static struct {
    uint32_t received, total; /* of the setup image; total <= sizeof arena */
    uint32_t params_start;    /* first byte after the layer records: parameter arrays begin here */
    bool ready;
    const setup_header_t *header;
    uint32_t num_layers, arena_bytes;
    int32_t first_trained;     /* lowest layer index that trains; the last layer when none does */
    int8_t *input;             /* the arena's input block: samples that come over the link */
    const int8_t *chain_input; /* this step's input: `input`, or the engine's feature tensor */
    int32_t input_size;
    layer_t layers[TRAIN_MAX_LAYERS];
    uint32_t steps, backbone_steps;
    bool backbone_bound; /* TRAIN_BACKBONE: an empty sample runs the engine's operators [0, end_op) */
    uint32_t backbone_tensor, backbone_end_op;
    bool residual;  /* a layer reads other than the previous output, or adds: per-activation gradients */
    float *scratch; /* residual: one input gradient before it is added to its activation's */
} state;

/* ------------------------------------------------------------------ helpers */

static float bits_to_float(uint32_t bits)
{
    float value;
    memcpy(&value, &bits, sizeof value);
    return value;
}

static uint32_t align8(uint32_t n)
{
    return (n + 7u) & ~7u;
}

static uint32_t static_bytes(void)
{
    return (uint32_t)((uintptr_t)&_ebss - (uintptr_t)&_sdata) - (uint32_t)sizeof arena;
}

/* Appends text / a decimal number to a bounded message buffer. */
typedef struct {
    char text[120];
    uint32_t length;
} message_t;

static void put_text(message_t *m, const char *text)
{
    while (*text && m->length + 1 < sizeof m->text) {
        m->text[m->length++] = *text++;
    }
    m->text[m->length] = '\0';
}

static void put_u32(message_t *m, uint32_t value)
{
    char digits[11];
    int32_t n = 0;
    do {
        digits[n++] = (char)('0' + value % 10u);
        value /= 10u;
    } while (value);
    while (n > 0 && m->length + 1 < sizeof m->text) {
        m->text[m->length++] = digits[--n];
    }
    m->text[m->length] = '\0';
}

/* ------------------------------------------------------- setup and planning */

/* An array of `count` elements of `size` bytes at `offset` lies in the image's parameter area. */
static bool array_fits(uint32_t offset, uint64_t count, uint32_t size, uint32_t align)
{
    return offset % align == 0 && offset >= state.params_start && offset <= state.total &&
           count <= (state.total - offset) / size;
}

/* The parameter arrays of a parametric layer, in record order, and their element sizes; the
 * last (trained columns) exists only for split weights. */
#define LAYER_ARRAYS 6
static const char *const array_problems[LAYER_ARRAYS] = {
    "off_weights outside the parameter area",
    "off_bias outside the parameter area or unaligned",
    "off_multiplier outside the parameter area or unaligned",
    "off_shift outside the parameter area or unaligned",
    "off_weight_scales outside the parameter area or unaligned",
    "off_trained outside the parameter area"};
static const uint32_t array_sizes[LAYER_ARRAYS] = {1, 4, 4, 4, 4, 1};

static bool weights_in_slot(const layer_record_t *r)
{
    return (r->flags & TRAIN_RECORD_WEIGHTS_IN_SLOT) != 0;
}

static bool weights_split(const layer_record_t *r)
{
    return r->kind != TRAIN_KIND_AVGPOOL && weights_in_slot(r) && r->train_channels > 0;
}

static uint32_t array_offset(const layer_record_t *r, int32_t a)
{
    const uint32_t offsets[LAYER_ARRAYS] = {r->off_weights, r->off_bias,          r->off_multiplier,
                                            r->off_shift,   r->off_weight_scales, r->off_trained};
    return offsets[a];
}

/* Elements of array `a`; 0 for an array the record does not have in the image. */
static uint64_t array_count(const layer_record_t *r, int32_t a)
{
    const uint64_t kernel = (uint64_t)r->kernel_h * (uint64_t)r->kernel_w;
    const uint64_t taps = r->kind == TRAIN_KIND_DEPTHWISE ? kernel
                          : r->kind == TRAIN_KIND_CONV    ? kernel * (uint64_t)r->out_c
                                                          : (uint64_t)r->out_c;
    if (r->kind == TRAIN_KIND_ADD) { /* (input 1, input 2, output) multipliers and shifts only */
        return a == 2 || a == 3 ? 3u : 0u;
    }
    if (a == 5) { /* the trained columns: dense [Cout][R], conv [Cout][KH][KW][R] */
        return weights_split(r) ? taps * (uint64_t)r->train_channels : 0u;
    }
    return a == 0 ? taps * (uint64_t)r->in_c : (uint64_t)r->out_c;
}

/* Array `a` of record r lies in the image (the slot's weights do not). */
static bool in_image(const layer_record_t *r, int32_t a)
{
    return r->kind != TRAIN_KIND_AVGPOOL && !(a == 0 && weights_in_slot(r)) && array_count(r, a) > 0;
}

static const char *check_slot_weights(const layer_record_t *r)
{
#ifdef HIL_MODEL_SLOT_SIZE
    if (r->train_channels < 0 ||
        (r->train_channels != 0 && r->kind != TRAIN_KIND_DENSE && r->kind != TRAIN_KIND_CONV)) {
        return "depthwise weights in the model slot cannot train";
    }
    const uint64_t count = array_count(r, 0);
    return r->off_weights <= HIL_MODEL_SLOT_SIZE && count <= HIL_MODEL_SLOT_SIZE - r->off_weights
               ? NULL
               : "off_weights outside the model slot";
#else
    (void)r;
    return "no model slot in this build";
#endif
}

static const char *check_arrays(const layer_record_t *r)
{
    if ((r->flags & ~TRAIN_RECORD_WEIGHTS_IN_SLOT) != 0) {
        return "unknown record flags";
    }
    if (weights_in_slot(r)) {
        const char *problem = check_slot_weights(r);
        if (problem) {
            return problem;
        }
    }
    for (int32_t a = 0; a < LAYER_ARRAYS; a++) {
        if (in_image(r, a) &&
            !array_fits(array_offset(r, a), array_count(r, a), array_sizes[a], array_sizes[a])) {
            return array_problems[a];
        }
    }
    const int32_t *shift = (const int32_t *)(const void *)(arena + r->off_shift);
    const int32_t shifts = r->kind == TRAIN_KIND_ADD ? 3 : r->out_c;
    for (int32_t j = 0; j < shifts; j++) {
        if (shift[j] < -31 || shift[j] > 31) {
            return "shift value outside -31..31"; /* what the requantization can shift by */
        }
    }
    return NULL;
}

/* Training writes weights and biases in place: no array may overlap another (a shift table
 * under a bias would change with every step). */
static bool arrays_overlap(const layer_record_t *records, uint32_t count)
{
    for (uint32_t i = 0; i < count * LAYER_ARRAYS; i++) {
        const layer_record_t *ri = &records[i / LAYER_ARRAYS];
        if (!in_image(ri, (int32_t)(i % LAYER_ARRAYS))) {
            continue;
        }
        const uint64_t start_i = array_offset(ri, (int32_t)(i % LAYER_ARRAYS));
        const uint64_t end_i =
            start_i + array_count(ri, (int32_t)(i % LAYER_ARRAYS)) * array_sizes[i % LAYER_ARRAYS];
        for (uint32_t k = i + 1; k < count * LAYER_ARRAYS; k++) {
            const layer_record_t *rk = &records[k / LAYER_ARRAYS];
            if (!in_image(rk, (int32_t)(k % LAYER_ARRAYS))) {
                continue;
            }
            const uint64_t start_k = array_offset(rk, (int32_t)(k % LAYER_ARRAYS));
            const uint64_t end_k =
                start_k + array_count(rk, (int32_t)(k % LAYER_ARRAYS)) * array_sizes[k % LAYER_ARRAYS];
            if (start_i < end_k && start_k < end_i) {
                return true;
            }
        }
    }
    return false;
}

static const char *check_record(const layer_record_t *r, const layer_record_t *previous)
{
    if (r->kind != TRAIN_KIND_DENSE && r->kind != TRAIN_KIND_AVGPOOL && r->kind != TRAIN_KIND_DEPTHWISE &&
        r->kind != TRAIN_KIND_CONV && r->kind != TRAIN_KIND_ADD) {
        return "unsupported layer kind";
    }
    if (r->kind == TRAIN_KIND_CONV &&
        (r->kernel_h < 1 || r->kernel_h > 7 || r->kernel_w < 1 || r->kernel_w > 7 || r->kernel_h % 2 == 0 ||
         r->kernel_w % 2 == 0 || r->stride < 1 || r->stride > 2)) {
        return "conv: odd kernel <= 7, stride 1/2";
    }
    if (r->kind == TRAIN_KIND_DEPTHWISE &&
        (r->out_c != r->in_c || r->kernel_h < 1 || r->kernel_h > 7 || r->kernel_w < 1 || r->kernel_w > 7 ||
         r->kernel_h % 2 == 0 || r->kernel_w % 2 == 0 || r->stride < 1 || r->stride > 2)) {
        return "depthwise: multiplier 1, odd kernel <= 7, stride 1/2";
    }
    if (r->in_h < 1 || r->in_w < 1 || r->in_c < 1 || r->out_c < 1 || r->in_h > 4096 || r->in_w > 4096 ||
        r->in_c > 65536 || r->out_c > 65536) {
        return "layer dimensions out of range";
    }
    /* Activations must fit the arena; this also keeps every size below in 32 bits. */
    const uint64_t positions = (uint64_t)r->in_h * (uint64_t)r->in_w;
    if (positions * (uint64_t)r->in_c > sizeof arena || positions * (uint64_t)r->out_c > sizeof arena) {
        return "layer activations larger than the training arena";
    }
    if (previous) {
        const int32_t previous_positions =
            previous->kind == TRAIN_KIND_AVGPOOL ? 1
            : previous->kind == TRAIN_KIND_DEPTHWISE || previous->kind == TRAIN_KIND_CONV
                ? ((previous->in_h + previous->stride - 1) / previous->stride) *
                      ((previous->in_w + previous->stride - 1) / previous->stride)
                : previous->in_h * previous->in_w;
        if (r->in_c != previous->out_c || r->in_h * r->in_w != previous_positions) {
            return "a layer's input is not the previous layer's output";
        }
    }
    if (r->act_min < -128 || r->act_max > 127 || r->act_min > r->act_max) {
        return "activation range outside int8";
    }
    if (r->input_zp < -128 || r->input_zp > 127 || r->output_zp < -128 || r->output_zp > 127) {
        return "zero point outside int8";
    }
    if (r->kind == TRAIN_KIND_AVGPOOL) { /* no parameters: nothing to train, nothing in the slot */
        if (r->flags != 0 || r->train_bias != 0 || r->train_channels != 0) {
            return "pooling has no parameters to train or read";
        }
        return r->out_c == r->in_c ? NULL : "pooling must keep the channel count";
    }
    if (r->kind == TRAIN_KIND_ADD && (r->flags != 0 || r->train_bias != 0 || r->train_channels != 0)) {
        return "add has no parameters to train or read";
    }
    if (r->kind == TRAIN_KIND_ADD && r->out_c != r->in_c) {
        return "add must keep the channel count";
    }
    const char *bad_array = check_arrays(r);
    if (bad_array) {
        return bad_array;
    }
    if (r->train_channels < 0 || r->train_channels > r->in_c || (r->train_bias & ~1) != 0) {
        return "sparse-update fields out of range";
    }
    return NULL;
}

static void bind_layer(layer_t *layer, const layer_record_t *r)
{
    layer->record = r;
    layer->input_scale = bits_to_float(r->input_scale);
    layer->output_scale = bits_to_float(r->output_scale);
    layer->lr = bits_to_float(r->lr);
    layer->positions = r->in_h * r->in_w; /* of the input: pooling reduces them to one */
    layer->out_h = r->in_h;
    layer->out_w = r->in_w;
    layer->pad_h = layer->pad_w = 0;
    if (r->kind == TRAIN_KIND_DEPTHWISE || r->kind == TRAIN_KIND_CONV) { /* TFLM SAME padding */
        layer->out_h = (r->in_h + r->stride - 1) / r->stride;
        layer->out_w = (r->in_w + r->stride - 1) / r->stride;
        const int32_t total_h = (layer->out_h - 1) * r->stride + r->kernel_h - r->in_h;
        const int32_t total_w = (layer->out_w - 1) * r->stride + r->kernel_w - r->in_w;
        layer->pad_h = total_h > 0 ? total_h / 2 : 0;
        layer->pad_w = total_w > 0 ? total_w / 2 : 0;
    }
    layer->out_positions = r->kind == TRAIN_KIND_AVGPOOL ? 1 : layer->out_h * layer->out_w;
    layer->out_size = layer->out_positions * r->out_c;
    const bool parametric = r->kind != TRAIN_KIND_AVGPOOL && r->kind != TRAIN_KIND_ADD;
    const bool requantizes = r->kind != TRAIN_KIND_AVGPOOL;
    layer->weights = !parametric ? NULL : (int8_t *)(arena + r->off_weights);
#ifdef HIL_MODEL_SLOT_ADDR
    if (parametric && weights_in_slot(r)) { /* read only: training writes `trained` alone */
        layer->weights = (int8_t *)(uintptr_t)(HIL_MODEL_SLOT_ADDR + r->off_weights);
    }
#endif
    layer->trained = weights_split(r) ? (int8_t *)(arena + r->off_trained) : layer->weights;
    layer->trained_stride = weights_split(r) ? r->train_channels : r->in_c;
    layer->bias = parametric ? (int32_t *)(void *)(arena + r->off_bias) : NULL;
    layer->multiplier = requantizes ? (const int32_t *)(void *)(arena + r->off_multiplier) : NULL;
    layer->shift = requantizes ? (const int32_t *)(void *)(arena + r->off_shift) : NULL;
    layer->weight_scales = parametric ? (const float *)(void *)(arena + r->off_weight_scales) : NULL;
}

/* Output height and width of a checked record (SAME: ceil(in / stride); pooling: 1 x 1). */
static void record_out_hw(const layer_record_t *r, int32_t *h, int32_t *w)
{
    const bool strided = r->kind == TRAIN_KIND_DEPTHWISE || r->kind == TRAIN_KIND_CONV;
    *h = r->kind == TRAIN_KIND_AVGPOOL ? 1 : strided ? (r->in_h + r->stride - 1) / r->stride : r->in_h;
    *w = r->kind == TRAIN_KIND_AVGPOOL ? 1 : strided ? (r->in_w + r->stride - 1) / r->stride : r->in_w;
}

/* Activation m (0: the chain input, else the output of the already checked record m-1) has
 * the shape of record r's input. */
static bool activation_matches(const setup_header_t *h, const layer_record_t *records, int32_t m,
                               const layer_record_t *r)
{
    int32_t height = (int32_t)h->in_h, width = (int32_t)h->in_w, channels = (int32_t)h->in_c;
    if (m > 0) {
        record_out_hw(&records[m - 1], &height, &width);
        channels = records[m - 1].out_c;
    }
    return height == r->in_h && width == r->in_w && channels == r->in_c;
}

/* input_ref and (add) skip_ref name earlier activations of the record's input shape; a chained
 * input (input_ref = i) is checked with the previous record by check_record. */
static const char *check_refs(const setup_header_t *h, const layer_record_t *records, uint32_t i)
{
    const layer_record_t *r = &records[i];
    if (r->input_ref < 0 || r->input_ref > (int32_t)i) {
        return "input_ref is not an earlier activation";
    }
    if (r->kind != TRAIN_KIND_ADD && (r->skip_ref != 0 || r->skip_zp != 0)) {
        return "skip_ref/skip_zp set on a layer that is not an add";
    }
    if (r->kind == TRAIN_KIND_ADD && (r->skip_ref < 0 || r->skip_ref > (int32_t)i)) {
        return "skip_ref is not an earlier activation";
    }
    if (r->kind == TRAIN_KIND_ADD && (r->skip_zp < -128 || r->skip_zp > 127)) {
        return "skip_zp outside int8";
    }
    if (i && r->input_ref != (int32_t)i && !activation_matches(h, records, r->input_ref, r)) {
        return "input_ref's shape is not the layer's input";
    }
    if (r->kind == TRAIN_KIND_ADD && !activation_matches(h, records, r->skip_ref, r)) {
        return "skip_ref's shape is not the layer's input";
    }
    return NULL;
}

/* Parses the image; returns an error text or NULL. */
static const char *parse_setup(message_t *why)
{
    const setup_header_t *h = (const setup_header_t *)(void *)arena;
    state.header = NULL;
    state.num_layers = 0;
    if (state.total < sizeof *h || h->magic != TRAIN_MAGIC || h->version != TRAIN_VERSION) {
        return "not a training setup image of version 1";
    }
    if (h->total != state.total || h->num_layers < 1 || h->num_layers > TRAIN_MAX_LAYERS ||
        sizeof *h + h->num_layers * sizeof(layer_record_t) > state.total) {
        return "image size or layer count inconsistent";
    }
    state.params_start = (uint32_t)(sizeof *h + h->num_layers * sizeof(layer_record_t));
    const layer_record_t *records = (const layer_record_t *)(const void *)(arena + sizeof *h);
    if ((uint32_t)records[0].in_h != h->in_h || (uint32_t)records[0].in_w != h->in_w ||
        (uint32_t)records[0].in_c != h->in_c) {
        return "header input shape differs from the first layer's";
    }
    state.first_trained = -1;
    state.residual = false;
    for (uint32_t i = 0; i < h->num_layers; i++) {
        const char *problem = check_refs(h, records, i);
        if (!problem) {
            const bool chained = i && records[i].input_ref == (int32_t)i;
            problem = check_record(&records[i], chained ? &records[i - 1] : NULL);
        }
        if (problem) {
            put_text(why, "layer ");
            put_u32(why, i);
            put_text(why, ": ");
            put_text(why, problem);
            return why->text;
        }
        bind_layer(&state.layers[i], &records[i]);
        state.residual =
            state.residual || records[i].kind == TRAIN_KIND_ADD || records[i].input_ref != (int32_t)i;
        if (state.first_trained < 0 && records[i].kind != TRAIN_KIND_AVGPOOL &&
            (records[i].train_bias || records[i].train_channels > 0)) {
            state.first_trained = (int32_t)i;
        }
    }
    if (arrays_overlap(records, h->num_layers)) {
        return "parameter arrays overlap";
    }
    if ((uint32_t)state.layers[h->num_layers - 1].out_size != h->num_classes) {
        return "the last layer's output size is not num_classes";
    }
    if (state.first_trained < 0) {
        state.first_trained = (int32_t)h->num_layers - 1;
    }
    state.header = h;
    state.num_layers = h->num_layers;
    state.input_size = records[0].in_h * records[0].in_w * records[0].in_c;
    return NULL;
}

/* Trained weights of a layer (the deferred buffer holds them first, then its biases). */
static uint32_t trained_weights(const layer_record_t *r)
{
    const uint32_t kernel = (uint32_t)(r->kernel_h * r->kernel_w);
    const uint32_t per_channel = r->kind == TRAIN_KIND_DEPTHWISE ? kernel
                                 : r->kind == TRAIN_KIND_CONV    ? kernel * (uint32_t)r->out_c
                                                                 : (uint32_t)r->out_c;
    return r->kind == TRAIN_KIND_AVGPOOL || r->kind == TRAIN_KIND_ADD
               ? 0u
               : per_channel * (uint32_t)r->train_channels;
}

static uint32_t deferred_count(const layer_t *layer)
{
    const layer_record_t *r = layer->record;
    return r->kind == TRAIN_KIND_AVGPOOL || r->kind == TRAIN_KIND_ADD
               ? 0u
               : trained_weights(r) + (r->train_bias ? (uint32_t)r->out_c : 0u);
}

/* Bytes of the saved input channels of layer i: a layer in backward's reach that trains weights
 * keeps its first R input channels, int8 [P][R]; layer 0 reads the chain's input in place (the
 * input block or the engine's tensor, unchanged through the step), as does any layer reading
 * a[0] (input_ref 0: in a plain chain, layer 0); bias-only and frozen layers keep none. */
static uint32_t saved_input_bytes(uint32_t i)
{
    const layer_t *layer = &state.layers[i];
    const layer_record_t *r = layer->record;
    const bool reached = (int32_t)i >= state.first_trained;
    return reached && r->input_ref > 0 && r->kind != TRAIN_KIND_AVGPOOL && r->train_channels > 0
               ? (uint32_t)layer->positions * (uint32_t)r->train_channels
               : 0u;
}

/* Bytes of layer i's clip mask: one bit per output element of a parametric layer backward reaches. */
static uint32_t mask_bytes(uint32_t i)
{
    const layer_t *layer = &state.layers[i];
    const bool reached = (int32_t)i >= state.first_trained;
    return reached && layer->record->kind != TRAIN_KIND_AVGPOOL ? ((uint32_t)layer->out_size + 7u) / 8u : 0u;
}

/* The scratch block, by liveness: the forward pass holds only a layer's input and output, so the
 * outputs of layers 0..n-2 alternate between two buffers of the largest (one for a two-layer
 * chain); once the forward pass is done they are dead (backward reads the saved channels, masks
 * and logits), and backward's gradient buffers take the same bytes. Its two float32 buffers of
 * the largest reached output alternate, the last layer's output gradient in the first (one
 * buffer when only the last layer is reached). Returns the block's size. */
static uint32_t plan_scratch(bool assign, uint32_t offset)
{
    const uint32_t n = state.num_layers;
    uint32_t largest_out = 0;
    for (uint32_t i = 0; i + 1u < n; i++) {
        const uint32_t bytes = align8((uint32_t)state.layers[i].out_size);
        largest_out = bytes > largest_out ? bytes : largest_out;
    }
    const uint32_t forward_bytes = (n - 1u > 2u ? 2u : n - 1u) * largest_out;
    uint32_t largest = 0;
    for (uint32_t i = (uint32_t)state.first_trained; i < n; i++) {
        const uint32_t bytes = align8(4u * (uint32_t)state.layers[i].out_size);
        largest = bytes > largest ? bytes : largest;
    }
    const uint32_t gradient_bytes = ((int32_t)n - state.first_trained > 1 ? 2u : 1u) * largest;
    for (uint32_t i = 0; assign && i < n; i++) {
        if (i + 1u < n) {
            state.layers[i].out = (int8_t *)(arena + offset + (i % 2u) * largest_out);
        }
        const uint32_t parity = (n - 1u - i) % 2u;
        state.layers[i].grad =
            (int32_t)i >= state.first_trained ? (float *)(void *)(arena + offset + parity * largest) : NULL;
    }
    return forward_bytes > gradient_bytes ? forward_bytes : gradient_bytes;
}

/* Backward visits the readers of an activation from the last layer down, an add's first operand
 * before its second: is layer i's read of activation m (as the add's second operand: `skip`) the
 * first one visited? It writes that gradient; later readers add to it. */
static bool first_reader(int32_t i, int32_t m, bool skip)
{
    const layer_record_t *r = state.layers[i].record;
    if (skip && r->input_ref == m) {
        return false;
    }
    for (int32_t j = i + 1; j < (int32_t)state.num_layers; j++) {
        const layer_record_t *later = state.layers[j].record;
        if (later->input_ref == m || (later->kind == TRAIN_KIND_ADD && later->skip_ref == m)) {
            return false;
        }
    }
    return true;
}

static uint32_t plan_scratch_residual(bool assign, uint32_t offset);

/* Arena plan (harness/training/setup.py arena_layout): image, input, per layer the saved input
 * channels and the clip mask, the logits, the scratch block (forward buffers, then gradients;
 * a residual chain's by plan_scratch_residual), and without operator reordering the deferred
 * updates; each block 8-byte aligned. */
static uint32_t plan_arena(bool assign)
{
    uint32_t offset = align8(state.total);
    const bool from_backbone = (state.header->flags & TRAIN_FLAG_INPUT_FROM_BACKBONE) != 0;
    if (assign) {
        state.input = from_backbone ? NULL : (int8_t *)(arena + offset);
    }
    offset += from_backbone ? 0u : align8((uint32_t)state.input_size);
    for (uint32_t i = 0; i < state.num_layers; i++) {
        const uint32_t saved = saved_input_bytes(i), mask = mask_bytes(i);
        if (assign) {
            state.layers[i].saved = saved ? (int8_t *)(arena + offset) : NULL;
            state.layers[i].mask = mask ? arena + offset + align8(saved) : NULL;
        }
        offset += align8(saved) + align8(mask);
    }
    if (assign) {
        state.layers[state.num_layers - 1u].out = (int8_t *)(arena + offset);
    }
    offset += align8((uint32_t)state.layers[state.num_layers - 1u].out_size);
    offset += state.residual ? plan_scratch_residual(assign, offset) : plan_scratch(assign, offset);
    for (uint32_t i = 0; i < state.num_layers; i++) {
        const uint32_t count =
            (state.header->flags & TRAIN_FLAG_DEFER_UPDATES) ? deferred_count(&state.layers[i]) : 0u;
        if (assign) {
            state.layers[i].deferred = count ? (float *)(void *)(arena + offset) : NULL;
        }
        offset += align8(4u * count);
    }
    return offset;
}

/* Residual chains: the last layer that reads activation m (1..n) as its input or an add's skip
 * operand; m-1 (its writer) when none does. Forward frees a[m] after this layer; backward
 * creates a[m]'s gradient at it (the first reader backward visits). */
static int32_t last_reader(int32_t m)
{
    int32_t last = m - 1;
    for (int32_t j = m; j < (int32_t)state.num_layers; j++) {
        const layer_record_t *r = state.layers[j].record;
        if (r->input_ref == m || (r->kind == TRAIN_KIND_ADD && r->skip_ref == m)) {
            last = j;
        }
    }
    return last;
}

/* A liveness plan's buffers (one per layer): where each lies, which are live, the bytes spanned. */
typedef struct {
    uint32_t offset[TRAIN_MAX_LAYERS], size[TRAIN_MAX_LAYERS];
    bool live[TRAIN_MAX_LAYERS];
    uint32_t peak;
} placement_t;

/* Does [at, at + size) miss every live buffer? */
static bool clear_of_live(const placement_t *p, uint32_t at, uint32_t size)
{
    for (uint32_t o = 0; o < TRAIN_MAX_LAYERS; o++) {
        if (p->live[o] && at < p->offset[o] + p->size[o] && p->offset[o] < at + size) {
            return false;
        }
    }
    return true;
}

/* First fit: buffer b of `size` bytes at the lowest of 0 and the live buffers' ends that is clear. */
static void place(placement_t *p, uint32_t b, uint32_t size)
{
    uint32_t best = clear_of_live(p, 0u, size) ? 0u : UINT32_MAX;
    for (uint32_t c = 0; c < TRAIN_MAX_LAYERS; c++) {
        const uint32_t at = p->offset[c] + p->size[c];
        if (p->live[c] && at < best && clear_of_live(p, at, size)) {
            best = at;
        }
    }
    p->offset[b] = best;
    p->size[b] = size;
    p->live[b] = true;
    p->peak = best + size > p->peak ? best + size : p->peak;
}

/* Forward in a residual chain: layer i's output (i < n-1) is placed while its inputs are held;
 * after layer i, every activation whose last reader is i is free. */
static void plan_forward(placement_t *p)
{
    memset(p, 0, sizeof *p);
    for (int32_t i = 0; i + 1 < (int32_t)state.num_layers; i++) {
        place(p, (uint32_t)i, align8((uint32_t)state.layers[i].out_size));
        for (int32_t m = 1; m <= i + 1; m++) {
            if (last_reader(m) == i) {
                p->live[m - 1] = false;
            }
        }
    }
}

/* Backward in a residual chain visits layers n-1 .. t; at layer j, the float32 output gradient of
 * every reached layer i with last_reader(i+1) == j is placed (in order of i), and after layer j
 * its own output gradient is free. */
static void plan_gradients(placement_t *p)
{
    const int32_t t = state.first_trained, n = (int32_t)state.num_layers;
    memset(p, 0, sizeof *p);
    for (int32_t j = n - 1; j >= t; j--) {
        for (int32_t i = t; i < n; i++) {
            if (last_reader(i + 1) == j) {
                place(p, (uint32_t)i, align8(4u * (uint32_t)state.layers[i].out_size));
            }
        }
        p->live[j] = false;
    }
}

/* Bytes of `scratch`: the largest input gradient computed by a reader that backward does not visit
 * first (not an add) of an activation past t; the first one writes in place. */
static uint32_t residual_scratch_bytes(void)
{
    uint32_t largest = 0;
    for (uint32_t i = (uint32_t)state.first_trained; i < state.num_layers; i++) {
        const layer_t *layer = &state.layers[i];
        const layer_record_t *r = layer->record;
        if (r->kind != TRAIN_KIND_ADD && r->input_ref > state.first_trained &&
            !first_reader((int32_t)i, r->input_ref, false)) {
            const uint32_t bytes = align8(4u * (uint32_t)(layer->positions * r->in_c));
            largest = bytes > largest ? bytes : largest;
        }
    }
    return largest;
}

/* The residual chain's scratch block (docs/training_spec.md section 4), by liveness as the plain
 * chain's: forward, the activations a[1..n-1], each held until its last reader is done;
 * backward (the activations dead: it reads the saved channels, masks and logits), the reached
 * output gradients, each from its first writer to its layer (both placed first fit), then
 * `scratch`. Returns the block's size. */
static uint32_t plan_scratch_residual(bool assign, uint32_t offset)
{
    placement_t forward_plan, gradient_plan;
    plan_forward(&forward_plan);
    plan_gradients(&gradient_plan);
    const uint32_t scratch = residual_scratch_bytes();
    for (uint32_t i = 0; assign && i < state.num_layers; i++) {
        layer_t *layer = &state.layers[i];
        if (i + 1u < state.num_layers) {
            layer->out = (int8_t *)(arena + offset + forward_plan.offset[i]);
        }
        layer->grad = (int32_t)i >= state.first_trained
                          ? (float *)(void *)(arena + offset + gradient_plan.offset[i])
                          : NULL;
    }
    if (assign) {
        state.scratch = scratch ? (float *)(void *)(arena + offset + gradient_plan.peak) : NULL;
    }
    const uint32_t backward_bytes = gradient_plan.peak + scratch;
    return forward_plan.peak > backward_bytes ? forward_plan.peak : backward_bytes;
}

/* ---------------------------------------------------------------- forward */

/* Activation m: 0 the chain's input, else layer m-1's output. */
static const int8_t *activation(int32_t m)
{
    return m == 0 ? state.chain_input : state.layers[m - 1].out;
}

static int32_t tap(int32_t o, int32_t k, int32_t stride, int32_t pad, int32_t size);

/* Weight (tap j*KH*KW + kh*KW + kw, input channel k) of a conv: the trained columns where they are
 * split off, else the array. */
static int32_t conv_weight(const layer_t *layer, int32_t tap_index, int32_t k)
{
    return k < layer->record->train_channels ? layer->trained[tap_index * layer->trained_stride + k]
                                             : layer->weights[tap_index * layer->record->in_c + k];
}

/* hil_conv2d_s8's arithmetic on split weights: the int32 sums wrap, so their order does not
 * matter; then bias, requantization, zero point and clamp as the kernel. */
static void conv_forward_split(const layer_t *layer, const int8_t *x)
{
    const layer_record_t *r = layer->record;
    for (int32_t oh = 0; oh < layer->out_h; oh++) {
        for (int32_t ow = 0; ow < layer->out_w; ow++) {
            for (int32_t j = 0; j < r->out_c; j++) {
                int32_t acc = 0;
                for (int32_t kh = 0; kh < r->kernel_h; kh++) {
                    const int32_t ih = tap(oh, kh, r->stride, layer->pad_h, r->in_h);
                    for (int32_t kw = 0; ih >= 0 && kw < r->kernel_w; kw++) {
                        const int32_t iw = tap(ow, kw, r->stride, layer->pad_w, r->in_w);
                        if (iw < 0) {
                            continue;
                        }
                        const int8_t *in = x + (ih * r->in_w + iw) * r->in_c;
                        const int32_t tap_index = (j * r->kernel_h + kh) * r->kernel_w + kw;
                        for (int32_t k = 0; k < r->in_c; k++) {
                            acc = hil_wrap_add(acc, conv_weight(layer, tap_index, k) *
                                                        ((int32_t)in[k] - r->input_zp));
                        }
                    }
                }
                acc = hil_wrap_add(acc, layer->bias[j]);
                acc = hil_mbqm(acc, layer->multiplier[j], layer->shift[j]);
                acc = hil_wrap_add(acc, r->output_zp);
                layer->out[(oh * layer->out_w + ow) * r->out_c + j] =
                    (int8_t)hil_clamp_i32(acc, r->act_min, r->act_max);
            }
        }
    }
}

static void conv_forward(const layer_t *layer, const int8_t *x)
{
    if (weights_split(layer->record)) {
        conv_forward_split(layer, x);
        return;
    }
    const layer_record_t *r = layer->record;
    const hil_conv_params_t params = {.stride_h = r->stride,
                                      .stride_w = r->stride,
                                      .dilation_h = 1,
                                      .dilation_w = 1,
                                      .pad_h = layer->pad_h,
                                      .pad_w = layer->pad_w,
                                      .depth_multiplier = 1,
                                      .input_offset = -r->input_zp,
                                      .output_offset = r->output_zp,
                                      .act_min = r->act_min,
                                      .act_max = r->act_max};
    const hil_requant_t requant = {layer->multiplier, layer->shift, 1};
    const hil_dims_t dims = {1, r->in_h, r->in_w, r->in_c};
    const hil_dims_t filter_dims = {r->out_c, r->kernel_h, r->kernel_w, r->in_c};
    const hil_dims_t out_dims = {1, layer->out_h, layer->out_w, r->out_c};
    (void)hil_conv2d_s8(&params, &requant, &dims, x, &filter_dims, layer->weights, layer->bias, &out_dims,
                        layer->out);
}

/* TFLM int8 ADD of a[input_ref] (x) and a[skip_ref]; multipliers/shifts: input 1, input 2, output. */
static void add_forward(const layer_t *layer, const int8_t *x)
{
    const layer_record_t *r = layer->record;
    const hil_add_params_t params = {.input1_offset = -r->input_zp,
                                     .input2_offset = -r->skip_zp,
                                     .output_offset = r->output_zp,
                                     .left_shift = 20,
                                     .input1_multiplier = layer->multiplier[0],
                                     .input1_shift = layer->shift[0],
                                     .input2_multiplier = layer->multiplier[1],
                                     .input2_shift = layer->shift[1],
                                     .output_multiplier = layer->multiplier[2],
                                     .output_shift = layer->shift[2],
                                     .act_min = r->act_min,
                                     .act_max = r->act_max};
    const hil_shape_t shape = {1, {layer->out_size}};
    (void)hil_add_s8(&params, &shape, x, &shape, activation(r->skip_ref), &shape, layer->out);
}

/* Weight (j, k) of a dense layer: the trained columns where they are split off, else the array. */
static int32_t dense_weight(const layer_t *layer, int32_t j, int32_t k)
{
    return k < layer->record->train_channels ? layer->trained[j * layer->trained_stride + k]
                                             : layer->weights[j * layer->record->in_c + k];
}

/* hil_fully_connected_s8's arithmetic, operation for operation, on split weights. */
static void dense_forward_split(const layer_t *layer, const int8_t *x)
{
    const layer_record_t *r = layer->record;
    for (int32_t p = 0; p < layer->positions; p++) {
        for (int32_t j = 0; j < r->out_c; j++) {
            int32_t acc = 0;
            for (int32_t k = 0; k < r->in_c; k++) {
                acc = hil_wrap_add(acc,
                                   dense_weight(layer, j, k) * ((int32_t)x[p * r->in_c + k] - r->input_zp));
            }
            acc = hil_wrap_add(acc, layer->bias[j]);
            acc = hil_mbqm(acc, layer->multiplier[j], layer->shift[j]);
            acc = hil_wrap_add(acc, r->output_zp);
            layer->out[p * r->out_c + j] = (int8_t)hil_clamp_i32(acc, r->act_min, r->act_max);
        }
    }
}

/* Keeps the first R input channels of x, [P][R], for the layer's weight gradient (spec 4). */
static void save_input_channels(const layer_t *layer, const int8_t *x)
{
    const int32_t cin = layer->record->in_c, kept = layer->record->train_channels;
    for (int32_t p = 0; layer->saved && p < layer->positions; p++) {
        memcpy(layer->saved + p * kept, x + p * cin, (size_t)kept);
    }
}

/* Keeps the straight-through clip mask of the layer's output, bit e%8 of byte e/8. */
static void save_mask(const layer_t *layer)
{
    const layer_record_t *r = layer->record;
    if (!layer->mask) {
        return;
    }
    memset(layer->mask, 0, ((size_t)layer->out_size + 7u) / 8u);
    for (int32_t e = 0; e < layer->out_size; e++) {
        if (layer->out[e] > r->act_min && layer->out[e] < r->act_max) {
            layer->mask[e / 8] = (uint8_t)(layer->mask[e / 8] | (1u << (e % 8)));
        }
    }
}

static void forward(void)
{
    for (uint32_t i = 0; i < state.num_layers; i++) {
        layer_t *layer = &state.layers[i];
        const layer_record_t *r = layer->record;
        const int8_t *x = activation(r->input_ref);
        save_input_channels(layer, x);
        if (r->kind == TRAIN_KIND_CONV) {
            conv_forward(layer, x);
        } else if (r->kind == TRAIN_KIND_ADD) {
            add_forward(layer, x);
        } else if (r->kind == TRAIN_KIND_DENSE && weights_split(r)) {
            dense_forward_split(layer, x);
        } else if (r->kind == TRAIN_KIND_DENSE) {
            const hil_fc_params_t params = {.input_offset = -r->input_zp,
                                            .filter_offset = 0,
                                            .output_offset = r->output_zp,
                                            .act_min = r->act_min,
                                            .act_max = r->act_max};
            const hil_requant_t requant = {layer->multiplier, layer->shift, 1};
            (void)hil_fully_connected_s8(&params, &requant, layer->positions, r->in_c, r->out_c, x,
                                         layer->weights, layer->bias, layer->out);
        } else if (r->kind == TRAIN_KIND_DEPTHWISE) {
            const hil_conv_params_t params = {.stride_h = r->stride,
                                              .stride_w = r->stride,
                                              .dilation_h = 1,
                                              .dilation_w = 1,
                                              .pad_h = layer->pad_h,
                                              .pad_w = layer->pad_w,
                                              .depth_multiplier = 1,
                                              .input_offset = -r->input_zp,
                                              .output_offset = r->output_zp,
                                              .act_min = r->act_min,
                                              .act_max = r->act_max};
            const hil_requant_t requant = {layer->multiplier, layer->shift, 1};
            const hil_dims_t dims = {1, r->in_h, r->in_w, r->in_c};
            const hil_dims_t filter_dims = {1, r->kernel_h, r->kernel_w, r->in_c};
            const hil_dims_t out_dims = {1, layer->out_h, layer->out_w, r->in_c};
            (void)hil_depthwise_conv2d_s8(&params, &requant, &dims, x, &filter_dims, layer->weights,
                                          layer->bias, &out_dims, layer->out);
        } else {
            const hil_pool_params_t params = {.stride_h = r->in_h,
                                              .stride_w = r->in_w,
                                              .filter_h = r->in_h,
                                              .filter_w = r->in_w,
                                              .act_min = r->act_min,
                                              .act_max = r->act_max};
            const hil_dims_t in_dims = {1, r->in_h, r->in_w, r->in_c};
            const hil_dims_t out_dims = {1, 1, 1, r->out_c};
            (void)hil_avgpool_s8(&params, &in_dims, x, &out_dims, layer->out);
        }
        save_mask(layer);
    }
}

static uint32_t argmax_logits(void)
{
    const layer_t *last = &state.layers[state.num_layers - 1];
    uint32_t best = 0;
    for (int32_t j = 1; j < last->out_size; j++) {
        if (last->out[j] > last->out[best]) {
            best = (uint32_t)j;
        }
    }
    return best;
}

/* --------------------------------------------------------------- backward */

/* Softmax cross-entropy on the dequantized logits; leaves dL/dlogit in the last grad buffer. */
static float loss_and_gradient(uint32_t label)
{
    layer_t *last = &state.layers[state.num_layers - 1];
    float *g = last->grad;
    const int32_t n = last->out_size;
    for (int32_t j = 0; j < n; j++) {
        g[j] = last->output_scale * (float)((int32_t)last->out[j] - last->record->output_zp);
    }
    float top = g[0];
    for (int32_t j = 1; j < n; j++) {
        if (g[j] > top) {
            top = g[j];
        }
    }
    const float label_logit = g[label];
    float total = 0.0f;
    for (int32_t j = 0; j < n; j++) {
        g[j] = hil_expf(g[j] - top);
        total = total + g[j];
    }
    const float loss = train_logf(total) - (label_logit - top);
    for (int32_t j = 0; j < n; j++) {
        g[j] = g[j] / total;
    }
    g[label] = g[label] - 1.0f;
    return loss;
}

static void avgpool_backward(const layer_t *layer, float *grad_in)
{
    const int32_t channels = layer->record->in_c;
    const float count = (float)layer->positions;
    for (int32_t c = 0; c < channels; c++) {
        const float value = layer->grad[c] / count;
        for (int32_t p = 0; p < layer->positions; p++) {
            grad_in[p * channels + c] = value;
        }
    }
}

/* The straight-through estimator, from the clip mask the forward pass kept. */
static void dense_mask(layer_t *layer)
{
    for (int32_t e = 0; e < layer->out_size; e++) {
        if (!(layer->mask[e / 8] & (1u << (e % 8)))) {
            layer->grad[e] = 0.0f;
        }
    }
}

/* dL/dx with the weights as they were in the forward pass (before this layer's update). */
static void dense_input_gradient(const layer_t *layer, float *grad_in)
{
    const int32_t cin = layer->record->in_c, cout = layer->record->out_c;
    for (int32_t p = 0; p < layer->positions; p++) {
        float *row = grad_in + p * cin;
        for (int32_t k = 0; k < cin; k++) {
            row[k] = 0.0f;
        }
        for (int32_t j = 0; j < cout; j++) {
            const float scaled = layer->grad[p * cout + j] * layer->weight_scales[j];
            for (int32_t k = 0; k < cin; k++) {
                row[k] = row[k] + scaled * (float)dense_weight(layer, j, k);
            }
        }
    }
}

static int8_t saturate_int8(int32_t value)
{
    return (int8_t)(value < -128 ? -128 : value > 127 ? 127 : value);
}

static void bias_update(layer_t *layer, bool qas);
static void apply_bias(layer_t *layer, int32_t j, float scaled);

/* One weight step rounded to nearest, or stochastically (TRAIN_FLAG_STOCHASTIC_ROUNDING) from the
 * layer's stream of this step and the weight's index in its step array (row-major [Cout][R] or
 * [KH][KW][R]): the same u on the host whatever order the updates run in. */
static int32_t weight_step(const layer_t *layer, float value, int32_t index)
{
    if ((state.header->flags & TRAIN_FLAG_STOCHASTIC_ROUNDING) == 0) {
        return train_round(value, WEIGHT_STEP_LIMIT);
    }
    const uint32_t base =
        train_rounding_base(state.header->rounding_seed, state.steps, (uint32_t)(layer - state.layers));
    return train_round_stochastic(value, WEIGHT_STEP_LIMIT, train_uniform(base, (uint32_t)index));
}

/* Sparse in-place SGD with quantization-aware scaling (or plain gradients without TRAIN_FLAG_QAS);
 * x: the saved input channels, row stride x_stride. */
static void dense_update(layer_t *layer, const int8_t *x, int32_t x_stride, bool qas)
{
    const layer_record_t *r = layer->record;
    const int32_t cout = r->out_c;
    const float s_x = layer->input_scale, lr = layer->lr;
    for (int32_t j = 0; j < cout; j++) {
        const float s_w = layer->weight_scales[j];
        for (int32_t k = 0; k < r->train_channels; k++) {
            float acc = 0.0f;
            for (int32_t p = 0; p < layer->positions; p++) {
                acc = acc + layer->grad[p * cout + j] * (float)((int32_t)x[p * x_stride + k] - r->input_zp);
            }
            float scaled = acc * s_x;
            scaled = qas ? scaled / s_w : scaled * s_w;
            if (layer->deferred) {
                layer->deferred[j * r->train_channels + k] = scaled;
                continue;
            }
            const int32_t step = weight_step(layer, lr * scaled, j * r->train_channels + k);
            int8_t *w = &layer->trained[j * layer->trained_stride + k];
            *w = saturate_int8((int32_t)*w - step);
        }
    }
    bias_update(layer, qas);
}

/* Input row of output row `o` at kernel row `k`, or -1 outside the input (TFLM skips padding). */
static int32_t tap(int32_t o, int32_t k, int32_t stride, int32_t pad, int32_t size)
{
    const int32_t i = o * stride - pad + k;
    return i >= 0 && i < size ? i : -1;
}

/* Depthwise dL/dx with the weights of the forward pass: each tap inside the input adds
 * (G * s_W) * W, output positions row-major, then kernel rows and columns. */
static void depthwise_input_gradient(const layer_t *layer, float *grad_in)
{
    const layer_record_t *r = layer->record;
    const int32_t c_count = r->in_c;
    for (int32_t e = 0; e < layer->positions * c_count; e++) {
        grad_in[e] = 0.0f;
    }
    for (int32_t oh = 0; oh < layer->out_h; oh++) {
        for (int32_t ow = 0; ow < layer->out_w; ow++) {
            const float *g = layer->grad + (oh * layer->out_w + ow) * c_count;
            for (int32_t kh = 0; kh < r->kernel_h; kh++) {
                const int32_t ih = tap(oh, kh, r->stride, layer->pad_h, r->in_h);
                for (int32_t kw = 0; ih >= 0 && kw < r->kernel_w; kw++) {
                    const int32_t iw = tap(ow, kw, r->stride, layer->pad_w, r->in_w);
                    if (iw < 0) {
                        continue;
                    }
                    float *row = grad_in + (ih * r->in_w + iw) * c_count;
                    const int8_t *w = layer->weights + (kh * r->kernel_w + kw) * c_count;
                    for (int32_t c = 0; c < c_count; c++) {
                        row[c] = row[c] + (g[c] * layer->weight_scales[c]) * (float)w[c];
                    }
                }
            }
        }
    }
}

/* Depthwise: A[kh][kw][c] sums, over output positions in row-major order, the taps that fall
 * inside the input (TFLM skips the padding). */
static void depthwise_update(layer_t *layer, const int8_t *x, int32_t x_stride, bool qas)
{
    const layer_record_t *r = layer->record;
    const int32_t c_count = r->in_c;
    for (int32_t c = 0; c < r->train_channels; c++) {
        const float s_w = layer->weight_scales[c];
        for (int32_t kh = 0; kh < r->kernel_h; kh++) {
            for (int32_t kw = 0; kw < r->kernel_w; kw++) {
                float acc = 0.0f;
                for (int32_t oh = 0; oh < layer->out_h; oh++) {
                    const int32_t ih = tap(oh, kh, r->stride, layer->pad_h, r->in_h);
                    for (int32_t ow = 0; ih >= 0 && ow < layer->out_w; ow++) {
                        const int32_t iw = tap(ow, kw, r->stride, layer->pad_w, r->in_w);
                        if (iw < 0) {
                            continue;
                        }
                        acc = acc + layer->grad[(oh * layer->out_w + ow) * c_count + c] *
                                        (float)((int32_t)x[(ih * r->in_w + iw) * x_stride + c] - r->input_zp);
                    }
                }
                float scaled = acc * layer->input_scale;
                scaled = qas ? scaled / s_w : scaled * s_w;
                if (layer->deferred) {
                    layer->deferred[(c * r->kernel_h + kh) * r->kernel_w + kw] = scaled;
                    continue;
                }
                const int32_t step =
                    weight_step(layer, layer->lr * scaled, (kh * r->kernel_w + kw) * r->train_channels + c);
                int8_t *weight = &layer->weights[(kh * r->kernel_w + kw) * c_count + c];
                *weight = saturate_int8((int32_t)*weight - step);
            }
        }
    }
    bias_update(layer, qas);
}

/* Conv dL/dx with the weights of the forward pass: output positions row-major, kernel rows and
 * columns, output channels, input channels (docs/training_spec.md 5.2). */
static void conv_input_gradient(const layer_t *layer, float *grad_in)
{
    const layer_record_t *r = layer->record;
    const int32_t cin = r->in_c, cout = r->out_c;
    for (int32_t e = 0; e < layer->positions * cin; e++) {
        grad_in[e] = 0.0f;
    }
    for (int32_t oh = 0; oh < layer->out_h; oh++) {
        for (int32_t ow = 0; ow < layer->out_w; ow++) {
            const float *g = layer->grad + (oh * layer->out_w + ow) * cout;
            for (int32_t kh = 0; kh < r->kernel_h; kh++) {
                const int32_t ih = tap(oh, kh, r->stride, layer->pad_h, r->in_h);
                for (int32_t kw = 0; ih >= 0 && kw < r->kernel_w; kw++) {
                    const int32_t iw = tap(ow, kw, r->stride, layer->pad_w, r->in_w);
                    if (iw < 0) {
                        continue;
                    }
                    float *row = grad_in + (ih * r->in_w + iw) * cin;
                    for (int32_t j = 0; j < cout; j++) {
                        const float scaled = g[j] * layer->weight_scales[j];
                        const int32_t tap_index = (j * r->kernel_h + kh) * r->kernel_w + kw;
                        for (int32_t k = 0; k < cin; k++) {
                            row[k] = row[k] + scaled * (float)conv_weight(layer, tap_index, k);
                        }
                    }
                }
            }
        }
    }
}

/* Conv: A[j][kh][kw][k] for the first R input channels sums, over output positions row-major, the
 * taps inside the input. */
static void conv_update(layer_t *layer, const int8_t *x, int32_t x_stride, bool qas)
{
    const layer_record_t *r = layer->record;
    const int32_t cout = r->out_c, trained = r->train_channels;
    for (int32_t j = 0; j < cout; j++) {
        const float s_w = layer->weight_scales[j];
        for (int32_t kh = 0; kh < r->kernel_h; kh++) {
            for (int32_t kw = 0; kw < r->kernel_w; kw++) {
                const int32_t tap_index = (j * r->kernel_h + kh) * r->kernel_w + kw;
                for (int32_t k = 0; k < trained; k++) {
                    float acc = 0.0f;
                    for (int32_t oh = 0; oh < layer->out_h; oh++) {
                        const int32_t ih = tap(oh, kh, r->stride, layer->pad_h, r->in_h);
                        for (int32_t ow = 0; ih >= 0 && ow < layer->out_w; ow++) {
                            const int32_t iw = tap(ow, kw, r->stride, layer->pad_w, r->in_w);
                            if (iw < 0) {
                                continue;
                            }
                            acc = acc +
                                  layer->grad[(oh * layer->out_w + ow) * cout + j] *
                                      (float)((int32_t)x[(ih * r->in_w + iw) * x_stride + k] - r->input_zp);
                        }
                    }
                    float scaled = acc * layer->input_scale;
                    scaled = qas ? scaled / s_w : scaled * s_w;
                    if (layer->deferred) {
                        layer->deferred[tap_index * trained + k] = scaled;
                        continue;
                    }
                    int8_t *weight = &layer->trained[tap_index * layer->trained_stride + k];
                    *weight = saturate_int8((int32_t)*weight -
                                            weight_step(layer, layer->lr * scaled, tap_index * trained + k));
                }
            }
        }
    }
    bias_update(layer, qas);
}

static void bias_update(layer_t *layer, bool qas)
{
    const layer_record_t *r = layer->record;
    if (!r->train_bias) {
        return;
    }
    const int32_t cout = r->out_c;
    for (int32_t j = 0; j < cout; j++) {
        float total = 0.0f;
        for (int32_t p = 0; p < layer->out_positions; p++) {
            total = total + layer->grad[p * cout + j];
        }
        const float both = layer->input_scale * layer->weight_scales[j];
        const float scaled = qas ? total / both : total * both;
        if (layer->deferred) {
            layer->deferred[trained_weights(r) + (uint32_t)j] = scaled;
            continue;
        }
        apply_bias(layer, j, scaled);
    }
}

static void apply_bias(layer_t *layer, int32_t j, float scaled)
{
    const int64_t updated = (int64_t)layer->bias[j] - train_round(layer->lr * scaled, BIAS_STEP_LIMIT);
    layer->bias[j] = (int32_t)(updated < INT32_MIN ? INT32_MIN : updated > INT32_MAX ? INT32_MAX : updated);
}

static void apply_weight(const layer_t *layer, int8_t *w, int32_t index, float scaled)
{
    *w = saturate_int8((int32_t)*w - weight_step(layer, layer->lr * scaled, index));
}

/* TRAIN_FLAG_DEFER_UPDATES: applies the kept updates once backward is done (the steps they would have
 * taken at once: no later computation of the step reads these parameters). */
static void apply_deferred(layer_t *layer)
{
    const layer_record_t *r = layer->record;
    const int32_t cin = r->in_c;
    for (int32_t j = 0; r->kind == TRAIN_KIND_DENSE && j < r->out_c; j++) {
        for (int32_t k = 0; k < r->train_channels; k++) {
            apply_weight(layer, &layer->trained[j * layer->trained_stride + k], j * r->train_channels + k,
                         layer->deferred[j * r->train_channels + k]);
        }
    }
    for (int32_t c = 0; r->kind == TRAIN_KIND_DEPTHWISE && c < r->train_channels; c++) {
        for (int32_t kh = 0; kh < r->kernel_h; kh++) {
            for (int32_t kw = 0; kw < r->kernel_w; kw++) {
                apply_weight(layer, &layer->weights[(kh * r->kernel_w + kw) * cin + c],
                             (kh * r->kernel_w + kw) * r->train_channels + c,
                             layer->deferred[(c * r->kernel_h + kh) * r->kernel_w + kw]);
            }
        }
    }
    const int32_t taps = r->kind == TRAIN_KIND_CONV ? r->out_c * r->kernel_h * r->kernel_w : 0;
    for (int32_t e = 0; e < taps * r->train_channels; e++) { /* conv: [Cout][KH][KW][R] */
        apply_weight(layer,
                     &layer->trained[(e / r->train_channels) * layer->trained_stride + e % r->train_channels],
                     e, layer->deferred[e]);
    }
    for (int32_t j = 0; r->train_bias && j < r->out_c; j++) {
        apply_bias(layer, j, layer->deferred[trained_weights(r) + (uint32_t)j]);
    }
}

/* Gacc[e] = Gacc[e] + g[e]: an input gradient into the gradient of the activation read. */
static void accumulate(float *into, const float *g, int32_t count)
{
    for (int32_t e = 0; e < count; e++) {
        into[e] = into[e] + g[e];
    }
}

/* An add's gradient to an operand: written by its first reader, added by the others. */
static void pass_gradient(float *into, const float *g, int32_t count, bool first)
{
    if (first) {
        memcpy(into, g, (size_t)count * sizeof *into);
        return;
    }
    accumulate(into, g, count);
}

/* A layer's input gradient into grad_in (residual chains: `scratch`; weights before its update), then
 * its update from x (the saved input channels, or the input in place; row stride x_stride). */
static void backward_through(layer_t *layer, const int8_t *x, int32_t x_stride, float *grad_in, bool qas)
{
    const int32_t kind = layer->record->kind;
    if (kind == TRAIN_KIND_AVGPOOL) {
        if (grad_in) {
            avgpool_backward(layer, grad_in);
        }
        return;
    }
    dense_mask(layer);
    if (grad_in) {
        if (kind == TRAIN_KIND_CONV) {
            conv_input_gradient(layer, grad_in);
        } else if (kind == TRAIN_KIND_DEPTHWISE) {
            depthwise_input_gradient(layer, grad_in);
        } else {
            dense_input_gradient(layer, grad_in);
        }
    }
    if (kind == TRAIN_KIND_CONV) {
        conv_update(layer, x, x_stride, qas);
    } else if (kind == TRAIN_KIND_DEPTHWISE) {
        depthwise_update(layer, x, x_stride, qas);
    } else {
        dense_update(layer, x, x_stride, qas);
    }
}

/* Residual chains: every activation backward reaches has a gradient, summed over its readers
 * (the later layers, visited first): it is zeroed when its slot is taken (at its first reader,
 * plan_scratch_residual), the first reader writes it, in place where it computes an input
 * gradient; the others compute theirs in `scratch` and add. Updates read the saved input
 * channels, or a[0] in place. */
static void backward_residual(void)
{
    const bool qas = (state.header->flags & TRAIN_FLAG_QAS) != 0;
    const int32_t t = state.first_trained, n = (int32_t)state.num_layers;
    for (int32_t i = n - 1; i >= t; i--) {
        for (int32_t m = t; m < n - 1; m++) { /* the last layer's gradient is the loss's */
            if (last_reader(m + 1) == i) {
                memset(state.layers[m].grad, 0, (size_t)state.layers[m].out_size * sizeof(float));
            }
        }
        layer_t *layer = &state.layers[i];
        const layer_record_t *r = layer->record;
        const int32_t in_size = layer->positions * r->in_c;
        if (r->kind == TRAIN_KIND_ADD) {
            dense_mask(layer);
            if (r->input_ref > t) {
                pass_gradient(state.layers[r->input_ref - 1].grad, layer->grad, in_size,
                              first_reader(i, r->input_ref, false));
            }
            if (r->skip_ref > t) {
                pass_gradient(state.layers[r->skip_ref - 1].grad, layer->grad, in_size,
                              first_reader(i, r->skip_ref, true));
            }
            continue;
        }
        const bool needed = r->input_ref > t, first = needed && first_reader(i, r->input_ref, false);
        float *into = needed ? state.layers[r->input_ref - 1].grad : NULL;
        const int8_t *x = layer->saved ? layer->saved : state.chain_input;
        backward_through(layer, x, layer->saved ? r->train_channels : r->in_c,
                         first    ? into
                         : needed ? state.scratch
                                  : NULL,
                         qas);
        if (needed && !first) {
            accumulate(into, state.scratch, in_size);
        }
    }
    for (int32_t i = 0; i < n; i++) {
        if (state.layers[i].deferred) {
            apply_deferred(&state.layers[i]);
        }
    }
}

/* Layer by layer from the output: each gradient is applied as soon as it exists. */
static void backward(void)
{
    if (state.residual) {
        backward_residual();
        return;
    }
    const bool qas = (state.header->flags & TRAIN_FLAG_QAS) != 0;
    for (int32_t i = (int32_t)state.num_layers - 1; i >= state.first_trained; i--) {
        layer_t *layer = &state.layers[i];
        float *grad_in = i > state.first_trained ? state.layers[i - 1].grad : NULL;
        /* The saved input channels [P][R], or layer 0's input in place [P][Cin] (unread by a
         * layer that trains no weights). */
        const int8_t *x = layer->saved ? layer->saved : state.chain_input;
        const int32_t x_stride = layer->saved ? layer->record->train_channels : layer->record->in_c;
        if (layer->record->kind == TRAIN_KIND_AVGPOOL) {
            if (grad_in) {
                avgpool_backward(layer, grad_in);
            }
            continue;
        }
        if (layer->record->kind == TRAIN_KIND_CONV) {
            backward_through(layer, x, x_stride, grad_in, qas);
            continue;
        }
        dense_mask(layer);
        if (layer->record->kind == TRAIN_KIND_DEPTHWISE) {
            if (grad_in) {
                depthwise_input_gradient(layer, grad_in);
            }
            depthwise_update(layer, x, x_stride, qas);
            continue;
        }
        if (grad_in) {
            dense_input_gradient(layer, grad_in);
        }
        dense_update(layer, x, x_stride, qas);
    }
    for (uint32_t i = 0; i < state.num_layers; i++) {
        if (state.layers[i].deferred) {
            apply_deferred(&state.layers[i]);
        }
    }
}

/* ---------------------------------------------------------------- handlers */

/* Forgets the setup image: nothing loaded, nothing to train or read. */
static void forget_setup(void)
{
    state.ready = false;
    state.backbone_bound = false;
    state.received = 0;
    state.total = 0;
    state.header = NULL;
    state.num_layers = 0;
}

/* Refuses a TRAIN_LOAD piece: a refused load leaves no setup behind (TRAIN_READ and TRAIN_BEGIN
 * then see an empty image). */
static void refuse_load(const link_message_t *request, uint16_t code, const message_t *why)
{
    forget_setup();
    link_send_error(request->seq, code, why->text);
}

static void train_load(const link_message_t *request)
{
    link_train_load_request_t args;
    message_t m = {.length = 0};
    if (request->length < sizeof args) {
        put_text(&m, "TRAIN_LOAD: short request");
        refuse_load(request, LINK_ERR_BAD_REQUEST, &m);
        return;
    }
    memcpy(&args, request->payload, sizeof args);
    const uint32_t length = request->length - (uint32_t)sizeof args;
    if (args.offset == 0) {
        forget_setup();
        state.total = args.total;
        /* Painted so that TRAIN_MEMORY measures the arena's real high-water mark. */
        memset(arena, (int)ARENA_PAINT, sizeof arena);
    }
    if (args.total > sizeof arena) {
        put_text(&m, "TRAIN_LOAD total ");
        put_u32(&m, args.total);
        put_text(&m, " B > training arena ");
        put_u32(&m, (uint32_t)sizeof arena);
        put_text(&m, " B");
        refuse_load(request, LINK_ERR_TRAIN_OVER_BUDGET, &m);
        return;
    }
    if (args.total != state.total) {
        put_text(&m, "TRAIN_LOAD total ");
        put_u32(&m, args.total);
        put_text(&m, " differs from first piece's ");
        put_u32(&m, state.total);
    } else if (args.offset != state.received) {
        put_text(&m, "TRAIN_LOAD offset ");
        put_u32(&m, args.offset);
        put_text(&m, " out of sequence, expected ");
        put_u32(&m, state.received);
    } else if (length > state.total - args.offset) {
        put_text(&m, "TRAIN_LOAD data: ");
        put_u32(&m, length);
        put_text(&m, " B at offset ");
        put_u32(&m, args.offset);
        put_text(&m, " run past total ");
        put_u32(&m, state.total);
    }
    if (m.length) {
        refuse_load(request, LINK_ERR_BAD_REQUEST, &m);
        return;
    }
    memcpy(arena + args.offset, request->payload + sizeof args, length);
    state.received += length;
    link_train_load_reply_t reply = {.received = state.received};
    link_reply(request, &reply, sizeof reply);
}

static void train_begin(const link_message_t *request)
{
    state.ready = false;
    message_t why = {.length = 0};
    const char *problem =
        state.received == state.total && state.total ? parse_setup(&why) : "setup image incomplete";
    if (problem) {
        link_send_error(request->seq, LINK_ERR_TRAIN_BAD_SETUP, problem);
        return;
    }
    state.arena_bytes = plan_arena(false);
    const uint32_t peak = static_bytes() + state.arena_bytes + HIL_TRAINING_STACK_RESERVE;
    /* Error texts stay under the link's 64 characters. */
    if (state.arena_bytes > sizeof arena) {
        message_t m = {.length = 0};
        put_text(&m, "plan arena ");
        put_u32(&m, state.arena_bytes);
        put_text(&m, " B > training arena ");
        put_u32(&m, (uint32_t)sizeof arena);
        put_text(&m, " B");
        link_send_error(request->seq, LINK_ERR_TRAIN_OVER_BUDGET, m.text);
        return;
    }
    if (peak > state.header->budget) {
        message_t m = {.length = 0};
        put_text(&m, "plan needs ");
        put_u32(&m, peak);
        put_text(&m, " B SRAM, budget ");
        put_u32(&m, state.header->budget);
        put_text(&m, " B, arena ");
        put_u32(&m, state.arena_bytes);
        put_text(&m, " B");
        link_send_error(request->seq, LINK_ERR_TRAIN_OVER_BUDGET, m.text);
        return;
    }
    (void)plan_arena(true);
    state.steps = 0;
    state.backbone_steps = 0;
    state.backbone_bound = false;
    state.ready = true;
    metrics_report_training(state.arena_bytes);
    link_train_begin_reply_t reply = {.arena_bytes = state.arena_bytes,
                                      .arena_capacity = (uint32_t)sizeof arena,
                                      .static_bytes = static_bytes(),
                                      .stack_reserve = HIL_TRAINING_STACK_RESERVE,
                                      .planned_peak = peak,
                                      .budget = state.header->budget};
    link_reply(request, &reply, sizeof reply);
}

/* Checks a sample before anything is touched; sends the error and returns false if it is bad. */
static bool sample_ok(const link_message_t *request, uint32_t length, bool has_label, uint32_t label)
{
    message_t m = {.length = 0};
    if (!state.ready) {
        link_send_error(request->seq, LINK_ERR_TRAIN_NOT_READY,
                        "no training setup begun (TRAIN_LOAD, TRAIN_BEGIN)");
        return false;
    }
    if (length == 0 && state.backbone_bound) {
        if (has_label && label >= state.header->num_classes) {
            put_text(&m, "label ");
            put_u32(&m, label);
            put_text(&m, " out of range");
            link_send_error(request->seq, LINK_ERR_TRAIN_BAD_SAMPLE, m.text);
            return false;
        }
        return true;
    }
    if (length != (uint32_t)state.input_size) {
        put_text(&m, "sample has ");
        put_u32(&m, length);
        put_text(&m, " bytes, the setup's input takes ");
        put_u32(&m, (uint32_t)state.input_size);
    } else if (has_label && label >= state.header->num_classes) {
        put_text(&m, "label ");
        put_u32(&m, label);
        put_text(&m, " out of range: ");
        put_u32(&m, state.header->num_classes);
        put_text(&m, " classes");
    } else {
        return true;
    }
    link_send_error(request->seq, LINK_ERR_TRAIN_BAD_SAMPLE, m.text);
    return false;
}

/* The chain's input for this step: the sample from the link, or (an empty sample after
 * TRAIN_BACKBONE) the frozen backbone run on the device, its output used where the engine wrote
 * it. Sends the error and returns false when the engine cannot provide it. */
static bool take_input(const link_message_t *request, const uint8_t *sample, uint32_t length)
{
    if (length && !state.input) {
        link_send_error(request->seq, LINK_ERR_TRAIN_BAD_SAMPLE,
                        "this setup takes its input from the backbone");
        return false;
    }
    if (length) {
        memcpy(state.input, sample, (size_t)state.input_size);
        state.chain_input = state.input;
        return true;
    }
    const char *why = "backbone: no engine in this build";
    int8_t *features = engine_service_tensor
                           ? engine_service_tensor(state.backbone_tensor, (uint32_t)state.input_size, &why)
                           : NULL;
    if (!features || engine_service_run(state.backbone_end_op) != 0) {
        link_send_error(request->seq, LINK_ERR_TRAIN_BAD_SAMPLE,
                        features ? "backbone: a kernel failed" : why);
        return false;
    }
    state.chain_input = features;
    return true;
}

static void train_backbone(const link_message_t *request)
{
    link_train_backbone_request_t args;
    if (request->length != sizeof args) {
        link_send_error(request->seq, LINK_ERR_BAD_REQUEST, "TRAIN_BACKBONE: wrong request size");
        return;
    }
    memcpy(&args, request->payload, sizeof args);
    if (!state.ready) {
        link_send_error(request->seq, LINK_ERR_TRAIN_NOT_READY,
                        "no training setup begun (TRAIN_LOAD, TRAIN_BEGIN)");
        return;
    }
    const char *why = "backbone: no engine in this build";
    state.backbone_bound = false;
    if (!engine_service_tensor || !engine_service_tensor(args.tensor, (uint32_t)state.input_size, &why)) {
        link_send_error(request->seq, LINK_ERR_TRAIN_BAD_SETUP, why);
        return;
    }
    state.backbone_bound = true;
    state.backbone_tensor = args.tensor;
    state.backbone_end_op = args.end_op;
    link_train_backbone_reply_t reply = {.input_bytes = (uint32_t)state.input_size};
    link_reply(request, &reply, sizeof reply);
}

static void train_step(const link_message_t *request)
{
    link_train_step_request_t args;
    if (request->length < sizeof args) {
        link_send_error(request->seq, LINK_ERR_BAD_REQUEST, "TRAIN_STEP: short request");
        return;
    }
    memcpy(&args, request->payload, sizeof args);
    if (!sample_ok(request, request->length - (uint32_t)sizeof args, true, args.label)) {
        return;
    }
    const uint32_t length = request->length - (uint32_t)sizeof args;
    metrics_region_begin(METRICS_REGION_TRAINING_STEP);
    if (!take_input(request, request->payload + sizeof args, length)) {
        metrics_region_end(METRICS_REGION_TRAINING_STEP);
        return;
    }
    forward();
    const uint32_t predicted = argmax_logits();
    const float loss = loss_and_gradient(args.label);
    backward();
    metrics_region_end(METRICS_REGION_TRAINING_STEP);
    state.steps++;
    state.backbone_steps += length == 0 ? 1u : 0u;
    link_train_step_reply_t reply = {
        .predicted = predicted, .steps = state.steps, .backbone_steps = state.backbone_steps};
    memcpy(&reply.loss_bits, &loss, sizeof loss);
    link_reply(request, &reply, sizeof reply);
}

static void train_predict(const link_message_t *request)
{
    if (!sample_ok(request, request->length, false, 0)) {
        return;
    }
    if (!take_input(request, request->payload, request->length)) {
        return;
    }
    forward();
    const layer_t *last = &state.layers[state.num_layers - 1];
    uint8_t reply[sizeof(link_train_predict_reply_t) + 256];
    const uint32_t count = (uint32_t)last->out_size > 256u ? 256u : (uint32_t)last->out_size;
    const uint32_t predicted = argmax_logits();
    memcpy(reply, &predicted, sizeof predicted);
    memcpy(reply + sizeof predicted, last->out, count);
    link_reply(request, reply, (uint32_t)sizeof predicted + count);
}

static void train_read(const link_message_t *request)
{
    link_train_read_request_t args;
    if (request->length != sizeof args) {
        link_send_error(request->seq, LINK_ERR_BAD_REQUEST, "TRAIN_READ: wrong request size");
        return;
    }
    memcpy(&args, request->payload, sizeof args);
    /* Only bytes TRAIN_LOAD wrote: received <= total <= sizeof arena. */
    if (args.offset > state.received || args.length > state.received - args.offset) {
        message_t m = {.length = 0};
        put_text(&m, "TRAIN_READ offset/length outside the loaded image (");
        put_u32(&m, state.received);
        put_text(&m, " B)");
        link_send_error(request->seq, LINK_ERR_BAD_REQUEST, m.text);
        return;
    }
    link_reply(request, arena + args.offset, args.length);
}

/* Bytes of the arena up to the last one written since TRAIN_LOAD painted it. */
static uint32_t arena_high_water(void)
{
    uint32_t end = (uint32_t)sizeof arena;
    while (end > 0 && arena[end - 1u] == ARENA_PAINT) {
        end--;
    }
    return end;
}

static void train_memory(const link_message_t *request)
{
    const uint32_t high_water = hal_stack_high_water();
    const uint32_t arena_bytes = state.ready ? state.arena_bytes : 0;
    const uint32_t pool = engine_service_pool_size ? engine_service_pool_size() : 0;
    const uint32_t pool_used = engine_service_high_water ? engine_service_high_water() : 0;
    const uint32_t arena_used = arena_high_water();
    link_train_memory_reply_t reply = {.static_bytes = static_bytes(),
                                       .arena_bytes = arena_bytes,
                                       .arena_capacity = (uint32_t)sizeof arena,
                                       .stack_high_water = high_water,
                                       .measured_peak =
                                           static_bytes() - pool + pool_used + arena_used + high_water,
                                       .budget = state.header ? state.header->budget : 0,
                                       .engine_pool_bytes = pool,
                                       .engine_high_water = pool_used,
                                       .arena_high_water = arena_used,
                                       .backbone_steps = state.backbone_steps};
    link_reply(request, &reply, sizeof reply);
}

const command_t training_commands[] = {
    {LINK_MSG_TRAIN_LOAD, train_load},         {LINK_MSG_TRAIN_BEGIN, train_begin},
    {LINK_MSG_TRAIN_STEP, train_step},         {LINK_MSG_TRAIN_PREDICT, train_predict},
    {LINK_MSG_TRAIN_READ, train_read},         {LINK_MSG_TRAIN_MEMORY, train_memory},
    {LINK_MSG_TRAIN_BACKBONE, train_backbone}, {0, NULL},
};

#endif

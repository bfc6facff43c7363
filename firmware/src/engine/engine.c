/* Loading (validation of everything the engine will trust later) and invocation. */
#include "engine.h"

#include <string.h>

#include "../link/crc32.h"
#if HIL_HAVE_METRICS
#include "../metrics/metrics.h"
#endif

#ifdef __AVR__
#include <avr/pgmspace.h>
#endif

static uint32_t scratch_used; /* bytes of model->scratch handed out since engine_scratch_reset() */

void engine_model_read(const engine_model_t *model, uint32_t offset, void *dst, uint32_t length)
{
#ifdef __AVR__
    if (model->in_program_memory) {
        memcpy_P(dst, model->image + offset, (size_t)length);
        return;
    }
#endif
    memcpy(dst, model->image + offset, (size_t)length);
}

void engine_scratch_reset(void)
{
    scratch_used = 0;
}

const void *engine_model_data(const engine_model_t *model, uint32_t offset, uint32_t length)
{
    if (!model->in_program_memory) {
        return model->image + offset;
    }
    uint32_t start = (scratch_used + 3u) & ~3u; /* the kernels read int32 constants */
    if (start > model->scratch_capacity || length > model->scratch_capacity - start) {
        return NULL;
    }
    scratch_used = start + length;
    engine_model_read(model, offset, model->scratch + start, length);
    return model->scratch + start;
}

engine_tensor_t engine_tensor(const engine_model_t *model, uint32_t index)
{
    engine_tensor_t tensor;
    engine_model_read(model, model->header.tensors_offset + index * (uint32_t)sizeof tensor, &tensor,
                      sizeof tensor);
    return tensor;
}

void *engine_tensor_data(const engine_model_t *model, const engine_tensor_t *tensor)
{
    if (tensor->storage == ENGINE_STORAGE_ARENA) {
        return model->arena + tensor->offset;
    }
    if (tensor->storage == ENGINE_STORAGE_MODEL) {
        return (void *)(uintptr_t)engine_model_data(model, tensor->offset, tensor->bytes);
    }
    return NULL;
}

#if ENGINE_TERSE_ERRORS_ON
#define describe(what, index, name, field) ""
#else
static char error_text[64]; /* the MODEL_INVALID text; the link sends at most 64 bytes */

static char *append(char *at, const char *text)
{
    while (*text != '\0' && at < error_text + sizeof error_text - 1) {
        *at++ = *text++;
    }
    return at;
}

/* "operator 3 (PAD): invalid before", "tensor 7: invalid offset". */
static const char *describe(const char *what, uint32_t index, const char *name, const char *field)
{
    char digits[11];
    char *first = digits + sizeof digits - 1u;
    *first = '\0';
    do { /* least significant digit last */
        *--first = (char)('0' + index % 10u);
        index /= 10u;
    } while (index != 0);
    char *at = append(append(error_text, what), first);
    if (name != NULL) {
        at = append(append(append(at, " ("), name), ")");
    }
    *append(append(at, ": invalid "), field) = '\0';
    return error_text;
}
#endif

/* Bound of a tensor's bytes, and of its dims' product with zeros counted as ones (a tensor with
 * no elements still has its other dims in the kernels' loops): with every extent and the
 * effective filter size (ops.c) below 2^30, no kernel's int32 index arithmetic overflows. */
#define ENGINE_MAX_TENSOR_BYTES 0x3FFFFFFFu

/* NULL when tensor record `t` is consistent, else the field at fault: a known type and rank, dims
 * whose extent stays below ENGINE_MAX_TENSOR_BYTES, bytes equal to the shape's, and the bytes
 * inside the arena (aligned for the element type) or inside the model. */
static const char *check_tensor(const engine_model_t *model, const engine_tensor_t *t)
{
    if (t->storage == ENGINE_STORAGE_NONE) {
        return NULL;
    }
    uint32_t size = engine_element_size(t->type);
    if (size == 0) {
        return ENGINE_TEXT("type");
    }
    if (t->rank > ENGINE_MAX_RANK) {
        return ENGINE_TEXT("rank");
    }
    uint32_t extent = 1, count = 1;
    for (uint8_t d = 0; d < t->rank; d++) {
        uint32_t dim = (uint32_t)t->dims[d];
        if (t->dims[d] < 0 || (dim > 0 && extent > (ENGINE_MAX_TENSOR_BYTES / size) / dim)) {
            return ENGINE_TEXT("dims");
        }
        extent *= dim > 0 ? dim : 1u;
        count *= dim;
    }
    if (count * size != t->bytes) {
        return ENGINE_TEXT("bytes");
    }
    if (t->storage == ENGINE_STORAGE_ARENA) {
        if (!engine_inside(t->offset, t->bytes, model->header.arena_size)) {
            return ENGINE_TEXT("offset");
        }
        return t->offset % size == 0 ? NULL : ENGINE_TEXT("offset alignment");
    }
    if (t->storage == ENGINE_STORAGE_MODEL) {
        if (!engine_inside(t->offset, t->bytes, model->header.total_size)) {
            return ENGINE_TEXT("offset");
        }
        return t->offset % 4u == 0 ? NULL : ENGINE_TEXT("offset alignment");
    }
    return ENGINE_TEXT("storage");
}

/* The model's input and output tensor indices. */
static int io_indices_valid(const engine_model_t *model)
{
    const engine_header_t *h = &model->header;
    for (uint32_t i = 0; i < (uint32_t)h->num_inputs + h->num_outputs; i++) {
        uint16_t index;
        engine_model_read(model, h->io_offset + 2u * i, &index, sizeof index);
        if (index >= h->num_tensors) {
            return 0;
        }
    }
    return 1;
}

static const char *check_header(const engine_header_t *h, uint32_t max_size)
{
    if (memcmp(h->magic, ENGINE_MAGIC, sizeof h->magic) != 0) {
        return ENGINE_TEXT("no packed model (bad magic)");
    }
    if (h->version != ENGINE_FORMAT_VERSION || h->header_size != sizeof(engine_header_t)) {
        return ENGINE_TEXT("unsupported packed format version");
    }
    if (h->total_size < sizeof(engine_header_t) || h->total_size > max_size) {
        return ENGINE_TEXT("model size out of range");
    }
    if (!engine_inside(h->tensors_offset, (uint32_t)h->num_tensors * sizeof(engine_tensor_t),
                       h->total_size) ||
        !engine_inside(h->ops_offset, (uint32_t)h->num_ops * sizeof(engine_op_t), h->total_size) ||
        !engine_inside(h->io_offset, 2u * ((uint32_t)h->num_inputs + h->num_outputs), h->total_size) ||
        h->tensors_offset % 4u != 0 || h->ops_offset % 4u != 0) {
        return ENGINE_TEXT("model tables out of bounds");
    }
    return NULL;
}

/* CRC-32 of the image after the crc32 field, read in small pieces (works from program memory). */
static uint32_t image_crc(const engine_model_t *model)
{
    uint8_t piece[32];
    uint32_t crc = CRC32_INIT;
    for (uint32_t at = ENGINE_CRC_START; at < model->header.total_size; at += sizeof piece) {
        uint32_t n =
            model->header.total_size - at < sizeof piece ? model->header.total_size - at : sizeof piece;
        engine_model_read(model, at, piece, n);
        crc = crc32_update(crc, piece, (size_t)n);
    }
    return crc32_final(crc);
}

int32_t engine_load(engine_model_t *model, const uint8_t *image, uint32_t max_size, int in_program_memory,
                    uint8_t *arena, uint32_t arena_capacity, const char **why)
{
    model->image = image;
    model->arena = arena;
    model->arena_capacity = arena_capacity;
    model->in_program_memory = (uint8_t)(in_program_memory != 0);
    model->scratch = arena;
    model->scratch_capacity = 0;
    *why = max_size < sizeof(engine_header_t) ? ENGINE_TEXT("no room for a model") : NULL;
    if (*why == NULL) {
        engine_model_read(model, 0, &model->header, sizeof model->header);
        *why = check_header(&model->header, max_size);
    }
    if (*why == NULL) {
        *why = image_crc(model) == model->header.crc32 ? NULL : ENGINE_TEXT("CRC-32 mismatch");
    }
    if (*why == NULL && model->header.arena_size > arena_capacity) {
        *why = ENGINE_TEXT("arena does not fit");
        return ENGINE_ERR_ARENA;
    }
    if (*why == NULL) {
        uint32_t used = (model->header.arena_size + 3u) & ~3u;
        used = used < arena_capacity ? used : arena_capacity;
        model->scratch = arena + used;
        model->scratch_capacity = arena_capacity - used;
    }
    for (uint32_t i = 0; *why == NULL && i < model->header.num_tensors; i++) {
        engine_tensor_t t = engine_tensor(model, i);
        const char *field = check_tensor(model, &t);
        *why = field ? describe(ENGINE_TEXT("tensor "), i, NULL, field) : NULL;
    }
    if (*why == NULL && !io_indices_valid(model)) {
        *why = ENGINE_TEXT("model input/output index out of range");
    }
    for (uint32_t i = 0; *why == NULL && i < model->header.num_ops; i++) {
        engine_op_t op;
        const char *name;
        engine_model_read(model, model->header.ops_offset + i * (uint32_t)sizeof op, &op, sizeof op);
        const char *field = engine_check_op(model, &op, &name);
        *why = field ? describe(ENGINE_TEXT("operator "), i, name, field) : NULL;
    }
    return *why == NULL ? ENGINE_OK : ENGINE_ERR_INVALID;
}

int32_t engine_invoke(const engine_model_t *model, uint32_t first, uint32_t end, uint32_t *failed_op)
{
    if (end > model->header.num_ops) {
        end = model->header.num_ops;
    }
    for (uint32_t i = first; i < end; i++) {
        engine_op_t op;
        engine_model_read(model, model->header.ops_offset + i * (uint32_t)sizeof op, &op, sizeof op);
#if HIL_HAVE_METRICS
        metrics_region_begin(METRICS_REGION_LAYER(i)); /* per-layer timing, src/metrics */
#endif
        int32_t status = engine_run_op(model, &op);
#if HIL_HAVE_METRICS
        metrics_region_end(METRICS_REGION_LAYER(i));
#endif
        if (status != HIL_KERNEL_OK) {
            *failed_op = i;
            return ENGINE_ERR_KERNEL;
        }
    }
    return ENGINE_OK;
}

#include "engine_runner.h"

#include <string.h>

static uint8_t dtype_of(uint8_t engine_type)
{
    return engine_type == ENGINE_TYPE_INT8      ? HIL_DTYPE_INT8
           : engine_type == ENGINE_TYPE_FLOAT32 ? HIL_DTYPE_FLOAT32
                                                : HIL_DTYPE_INT32;
}

uint16_t engine_io_tensor(const engine_model_t *model, uint32_t position)
{
    uint16_t index;
    engine_model_read(model, model->header.io_offset + 2u * position, &index, sizeof index);
    return index;
}

int engine_describe_tensor(const engine_model_t *model, uint16_t tensor_index, hil_tensor_t *out)
{
    engine_tensor_t tensor = engine_tensor(model, tensor_index);
    out->dtype = dtype_of(tensor.type);
    out->rank = tensor.rank;
    memcpy(out->dims, tensor.dims, sizeof out->dims);
    out->scale = tensor.scale;
    out->zero_point = tensor.zero_point;
    out->data = engine_tensor_data(model, &tensor);
    out->bytes = tensor.bytes;
    return out->data ? 0 : -1;
}

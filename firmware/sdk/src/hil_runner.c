/* The model-runner service (hil_runner.h, harness/link/messages/runner.yaml). */
#include "hil_runner.h"

#include <stddef.h>
#include <string.h>

static const hil_model_runner_t *runner;

static struct {
    int active;
    uint16_t seq; /* the publishing RUNNER_INVOKE's, echoed by each RUNNER_LAYER */
    uint16_t count;
} publishing;

static struct {
    uint32_t started;
    uint32_t calls;
    uint64_t ticks;
} regions[HIL_RUNNER_REGIONS];

/* Markers for QEMU's instruction-counting plugin (tools/qemu_plugin/insn_regions.c, found by name
 * by harness/metrics/plugin.py): one byte stored at slot `id` at a region's begin and at
 * `HIL_RUNNER_PLUGIN_IDS + id` at its end. Ids 0..HIL_RUNNER_REGIONS-1 are the hooks' regions,
 * HIL_RUNNER_REGIONS the whole invoke; on a real chip they are a few stores. */
#define HIL_RUNNER_PLUGIN_IDS (HIL_RUNNER_REGIONS + 1u)
volatile uint8_t hil_runner_plugin_marks[2u * HIL_RUNNER_PLUGIN_IDS];

__attribute__((noinline, used)) void hil_runner_plugin_mark(uint32_t slot)
{
    hil_runner_plugin_marks[slot] = 1u;
}

static int fixed_part(const link_message_t *request, void *fields, uint32_t size)
{
    if (request->length < size) {
        link_send_error(request->seq, LINK_ERR_BAD_REQUEST, "request shorter than its fixed fields");
        return 0;
    }
    memcpy(fields, request->payload, size);
    return 1;
}

/* The tensor a request names, or 0 after answering with an error. */
static int tensor_of(const link_message_t *request, uint8_t kind, uint16_t index, hil_tensor_t *tensor)
{
    int known = kind == LINK_RUNNER_INPUT    ? index < runner->num_inputs
                : kind == LINK_RUNNER_OUTPUT ? index < runner->num_outputs
                                             : 0;
    memset(tensor, 0, sizeof *tensor);
    int found = known && (kind == LINK_RUNNER_INPUT ? runner->input(runner->context, index, tensor)
                                                    : runner->output(runner->context, index, tensor)) == 0;
    if (!found || tensor->rank > HIL_RUNNER_MAX_DIMS) {
        link_send_error(request->seq, LINK_ERR_BAD_REQUEST, "no such input or output tensor");
        return 0;
    }
    return 1;
}

static void info(const link_message_t *request)
{
    link_runner_info_reply_t reply = {
        .num_inputs = runner->num_inputs,
        .num_outputs = runner->num_outputs,
        .runner_version = HIL_RUNNER_VERSION,
    };
    size_t length = strlen(runner->sha256);
    memcpy(reply.sha256, runner->sha256, length < sizeof reply.sha256 ? length : sizeof reply.sha256);
    link_reply(request, &reply, sizeof reply);
}

static void describe(const link_message_t *request)
{
    link_runner_tensor_request_t fields;
    hil_tensor_t tensor;
    if (!fixed_part(request, &fields, sizeof fields) ||
        !tensor_of(request, fields.kind, fields.index, &tensor)) {
        return;
    }
    link_runner_tensor_reply_t reply = {
        .dtype = tensor.dtype,
        .rank = tensor.rank,
        .zero_point = tensor.zero_point,
        .bytes = tensor.bytes,
    };
    int32_t dims[HIL_RUNNER_MAX_DIMS] = {0}; /* d0..d5 follow each other in the reply */
    memcpy(dims, tensor.dims, tensor.rank * sizeof dims[0]);
    memcpy((uint8_t *)&reply + offsetof(link_runner_tensor_reply_t, d0), dims, sizeof dims);
    memcpy(&reply.scale_bits, &tensor.scale, sizeof reply.scale_bits);
    link_reply(request, &reply, sizeof reply);
}

static int inside(uint32_t offset, uint32_t length, uint32_t limit)
{
    return offset <= limit && length <= limit - offset;
}

static void write_input(const link_message_t *request)
{
    link_runner_write_request_t fields;
    hil_tensor_t tensor;
    if (!fixed_part(request, &fields, sizeof fields) ||
        !tensor_of(request, LINK_RUNNER_INPUT, fields.index, &tensor)) {
        return;
    }
    uint32_t length = request->length - (uint32_t)sizeof fields;
    if (!inside(fields.offset, length, tensor.bytes)) {
        link_send_error(request->seq, LINK_ERR_BAD_REQUEST, "write outside the input tensor");
        return;
    }
    memcpy((uint8_t *)tensor.data + fields.offset, request->payload + sizeof fields, length);
    link_reply(request, NULL, 0);
}

static void read_tensor(const link_message_t *request)
{
    link_runner_read_request_t fields;
    hil_tensor_t tensor;
    if (!fixed_part(request, &fields, sizeof fields) ||
        !tensor_of(request, fields.kind, fields.index, &tensor)) {
        return;
    }
    if (!inside(fields.offset, fields.length, tensor.bytes)) {
        link_send_error(request->seq, LINK_ERR_BAD_REQUEST, "read outside the tensor");
        return;
    }
    link_reply(request, (const uint8_t *)tensor.data + fields.offset, fields.length);
}

static void invoke(const link_message_t *request)
{
    link_runner_invoke_request_t fields;
    if (!fixed_part(request, &fields, sizeof fields)) {
        return;
    }
    memset(regions, 0, sizeof regions);
    publishing.active = fields.publish != 0;
    publishing.seq = request->seq;
    publishing.count = 0;
    uint32_t start = hil_port_cycles();
    hil_runner_plugin_mark(HIL_RUNNER_REGIONS); /* last: the count starts after the bookkeeping */
    int status = runner->invoke(runner->context);
    hil_runner_plugin_mark(HIL_RUNNER_PLUGIN_IDS + HIL_RUNNER_REGIONS);
    uint32_t ticks = hil_port_cycles() - start;
    publishing.active = 0;
    if (status != 0) {
        link_send_error(request->seq, LINK_ERR_INVOKE_FAILED, "the firmware's invoke failed");
        return;
    }
    link_runner_invoke_reply_t reply = {.ticks = ticks, .status = status, .layers = publishing.count};
    link_reply(request, &reply, sizeof reply);
}

static void read_regions(const link_message_t *request)
{
    struct __attribute__((packed)) {
        link_runner_regions_reply_t head;
        struct __attribute__((packed)) {
            uint8_t id, reserved[3];
            uint32_t calls;
            uint64_t ticks;
        } entries[HIL_RUNNER_REGIONS];
    } reply = {.head = {.timer_hz = hil_port_cycles_hz()}};
    uint16_t used = 0;
    for (uint32_t id = 0; id < HIL_RUNNER_REGIONS; id++) {
        if (regions[id].calls) {
            reply.entries[used].id = (uint8_t)id;
            reply.entries[used].calls = regions[id].calls;
            reply.entries[used].ticks = regions[id].ticks;
            used++;
        }
    }
    reply.head.regions = used;
    link_reply(request, &reply, (uint32_t)(sizeof reply.head + used * sizeof reply.entries[0]));
}

int hil_runner_publishing(void)
{
    return publishing.active;
}

void hil_runner_publish_op(uint32_t op_index, uint32_t tensor_index, const void *data, uint32_t bytes)
{
    if (!publishing.active) {
        return;
    }
    link_runner_layer_payload_t head = {
        .op_index = (uint16_t)op_index,
        .tensor = (uint16_t)tensor_index,
        .bytes = bytes,
    };
    link_send_parts(LINK_MSG_RUNNER_LAYER, publishing.seq, &head, sizeof head, data, bytes);
    publishing.count++;
}

void hil_runner_region_begin(uint32_t id)
{
    if (id < HIL_RUNNER_REGIONS) {
        regions[id].started = hil_port_cycles();
        hil_runner_plugin_mark(id);
    }
}

void hil_runner_region_end(uint32_t id)
{
    if (id < HIL_RUNNER_REGIONS) {
        hil_runner_plugin_mark(HIL_RUNNER_PLUGIN_IDS + id);
        regions[id].calls++;
        regions[id].ticks += hil_port_cycles() - regions[id].started;
    }
}

static const hil_command_t runner_commands[] = {
    {LINK_MSG_RUNNER_INFO, info},
    {LINK_MSG_RUNNER_TENSOR, describe},
    {LINK_MSG_RUNNER_WRITE, write_input},
    {LINK_MSG_RUNNER_READ, read_tensor},
    {LINK_MSG_RUNNER_INVOKE, invoke},
    {LINK_MSG_RUNNER_REGIONS, read_regions},
    {0, NULL},
};

int hil_runner_register(const hil_model_runner_t *model_runner)
{
    runner = model_runner;
    return hil_sdk_register(runner_commands);
}

/* Generated from harness/link/protocol.yaml and harness/link/messages/ (one YAML per service)
 * by `python -m harness.link.codegen`.
 * Do not edit: change the YAML and regenerate. */
#ifndef LINK_PROTOCOL_H
#define LINK_PROTOCOL_H

#include <stdint.h>

#define LINK_PROTOCOL_VERSION 1u
#define LINK_MAGIC0 0xA5u
#define LINK_MAGIC1 0x5Au
#define LINK_REPLY_BIT 0x80u
#define LINK_INTER_BYTE_TIMEOUT_MS 100u
#define LINK_CRC_SIZE 4u

typedef struct __attribute__((packed)) {
    uint16_t length;
    uint8_t type;
    uint8_t flags;
    uint16_t seq;
} link_header_t;

#define LINK_FLAG_MORE 0x01u /* the message continues in the next frame */

#define LINK_MSG_ACK 0x01u /* Sent by the device for each frame of a multi-frame message except the last. */
#define LINK_MSG_ERROR 0x02u /* The device could not handle a frame or a request. */
#define LINK_MSG_READY 0x03u /* Sent once by the firmware when it has booted and its UART receives. */
#define LINK_MSG_FAULT 0x04u /* Sent by the hard-fault handler before the firmware stops. */
#define LINK_MSG_LOG 0x05u /* Unsolicited text from the firmware. */
#define LINK_MSG_HELLO 0x10u /* Handshake. */
#define LINK_MSG_ECHO 0x11u /* Returns its payload unchanged (link tests and throughput). */
#define LINK_MSG_LINK_STATS 0x12u /* The device's link counters since boot. */
#define LINK_MSG_DISCARD 0x16u /* Accepts a payload and replies with its length (host-to-device throughput). */
#define LINK_MSG_RESET 0x13u /* The device replies, then resets itself and sends READY again. */
#define LINK_MSG_SELFTEST_HANG 0x14u /* Stops answering (spins forever); lets tests see the host's timeout. */
#define LINK_MSG_SELFTEST_FAULT 0x15u /* Takes a hard fault (reads an unmapped address); lets tests see the fault report. */
#define LINK_MSG_ENGINE_INFO 0x20u /* The engine's memory pool (RAM model buffer + arena) and packed-format version. */
#define LINK_MSG_MODEL_WRITE 0x21u /* Writes part of a packed model into the RAM model buffer (the start of the pool). */
#define LINK_MSG_MODEL_LOAD 0x22u /* Validates (magic, version, CRC, bounds) and activates a packed model from the flash slot or RAM. */
#define LINK_MSG_TENSOR_WRITE 0x23u /* Writes bytes into an arena tensor of the loaded model. */
#define LINK_MSG_TENSOR_READ 0x24u /* Reads bytes of an arena tensor of the loaded model. */
#define LINK_MSG_TENSOR_FILL 0x25u /* Fills an int8 arena tensor with xorshift32 bytes from a seed (inputs without the UART's cost). */
#define LINK_MSG_INVOKE 0x26u /* Runs operators first_op..end_op-1 of the loaded model (end_op 0xFFFF = to the end). */
#define LINK_MSG_METRICS 0x40u /* Per-region timer totals since the last clear; entries follow the fixed reply fields. */
#define LINK_MSG_MEMORY 0x41u /* RAM use seen by the firmware; buffers are as the engine and training reported them. */
#define LINK_MSG_METRICS_SELFTEST 0x42u /* Runs a deterministic workload of `layers` timed parts, part i doing (i+1)*iterations steps. */
#define LINK_MSG_RUNNER_INFO 0x60u /* The compiled-in model's identity (SHA-256 of the .tflite it was built from) and tensor counts. */
#define LINK_MSG_RUNNER_TENSOR 0x61u /* One input's or output's type, shape and quantization. */
#define LINK_MSG_RUNNER_WRITE 0x62u /* Writes bytes into an input tensor. */
#define LINK_MSG_RUNNER_READ 0x63u /* Reads bytes of an input or output tensor. */
#define LINK_MSG_RUNNER_INVOKE 0x64u /* Runs the model once; with publish, every operator output the interpreter hands to the hook goes out as RUNNER_LAYER first. */
#define LINK_MSG_RUNNER_LAYER 0x65u /* Sent by the device during a publishing RUNNER_INVOKE (with its seq), one per operator output. */
#define LINK_MSG_RUNNER_REGIONS 0x66u /* Timing regions the firmware marked during the last RUNNER_INVOKE. */
#define LINK_MSG_TRAIN_LOAD 0x50u /* Writes a piece of the training setup image (harness/training/setup.py pack) at `offset`; offset 0 forgets any loaded setup. */
#define LINK_MSG_TRAIN_BEGIN 0x51u /* Checks the loaded image, plans the arena and refuses a plan over the image's SRAM budget. */
#define LINK_MSG_TRAIN_STEP 0x52u /* One SGD step on one sample (int8, the setup's input size) and its label; an empty sample after TRAIN_BACKBONE runs the frozen backbone on the device first. */
#define LINK_MSG_TRAIN_PREDICT 0x53u /* Forward pass only (an empty sample after TRAIN_BACKBONE runs the backbone first). */
#define LINK_MSG_TRAIN_READ 0x54u /* Reads `length` bytes of the setup image (with the trained parameters) at `offset`. */
#define LINK_MSG_TRAIN_MEMORY 0x55u /* Peak SRAM of training as the device measures it. */
#define LINK_MSG_TRAIN_BACKBONE 0x56u /* Binds the training input to the engine's loaded model - operators [0, end_op) run on the device for every step and prediction with an empty sample; tensor (int8, in the engine arena) becomes the chain's input in place. */

#define LINK_TIMER_KIND_CYCLES 0u
#define LINK_TIMER_KIND_INSTRUCTIONS 1u
#define LINK_MODEL_SOURCE_SLOT 0u
#define LINK_MODEL_SOURCE_RAM 1u
#define LINK_RUNNER_INPUT 0u
#define LINK_RUNNER_OUTPUT 1u

#define LINK_ERR_BAD_CRC 1u /* a frame's CRC did not match */
#define LINK_ERR_TRUNCATED 2u /* a frame stopped before its end */
#define LINK_ERR_OVERSIZE 3u /* a frame or message longer than the device accepts */
#define LINK_ERR_UNKNOWN_TYPE 4u /* no handler for this message type */
#define LINK_ERR_BAD_REQUEST 5u /* a request payload of the wrong size or content */
#define LINK_ERR_NO_MEMORY 6u /* the request needs more memory than the device has */
#define LINK_ERR_NO_MODEL 32u /* no valid model is loaded */
#define LINK_ERR_MODEL_INVALID 33u /* the packed model failed validation: magic, version, CRC or bounds */
#define LINK_ERR_KERNEL_FAILED 34u /* a kernel rejected its arguments */
#define LINK_ERR_NO_RUNNER 96u /* the firmware registered no model runner */
#define LINK_ERR_INVOKE_FAILED 97u /* the firmware's invoke returned an error */
#define LINK_ERR_TRAIN_NOT_READY 80u /* no training setup loaded and begun */
#define LINK_ERR_TRAIN_BAD_SETUP 81u /* the setup image is malformed or unsupported */
#define LINK_ERR_TRAIN_OVER_BUDGET 82u /* the plan needs more SRAM than its budget or the arena */
#define LINK_ERR_TRAIN_BAD_SAMPLE 83u /* a sample of the wrong size or a label out of range */

typedef struct __attribute__((packed)) {
    uint16_t code;
    /* then message: the rest of the payload (str) */
} link_error_payload_t;

typedef struct __attribute__((packed)) {
    uint32_t r0;
    uint32_t r1;
    uint32_t r2;
    uint32_t r3;
    uint32_t r12;
    uint32_t lr;
    uint32_t pc;
    uint32_t xpsr;
    uint32_t cfsr;
    uint32_t hfsr;
    uint32_t mmfar;
    uint32_t bfar;
} link_fault_payload_t;

typedef struct __attribute__((packed)) {
    uint16_t protocol_version;
    uint16_t max_payload;
    uint32_t max_message;
    uint32_t core_clock_hz;
    uint32_t flash_size;
    uint32_t sram_size;
    uint32_t model_slot_addr;
    uint32_t model_slot_size;
    uint8_t timer_kind;
    uint8_t timer_units_per_tick;
    uint16_t reserved;
    char board[24];
    char build_id[48];
} link_hello_reply_t;

typedef struct __attribute__((packed)) {
    uint32_t frames_ok;
    uint32_t bad_crc;
    uint32_t garbage_bytes;
    uint32_t truncated;
    uint32_t oversize;
} link_link_stats_reply_t;

typedef struct __attribute__((packed)) {
    uint32_t length;
} link_discard_reply_t;

typedef struct __attribute__((packed)) {
    uint32_t pool_size;
    uint32_t pool_addr;
    uint16_t format_version;
    uint16_t max_concat_inputs;
} link_engine_info_reply_t;

typedef struct __attribute__((packed)) {
    uint32_t offset;
    /* then data: the rest of the payload (bytes) */
} link_model_write_request_t;

typedef struct __attribute__((packed)) {
    uint8_t source;
    uint8_t reserved;
    uint16_t reserved2;
    uint32_t offset;
} link_model_load_request_t;

typedef struct __attribute__((packed)) {
    uint32_t arena_size;
    uint32_t arena_capacity;
    uint32_t arena_addr;
    uint32_t model_size;
    uint32_t model_crc;
    uint16_t num_tensors;
    uint16_t num_ops;
} link_model_load_reply_t;

typedef struct __attribute__((packed)) {
    uint16_t tensor;
    uint16_t reserved;
    uint32_t offset;
    /* then data: the rest of the payload (bytes) */
} link_tensor_write_request_t;

typedef struct __attribute__((packed)) {
    uint16_t tensor;
    uint16_t reserved;
    uint32_t offset;
    uint32_t length;
} link_tensor_read_request_t;

typedef struct __attribute__((packed)) {
    uint16_t tensor;
    uint16_t reserved;
    uint32_t seed;
} link_tensor_fill_request_t;

typedef struct __attribute__((packed)) {
    uint16_t first_op;
    uint16_t end_op;
} link_invoke_request_t;

typedef struct __attribute__((packed)) {
    uint32_t ticks;
    uint16_t ops_run;
    uint16_t reserved;
} link_invoke_reply_t;

typedef struct __attribute__((packed)) {
    uint8_t clear;
} link_metrics_request_t;

typedef struct __attribute__((packed)) {
    uint16_t regions;
    uint8_t timer_kind;
    uint8_t timer_units_per_tick;
    uint32_t timer_hz;
    /* then entries: the rest of the payload (bytes) */
} link_metrics_reply_t;

typedef struct __attribute__((packed)) {
    uint8_t repaint_stack;
} link_memory_request_t;

typedef struct __attribute__((packed)) {
    uint32_t data_bytes;
    uint32_t bss_bytes;
    uint32_t stack_size;
    uint32_t stack_high_water;
    uint32_t arena_size;
    uint32_t arena_used;
    uint32_t training_bytes;
} link_memory_reply_t;

typedef struct __attribute__((packed)) {
    uint32_t iterations;
    uint32_t layers;
} link_metrics_selftest_request_t;

typedef struct __attribute__((packed)) {
    uint32_t checksum;
} link_metrics_selftest_reply_t;

typedef struct __attribute__((packed)) {
    uint8_t num_inputs;
    uint8_t num_outputs;
    uint16_t runner_version;
    char sha256[64];
} link_runner_info_reply_t;

typedef struct __attribute__((packed)) {
    uint8_t kind;
    uint8_t reserved;
    uint16_t index;
} link_runner_tensor_request_t;

typedef struct __attribute__((packed)) {
    uint8_t dtype;
    uint8_t rank;
    uint16_t reserved;
    int32_t d0;
    int32_t d1;
    int32_t d2;
    int32_t d3;
    int32_t d4;
    int32_t d5;
    uint32_t scale_bits;
    int32_t zero_point;
    uint32_t bytes;
} link_runner_tensor_reply_t;

typedef struct __attribute__((packed)) {
    uint16_t index;
    uint16_t reserved;
    uint32_t offset;
    /* then data: the rest of the payload (bytes) */
} link_runner_write_request_t;

typedef struct __attribute__((packed)) {
    uint8_t kind;
    uint8_t reserved;
    uint16_t index;
    uint32_t offset;
    uint32_t length;
} link_runner_read_request_t;

typedef struct __attribute__((packed)) {
    uint8_t publish;
    uint8_t reserved;
    uint16_t reserved2;
} link_runner_invoke_request_t;

typedef struct __attribute__((packed)) {
    uint32_t ticks;
    int32_t status;
    uint16_t layers;
    uint16_t reserved;
} link_runner_invoke_reply_t;

typedef struct __attribute__((packed)) {
    uint16_t op_index;
    uint16_t tensor;
    uint32_t bytes;
    /* then data: the rest of the payload (bytes) */
} link_runner_layer_payload_t;

typedef struct __attribute__((packed)) {
    uint16_t regions;
    uint16_t reserved;
    uint32_t timer_hz;
    /* then entries: the rest of the payload (bytes) */
} link_runner_regions_reply_t;

typedef struct __attribute__((packed)) {
    uint32_t offset;
    uint32_t total;
    /* then data: the rest of the payload (bytes) */
} link_train_load_request_t;

typedef struct __attribute__((packed)) {
    uint32_t received;
} link_train_load_reply_t;

typedef struct __attribute__((packed)) {
    uint32_t arena_bytes;
    uint32_t arena_capacity;
    uint32_t static_bytes;
    uint32_t stack_reserve;
    uint32_t planned_peak;
    uint32_t budget;
} link_train_begin_reply_t;

typedef struct __attribute__((packed)) {
    uint32_t label;
    /* then sample: the rest of the payload (bytes) */
} link_train_step_request_t;

typedef struct __attribute__((packed)) {
    uint32_t loss_bits;
    uint32_t predicted;
    uint32_t steps;
    uint32_t backbone_steps;
} link_train_step_reply_t;

typedef struct __attribute__((packed)) {
    uint32_t predicted;
    /* then logits: the rest of the payload (bytes) */
} link_train_predict_reply_t;

typedef struct __attribute__((packed)) {
    uint32_t offset;
    uint32_t length;
} link_train_read_request_t;

typedef struct __attribute__((packed)) {
    uint32_t reserved;
} link_train_memory_request_t;

typedef struct __attribute__((packed)) {
    uint32_t static_bytes;
    uint32_t arena_bytes;
    uint32_t arena_capacity;
    uint32_t stack_high_water;
    uint32_t measured_peak;
    uint32_t budget;
    uint32_t engine_pool_bytes;
    uint32_t engine_high_water;
    uint32_t arena_high_water;
    uint32_t backbone_steps;
} link_train_memory_reply_t;

typedef struct __attribute__((packed)) {
    uint32_t tensor;
    uint32_t end_op;
} link_train_backbone_request_t;

typedef struct __attribute__((packed)) {
    uint32_t input_bytes;
} link_train_backbone_reply_t;

#endif /* LINK_PROTOCOL_H */

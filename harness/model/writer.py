"""Build .tflite bytes from Python: from a loaded `Model` or from scratch with `ModelBuilder`.

Buffers are 16-byte aligned (the schema's force_align, which the Python flatbuffers code
ignores) so int32 biases and float weights can be read in place on cores without unaligned
access. Output is deterministic: the same model gives the same bytes.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import flatbuffers
import numpy as np
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

from .tflite import (
    ENUM_FIELDS,
    FILE_IDENTIFIER,
    OPCODE_VALUES,
    TENSOR_TYPES,
    Model,
    ModelError,
    Operator,
    QuantParams,
    Tensor,
    camel_case,
)

BUFFER_ALIGNMENT = 16

# The options table each builtin operator carries; operators missing here take none.
OPTIONS_TYPES: dict[str, str] = {
    "CONV_2D": "Conv2DOptions",
    "DEPTHWISE_CONV_2D": "DepthwiseConv2DOptions",
    "TRANSPOSE_CONV": "TransposeConvOptions",
    "FULLY_CONNECTED": "FullyConnectedOptions",
    "AVERAGE_POOL_2D": "Pool2DOptions",
    "MAX_POOL_2D": "Pool2DOptions",
    "L2_POOL_2D": "Pool2DOptions",
    "ADD": "AddOptions",
    "SUB": "SubOptions",
    "MUL": "MulOptions",
    "DIV": "DivOptions",
    "SOFTMAX": "SoftmaxOptions",
    "RESHAPE": "ReshapeOptions",
    "PAD": "PadOptions",
    "PADV2": "PadV2Options",
    "MEAN": "ReducerOptions",
    "SUM": "ReducerOptions",
    "REDUCE_MAX": "ReducerOptions",
    "REDUCE_MIN": "ReducerOptions",
    "CONCATENATION": "ConcatenationOptions",
    "SQUEEZE": "SqueezeOptions",
    "TRANSPOSE": "TransposeOptions",
    "STRIDED_SLICE": "StridedSliceOptions",
    "SLICE": "SliceOptions",
    "LEAKY_RELU": "LeakyReluOptions",
    "HARD_SWISH": "HardSwishOptions",
    "QUANTIZE": "QuantizeOptions",
    "DEQUANTIZE": "DequantizeOptions",
    "ARG_MAX": "ArgMaxOptions",
    "ARG_MIN": "ArgMinOptions",
    "SHAPE": "ShapeOptions",
    "PACK": "PackOptions",
    "UNPACK": "UnpackOptions",
    "SPLIT": "SplitOptions",
    "GATHER": "GatherOptions",
    "EXPAND_DIMS": "ExpandDimsOptions",
    "RESIZE_NEAREST_NEIGHBOR": "ResizeNearestNeighborOptions",
    "RESIZE_BILINEAR": "ResizeBilinearOptions",
    "BATCH_MATMUL": "BatchMatMulOptions",
}

# What `ModelBuilder.operator` assumes when an option is not given. The schema's own defaults
# (stride 0, softmax beta 0) would build models that cannot run.
DEFAULT_OPTIONS: dict[str, dict[str, Any]] = {
    "CONV_2D": {"padding": "VALID", "stride_w": 1, "stride_h": 1,
                "fused_activation_function": "NONE", "dilation_w_factor": 1,
                "dilation_h_factor": 1},
    "DEPTHWISE_CONV_2D": {"padding": "VALID", "stride_w": 1, "stride_h": 1,
                          "depth_multiplier": 1, "fused_activation_function": "NONE",
                          "dilation_w_factor": 1, "dilation_h_factor": 1},
    "FULLY_CONNECTED": {"fused_activation_function": "NONE", "weights_format": "DEFAULT",
                        "keep_num_dims": False},
    "AVERAGE_POOL_2D": {"padding": "VALID", "stride_w": 1, "stride_h": 1,
                        "filter_width": 1, "filter_height": 1,
                        "fused_activation_function": "NONE"},
    "MAX_POOL_2D": {"padding": "VALID", "stride_w": 1, "stride_h": 1,
                    "filter_width": 1, "filter_height": 1, "fused_activation_function": "NONE"},
    "ADD": {"fused_activation_function": "NONE"},
    "MUL": {"fused_activation_function": "NONE"},
    "SOFTMAX": {"beta": 1.0},
    "CONCATENATION": {"axis": 0, "fused_activation_function": "NONE"},
    "MEAN": {"keep_dims": False},
    "RESHAPE": {},
    "PAD": {},
}


def write_model(model: Model) -> bytes:
    """Serialize a `Model` (as loaded, or edited) back to .tflite bytes."""
    return build_model(model.tensors, model.operators, model.inputs, model.outputs,
                       model.description)


def build_model(tensors: Sequence[Tensor], operators: Sequence[Operator], inputs: Sequence[int],
                outputs: Sequence[int], description: str = "") -> bytes:
    """Serialize one subgraph. Tensor and operator `index` fields are ignored: order counts."""
    opcodes = list(dict.fromkeys(op.opcode for op in operators))
    buffers: list[schema.BufferT] = [_AlignedBufferT()]  # buffer 0: the empty buffer
    sg = schema.SubGraphT()
    sg.name = "main"
    sg.tensors = [_tensor_t(t, buffers) for t in tensors]
    sg.operators = [_operator_t(op, opcodes, len(tensors)) for op in operators]
    sg.inputs = _checked(inputs, len(tensors), "subgraph input")
    sg.outputs = _checked(outputs, len(tensors), "subgraph output")

    fb = schema.ModelT()
    fb.version = 3
    fb.description = description
    fb.operatorCodes = [_opcode_t(name) for name in opcodes]
    fb.subgraphs = [sg]
    fb.buffers = buffers
    builder = flatbuffers.Builder(1024 + sum(_nbytes(b) for b in buffers))
    builder.Finish(fb.Pack(builder), file_identifier=FILE_IDENTIFIER)
    return bytes(builder.Output())


class _AlignedBufferT(schema.BufferT):
    """A buffer whose data vector starts on a BUFFER_ALIGNMENT boundary."""

    def Pack(self, builder: flatbuffers.Builder) -> int:
        data = None
        if self.data is not None and len(self.data):
            payload = np.ascontiguousarray(self.data, dtype=np.uint8).tobytes()
            builder.StartVector(1, len(payload), BUFFER_ALIGNMENT)
            builder.head -= len(payload)
            builder.Bytes[builder.head:builder.head + len(payload)] = payload
            data = builder.EndVector()
        schema.BufferStart(builder)
        if data is not None:
            schema.BufferAddData(builder, data)
        return schema.BufferEnd(builder)


def _nbytes(buffer: schema.BufferT) -> int:
    return 0 if buffer.data is None else len(buffer.data) + BUFFER_ALIGNMENT


def _checked(indices: Sequence[int], count: int, what: str,
             allow_absent: bool = False) -> list[int]:
    result = [int(i) for i in indices]
    for i in result:
        if not (0 <= i < count or (allow_absent and i == -1)):
            raise ModelError(f"{what} refers to tensor {i}, but there are {count} tensors")
    return result


def _tensor_t(tensor: Tensor, buffers: list[schema.BufferT]) -> schema.TensorT:
    dtype = np.dtype(tensor.dtype)
    if dtype not in TENSOR_TYPES:
        raise ModelError(f"tensor {tensor.name!r}: dtype {dtype} has no .tflite type")
    t = schema.TensorT()
    t.name = tensor.name
    t.shape = np.asarray(tensor.shape, dtype=np.int32)
    t.type = TENSOR_TYPES[dtype]
    t.buffer = 0
    if tensor.data is not None:
        data = np.asarray(tensor.data)
        if data.dtype != dtype or data.shape != tuple(tensor.shape):
            raise ModelError(f"tensor {tensor.name!r}: data is {data.dtype}{list(data.shape)}, "
                             f"tensor is {dtype}{list(tensor.shape)}")
        buffer = _AlignedBufferT()
        buffer.data = np.frombuffer(data.astype(data.dtype.newbyteorder("<")).tobytes(), np.uint8)
        buffers.append(buffer)
        t.buffer = len(buffers) - 1
    if tensor.quant is not None:
        t.quantization = _quant_t(tensor.quant)
    return t


def _quant_t(quant: QuantParams) -> schema.QuantizationParametersT:
    q = schema.QuantizationParametersT()
    q.scale = np.asarray(quant.scale, dtype=np.float32).reshape(-1)
    q.zeroPoint = np.asarray(quant.zero_point, dtype=np.int64).reshape(-1)
    q.quantizedDimension = int(quant.axis)
    return q


def _opcode_t(name: str) -> schema.OperatorCodeT:
    code = schema.OperatorCodeT()
    if name.startswith("CUSTOM:"):
        code.builtinCode = schema.BuiltinOperator.CUSTOM
        code.customCode = name.split(":", 1)[1]
    elif name in OPCODE_VALUES:
        code.builtinCode = OPCODE_VALUES[name]
    else:
        raise ModelError(f"unknown operator {name!r}")
    # Readers of the old schema only look at the 8-bit deprecated field.
    code.deprecatedBuiltinCode = min(code.builtinCode,
                                     schema.BuiltinOperator.PLACEHOLDER_FOR_GREATER_OP_CODES)
    code.version = 1
    return code


def _operator_t(op: Operator, opcodes: list[str], tensor_count: int) -> schema.OperatorT:
    where = f"operator {op.index} ({op.opcode})"
    t = schema.OperatorT()
    t.opcodeIndex = opcodes.index(op.opcode)
    t.inputs = np.asarray(_checked(op.inputs, tensor_count, f"{where} input", True), np.int32)
    t.outputs = np.asarray(_checked(op.outputs, tensor_count, f"{where} output"), np.int32)
    if op.options:
        t.builtinOptionsType, t.builtinOptions = options_from_dict(op.opcode, op.options)
    return t


def options_from_dict(opcode: str, options: dict[str, Any]) -> tuple[int, Any]:
    """{snake_case: value} -> (BuiltinOptions union type, schema options object)."""
    type_name = OPTIONS_TYPES.get(opcode)
    if type_name is None:
        raise ModelError(f"{opcode}: the writer knows no builtin options for this operator, "
                         f"got {sorted(options)}")
    table = getattr(schema, type_name + "T")()
    for key, value in options.items():
        field = camel_case(key)
        if not hasattr(table, field):
            raise ModelError(f"{opcode}: unknown option {key!r} (a {type_name} field)")
        setattr(table, field, _option_value(opcode, field, value))
    return getattr(schema.BuiltinOptions, type_name), table


def _option_value(opcode: str, field: str, value: Any) -> Any:
    if field in ENUM_FIELDS and isinstance(value, str):
        enum = ENUM_FIELDS[field]
        if not hasattr(enum, value):
            raise ModelError(f"{opcode}: {value!r} is not a {enum.__name__}")
        return getattr(enum, value)
    if isinstance(value, (list, tuple, np.ndarray)):
        return np.asarray(value, dtype=np.int32)
    return value


def quant(scale: float | Sequence[float], zero_point: int | Sequence[int] = 0,
          axis: int = 0) -> QuantParams:
    """QuantParams from plain numbers; a scalar zero point is repeated per channel."""
    scales = np.atleast_1d(np.asarray(scale, dtype=np.float32))
    zeros = np.atleast_1d(np.asarray(zero_point, dtype=np.int64))
    if zeros.size == 1 and scales.size > 1:
        zeros = np.repeat(zeros, scales.size)
    return QuantParams(scale=scales, zero_point=zeros, axis=axis)


class ModelBuilder:
    """Assemble a single-subgraph model tensor by tensor, operator by operator.

        b = ModelBuilder()
        x = b.tensor("x", (1, 8), np.int8, quant=quant(0.1, -3))
        ...
        tflite_bytes = b.build(inputs=[x], outputs=[y])
    """

    def __init__(self, description: str = "hil harness model"):
        self.description = description
        self.tensors: list[Tensor] = []
        self.operators: list[Operator] = []

    def tensor(self, name: str, shape: Sequence[int], dtype: Any,
               quant: QuantParams | None = None, data: np.ndarray | None = None) -> int:
        """Add a tensor and return its index; `data` makes it a constant."""
        dtype = np.dtype(dtype)
        if data is not None:
            data = np.asarray(data, dtype=dtype).reshape(tuple(shape))
        self.tensors.append(Tensor(index=len(self.tensors), name=name,
                                   shape=tuple(int(d) for d in shape), dtype=dtype,
                                   quant=quant, data=data))
        return len(self.tensors) - 1

    def constant(self, name: str, data: np.ndarray, quant: QuantParams | None = None) -> int:
        """Add a constant tensor shaped and typed like `data`."""
        data = np.asarray(data)
        return self.tensor(name, data.shape, data.dtype, quant=quant, data=data)

    def operator(self, opcode: str, inputs: Sequence[int], outputs: Sequence[int],
                 **options: Any) -> int:
        """Add an operator; options not given take DEFAULT_OPTIONS for that operator."""
        merged = {**DEFAULT_OPTIONS.get(opcode, {}), **options}
        self.operators.append(Operator(index=len(self.operators), opcode=opcode,
                                       inputs=list(inputs), outputs=list(outputs),
                                       options=merged))
        return len(self.operators) - 1

    def build(self, inputs: Sequence[int], outputs: Sequence[int]) -> bytes:
        return build_model(self.tensors, self.operators, inputs, outputs, self.description)


# ---- single-operator test models ----------------------------------------------------------

SINGLE_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "AVERAGE_POOL_2D", "MAX_POOL_2D",
              "ADD", "MUL", "SOFTMAX", "RESHAPE", "PAD", "MEAN", "QUANTIZE", "DEQUANTIZE",
              "CONCATENATION", "LOGISTIC")


def single_op_model(opcode: str, dtype: str = "int8", seed: int = 0) -> bytes:
    """A small model of one operator with seeded random weights, in "int8" or "float32".

    QUANTIZE in int8 requantizes int8 to int8, in float32 it quantizes float32 to int8;
    DEQUANTIZE always turns int8 into float32.
    """
    if opcode not in SINGLE_OPS or dtype not in ("int8", "float32"):
        raise ModelError(f"no single-operator model for {opcode} in {dtype}; operators: "
                         f"{', '.join(SINGLE_OPS)}; dtypes: int8, float32")
    return _SingleOp(dtype, seed).build(opcode)


class _SingleOp:
    """Builds one operator with its tensors; int8 tensors get plausible parameters."""

    def __init__(self, dtype: str, seed: int):
        self.int8 = dtype == "int8"
        self.rng = np.random.default_rng(seed)
        self.b = ModelBuilder(f"single {dtype} operator")

    def build(self, opcode: str) -> bytes:
        inputs, output = getattr(self, "_" + opcode.lower())()
        return self.b.build(inputs, [output])

    def act(self, name: str, shape: Sequence[int], scale: float = 0.05, zero_point: int = -3,
            int8: bool | None = None) -> int:
        int8 = self.int8 if int8 is None else int8
        return self.b.tensor(name, shape, np.int8 if int8 else np.float32,
                             quant(scale, zero_point) if int8 else None)

    def weights(self, shape: Sequence[int], axis: int, input_scale: float = 0.05) -> list[int]:
        channels = shape[axis]
        w = self.rng.normal(0, 0.3, shape).astype(np.float32)
        bias = self.rng.normal(0, 0.1, channels).astype(np.float32)
        if not self.int8:
            return [self.b.constant("weights", w), self.b.constant("bias", bias)]
        other = tuple(d for d in range(len(shape)) if d != axis)
        scales = (np.abs(w).max(axis=other) / 127).astype(np.float32)
        view = [1] * len(shape)
        view[axis] = -1
        wq = np.clip(np.round(w / scales.reshape(view)), -127, 127).astype(np.int8)
        bias_scales = (input_scale * scales).astype(np.float32)
        bq = np.round(bias / bias_scales).astype(np.int32)
        return [self.b.constant("weights", wq, quant(scales, 0, axis)),
                self.b.constant("bias", bq, quant(bias_scales, 0))]

    def _conv_2d(self) -> tuple[list[int], int]:
        x = self.act("input", (1, 8, 8, 3))
        y = self.act("output", (1, 4, 4, 4), 0.1, 2)
        self.b.operator("CONV_2D", [x, *self.weights((4, 3, 3, 3), 0)], [y], padding="SAME",
                        stride_w=2, stride_h=2, fused_activation_function="RELU")
        return [x], y

    def _depthwise_conv_2d(self) -> tuple[list[int], int]:
        x = self.act("input", (1, 8, 8, 4))
        y = self.act("output", (1, 6, 6, 8), 0.1, 2)
        self.b.operator("DEPTHWISE_CONV_2D", [x, *self.weights((1, 3, 3, 8), 3)], [y],
                        depth_multiplier=2, fused_activation_function="RELU6")
        return [x], y

    def _fully_connected(self) -> tuple[list[int], int]:
        x = self.act("input", (1, 16))
        y = self.act("output", (1, 8), 0.1, 2)
        self.b.operator("FULLY_CONNECTED", [x, *self.weights((8, 16), 0)], [y])
        return [x], y

    def _pool(self, opcode: str) -> tuple[list[int], int]:
        x = self.act("input", (1, 8, 8, 4))
        y = self.act("output", (1, 4, 4, 4))  # same parameters as the input: TFLM requires it
        self.b.operator(opcode, [x], [y], filter_width=2, filter_height=2, stride_w=2,
                        stride_h=2)
        return [x], y

    def _average_pool_2d(self) -> tuple[list[int], int]:
        return self._pool("AVERAGE_POOL_2D")

    def _max_pool_2d(self) -> tuple[list[int], int]:
        return self._pool("MAX_POOL_2D")

    def _binary(self, opcode: str, output_scale: float) -> tuple[list[int], int]:
        a = self.act("input1", (1, 4, 4, 3))
        c = self.act("input2", (1, 4, 4, 3), 0.03, 5)
        y = self.act("output", (1, 4, 4, 3), output_scale, -1)
        self.b.operator(opcode, [a, c], [y])
        return [a, c], y

    def _add(self) -> tuple[list[int], int]:
        return self._binary("ADD", 0.08)

    def _mul(self) -> tuple[list[int], int]:
        return self._binary("MUL", 0.02)

    def _softmax(self) -> tuple[list[int], int]:
        x = self.act("input", (1, 10), 0.1, 0)
        y = self.act("output", (1, 10), 1 / 256, -128)
        self.b.operator("SOFTMAX", [x], [y])
        return [x], y

    def _logistic(self) -> tuple[list[int], int]:
        x = self.act("input", (1, 32), 0.1, 0)
        y = self.act("output", (1, 32), 1 / 256, -128)
        self.b.operator("LOGISTIC", [x], [y])
        return [x], y

    def _reshape(self) -> tuple[list[int], int]:
        x = self.act("input", (1, 4, 4, 2))
        shape = self.b.constant("shape", np.array([1, 32], np.int32))
        y = self.act("output", (1, 32))
        self.b.operator("RESHAPE", [x, shape], [y], new_shape=[1, 32])
        return [x], y

    def _pad(self) -> tuple[list[int], int]:
        x = self.act("input", (1, 4, 4, 2))
        paddings = self.b.constant("paddings", np.array([[0, 0], [1, 1], [2, 0], [0, 0]],
                                                        np.int32))
        y = self.act("output", (1, 6, 6, 2))
        self.b.operator("PAD", [x, paddings], [y])
        return [x], y

    def _mean(self) -> tuple[list[int], int]:
        x = self.act("input", (1, 4, 4, 8))
        axis = self.b.constant("axis", np.array([1, 2], np.int32))
        y = self.act("output", (1, 1, 1, 8), 0.02, 1)
        self.b.operator("MEAN", [x, axis], [y], keep_dims=True)
        return [x], y

    def _concatenation(self) -> tuple[list[int], int]:
        a = self.act("input1", (1, 4, 4, 3))
        c = self.act("input2", (1, 4, 4, 5))
        y = self.act("output", (1, 4, 4, 8))
        self.b.operator("CONCATENATION", [a, c], [y], axis=3)
        return [a, c], y

    def _quantize(self) -> tuple[list[int], int]:
        x = self.act("input", (1, 32), 0.03, 4)  # float32 when the model is float32
        y = self.act("output", (1, 32), 0.045, -6, int8=True)
        self.b.operator("QUANTIZE", [x], [y])
        return [x], y

    def _dequantize(self) -> tuple[list[int], int]:
        x = self.act("input", (1, 32), 0.03, 4, int8=True)
        y = self.act("output", (1, 32), int8=False)
        self.b.operator("DEQUANTIZE", [x], [y])
        return [x], y

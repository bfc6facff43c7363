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


def default_options(opcode: str) -> dict[str, Any]:
    """What `ModelBuilder.operator` assumes when an option is not given: the op table's
    `options` for the operators the engine runs. The schema's own defaults (stride 0, softmax
    beta 0) would build models that cannot run."""
    from ..engine.ops import OPS  # here, not at the top: the table's lowering imports this package

    op = OPS.get(opcode)
    return dict(op.options) if op is not None else {}


def write_model(model: Model) -> bytes:
    """Serialize a `Model` (as loaded, or edited) back to .tflite bytes."""
    return build_model(model.tensors, model.operators, model.inputs, model.outputs, model.description)


def build_model(
    tensors: Sequence[Tensor],
    operators: Sequence[Operator],
    inputs: Sequence[int],
    outputs: Sequence[int],
    description: str = "",
) -> bytes:
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
            builder.Bytes[builder.head : builder.head + len(payload)] = payload
            data = builder.EndVector()
        schema.BufferStart(builder)
        if data is not None:
            schema.BufferAddData(builder, data)
        return schema.BufferEnd(builder)


def _nbytes(buffer: schema.BufferT) -> int:
    return 0 if buffer.data is None else len(buffer.data) + BUFFER_ALIGNMENT


def _checked(indices: Sequence[int], count: int, what: str, allow_absent: bool = False) -> list[int]:
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
            raise ModelError(
                f"tensor {tensor.name!r}: data is {data.dtype}{list(data.shape)}, tensor is {dtype}{list(tensor.shape)}"
            )
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
    code.deprecatedBuiltinCode = min(code.builtinCode, schema.BuiltinOperator.PLACEHOLDER_FOR_GREATER_OP_CODES)
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
        raise ModelError(f"{opcode}: the writer knows no builtin options for this operator, got {sorted(options)}")
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


def quant(scale: float | Sequence[float], zero_point: int | Sequence[int] = 0, axis: int = 0) -> QuantParams:
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

    def tensor(
        self,
        name: str,
        shape: Sequence[int],
        dtype: Any,
        quant: QuantParams | None = None,
        data: np.ndarray | None = None,
    ) -> int:
        """Add a tensor and return its index; `data` makes it a constant."""
        dtype = np.dtype(dtype)
        if data is not None:
            data = np.asarray(data, dtype=dtype).reshape(tuple(shape))
        self.tensors.append(
            Tensor(
                index=len(self.tensors),
                name=name,
                shape=tuple(int(d) for d in shape),
                dtype=dtype,
                quant=quant,
                data=data,
            )
        )
        return len(self.tensors) - 1

    def constant(self, name: str, data: np.ndarray, quant: QuantParams | None = None) -> int:
        """Add a constant tensor shaped and typed like `data`."""
        data = np.asarray(data)
        return self.tensor(name, data.shape, data.dtype, quant=quant, data=data)

    def operator(self, opcode: str, inputs: Sequence[int], outputs: Sequence[int], **options: Any) -> int:
        """Add an operator; options not given take `default_options(opcode)`."""
        merged = {**default_options(opcode), **options}
        self.operators.append(
            Operator(
                index=len(self.operators), opcode=opcode, inputs=list(inputs), outputs=list(outputs), options=merged
            )
        )
        return len(self.operators) - 1

    def build(self, inputs: Sequence[int], outputs: Sequence[int]) -> bytes:
        return build_model(self.tensors, self.operators, inputs, outputs, self.description)

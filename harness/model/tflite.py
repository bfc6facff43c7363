"""Read .tflite files into plain dataclasses.

Parsing uses the flatbuffer schema module shipped with the `tflite-micro` pip package. The Python
flatbuffers runtime does not verify buffers, so every parse runs under a guard that turns whatever
a corrupt file provokes (IndexError, struct.error, ...) into a ModelError, and the result is then
checked for dangling indices and buffers that do not match their tensor's shape.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

from ..errors import HarnessError
from ..input_files import read_regular_file

FILE_IDENTIFIER = b"TFL3"
# The device indexes and sizes tensors with 32-bit integers (docs/model_format.md).
MAX_TENSOR_BYTES = (1 << 31) - 1
INT32_RANGE = (-(1 << 31), (1 << 31) - 1)


class ModelError(HarnessError):
    """A corrupt or unsupported model file; the message names the problem."""


@dataclass
class QuantParams:
    scale: np.ndarray  # float32, one per channel (or one)
    zero_point: np.ndarray  # int64, same length as scale
    axis: int  # the schema's quantized_dimension

    @property
    def per_channel(self) -> bool:
        return self.scale.size > 1


@dataclass
class Tensor:
    index: int
    name: str
    shape: tuple[int, ...]
    dtype: np.dtype
    quant: QuantParams | None
    data: np.ndarray | None  # constant buffer contents, reshaped; None for activations

    @property
    def is_constant(self) -> bool:
        return self.data is not None

    def scalar_quant(self) -> tuple[float, int]:
        """(scale, zero point) of a quantized tensor (its first channel's, when per channel)."""
        if self.quant is None:
            raise HarnessError(f"tensor {self.index} ({self.name}) has no quantization parameters")
        return float(self.quant.scale[0]), int(self.quant.zero_point[0])

    def constant_data(self) -> np.ndarray:
        """The buffer of a constant tensor (weights, bias); an activation has none."""
        if self.data is None:
            raise HarnessError(f"tensor {self.index} ({self.name}) is not a constant")
        return self.data


@dataclass
class Operator:
    index: int
    opcode: str  # builtin code name, e.g. "CONV_2D"
    inputs: list[int]  # -1 marks an absent optional input
    outputs: list[int]
    options: dict[str, Any]  # builtin options, snake_case keys, enums as names


@dataclass
class Model:
    tensors: list[Tensor]
    operators: list[Operator]
    inputs: list[int]
    outputs: list[int]
    raw: bytes
    sha256: str
    description: str

    @property
    def opcodes(self) -> list[str]:
        """The distinct operator kinds, in order of first use."""
        return list(dict.fromkeys(op.opcode for op in self.operators))

    def __bytes__(self) -> bytes:
        return self.raw


def _enum_names(enum_class: type) -> dict[int, str]:
    return {v: k for k, v in vars(enum_class).items() if not k.startswith("_")}


OPCODE_NAMES = _enum_names(schema.BuiltinOperator)
OPCODE_VALUES = {name: code for code, name in OPCODE_NAMES.items()}
TENSOR_TYPE_NAMES = _enum_names(schema.TensorType)

_NUMPY_TYPES = {
    schema.TensorType.FLOAT32: np.float32,
    schema.TensorType.FLOAT16: np.float16,
    schema.TensorType.FLOAT64: np.float64,
    schema.TensorType.INT8: np.int8,
    schema.TensorType.INT16: np.int16,
    schema.TensorType.INT32: np.int32,
    schema.TensorType.INT64: np.int64,
    schema.TensorType.UINT8: np.uint8,
    schema.TensorType.UINT16: np.uint16,
    schema.TensorType.UINT32: np.uint32,
    schema.TensorType.UINT64: np.uint64,
    schema.TensorType.BOOL: np.bool_,
    schema.TensorType.COMPLEX64: np.complex64,
}
TENSOR_TYPES = {np.dtype(t): code for code, t in _NUMPY_TYPES.items()}

# Option fields that hold enums, by their schema (camelCase) name; everything else is a number,
# a bool or a list of numbers.
ENUM_FIELDS: dict[str, type] = {
    "padding": schema.Padding,
    "fusedActivationFunction": schema.ActivationFunctionType,
    "weightsFormat": schema.FullyConnectedOptionsWeightsFormat,
    "quantizedBiasType": schema.TensorType,
    "inDataType": schema.TensorType,
    "outDataType": schema.TensorType,
    "outputType": schema.TensorType,
    "idxOutType": schema.TensorType,
    "mode": schema.MirrorPadMode,
    "combinerType": schema.CombinerType,
    "kernelType": schema.LSTMKernelType,
}
_ENUM_NAMES = {field: _enum_names(cls) for field, cls in ENUM_FIELDS.items()}


def snake_case(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def camel_case(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def numpy_dtype(tensor_type: int) -> np.dtype:
    if tensor_type not in _NUMPY_TYPES:
        name = TENSOR_TYPE_NAMES.get(tensor_type, str(tensor_type))
        raise ModelError(f"tensor type {name} is not supported")
    return np.dtype(_NUMPY_TYPES[tensor_type])


def load_model(source: str | Path | bytes | bytearray) -> Model:
    """Parse a .tflite model from a path or from its bytes. Only subgraph 0 is supported."""
    raw, label = _read_source(source)
    if len(raw) < 8 or raw[4:8] != FILE_IDENTIFIER:
        raise ModelError(
            f"{label}: not a valid .tflite flatbuffer (no {FILE_IDENTIFIER.decode()} "
            f"file identifier in its first 8 bytes)"
        )
    try:
        fb = schema.ModelT.InitFromPackedBuf(raw, 0)
    except Exception as exc:  # the unverified flatbuffer reader fails in many ways
        raise ModelError(f"{label}: not a valid .tflite flatbuffer ({type(exc).__name__}: {exc})") from None
    try:
        return _convert(fb, raw, label)
    except ModelError:
        raise
    except Exception as exc:
        raise ModelError(f"{label}: not a valid .tflite flatbuffer ({type(exc).__name__}: {exc})") from None


def _read_source(source: str | Path | bytes | bytearray) -> tuple[bytes, str]:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source), "model bytes"
    if not isinstance(source, (str, Path)):
        raise ModelError(f"a model is a path or bytes, not {type(source).__name__}")
    return read_regular_file(source, "model file", ModelError), str(source)


def _convert(fb: Any, raw: bytes, label: str) -> Model:
    subgraphs = fb.subgraphs or []
    if len(subgraphs) != 1:
        raise ModelError(f"{label}: has {len(subgraphs)} subgraphs; only single-subgraph models are supported")
    sg = subgraphs[0]
    buffers = fb.buffers or []
    tensors = [_tensor(i, t, buffers, raw, label) for i, t in enumerate(sg.tensors or [])]
    opcodes = [_opcode_name(code, label) for code in fb.operatorCodes or []]
    operators = [_operator(i, op, opcodes, len(tensors), label) for i, op in enumerate(sg.operators or [])]
    inputs = _indices(sg.inputs, len(tensors), f"{label}: subgraph input")
    outputs = _indices(sg.outputs, len(tensors), f"{label}: subgraph output")
    return Model(
        tensors=tensors,
        operators=operators,
        inputs=inputs,
        outputs=outputs,
        raw=raw,
        sha256=hashlib.sha256(raw).hexdigest(),
        description=_text(fb.description),
    )


def _text(value: bytes | str | None) -> str:
    if value is None:
        return ""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _indices(values: Any, count: int, what: str, allow_absent: bool = False) -> list[int]:
    result = [int(v) for v in (values if values is not None else [])]
    for v in result:
        if not (0 <= v < count or (allow_absent and v == -1)):
            raise ModelError(f"{what} refers to tensor {v}, but there are {count} tensors")
    return result


def _opcode_name(code: Any, label: str) -> str:
    # Codes above 127 live only in builtin_code; old files only fill deprecated_builtin_code.
    value = max(code.builtinCode, code.deprecatedBuiltinCode)
    if value == schema.BuiltinOperator.CUSTOM:
        return f"CUSTOM:{_text(code.customCode)}"
    if value not in OPCODE_NAMES:
        raise ModelError(f"{label}: unknown builtin operator code {value}")
    return OPCODE_NAMES[value]


def _tensor(index: int, t: Any, buffers: list, raw: bytes, label: str) -> Tensor:
    name = _text(t.name)
    where = f"{label}: tensor {index} ({name})"
    try:
        dtype = numpy_dtype(t.type)
    except ModelError as exc:
        raise ModelError(f"{where}: {exc}") from None
    shape = tuple(int(d) for d in (t.shape if t.shape is not None else []))
    _check_shape(shape, dtype, where)
    if not 0 <= t.buffer < max(len(buffers), 1):
        raise ModelError(f"{where} refers to buffer {t.buffer}, but there are {len(buffers)}")
    data = _buffer_data(buffers[t.buffer], raw) if buffers else None
    if data is not None:
        data = _shaped(data, dtype, shape, where)
    return Tensor(
        index=index, name=name, shape=shape, dtype=dtype, quant=_quant(t.quantization, dtype, where), data=data
    )


def _check_shape(shape: tuple[int, ...], dtype: np.dtype, where: str) -> None:
    """Dims are sizes, and the tensor's element count and bytes fit the device's 32 bits."""
    for axis, dim in enumerate(shape):
        if dim < 0:
            raise ModelError(f"{where}: dimension {axis} of shape {list(shape)} is negative")
    elements = math.prod(shape)  # Python ints: no silent wrap-around
    if elements * dtype.itemsize > MAX_TENSOR_BYTES:
        raise ModelError(
            f"{where}: shape {list(shape)} of {dtype} is {elements * dtype.itemsize} "
            f"bytes, more than the 32-bit limit of {MAX_TENSOR_BYTES}"
        )


def _buffer_data(buffer: Any, raw: bytes) -> np.ndarray | None:
    if buffer.offset > 1:  # models over 2 GB keep data after the flatbuffer
        if buffer.offset + buffer.size > len(raw):
            raise ModelError("buffer data lies beyond the end of the file")
        return np.frombuffer(raw, np.uint8, buffer.size, buffer.offset)
    if buffer.data is None or len(buffer.data) == 0:
        return None
    return np.asarray(buffer.data, dtype=np.uint8)


def _shaped(data: np.ndarray, dtype: np.dtype, shape: tuple[int, ...], where: str) -> np.ndarray:
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if data.size != expected:
        raise ModelError(f"{where}: buffer holds {data.size} bytes, shape {list(shape)} of {dtype} needs {expected}")
    values = data.view(dtype) if data.size else np.zeros(0, dtype)
    values = values.reshape(shape)
    values.flags.writeable = False
    return values


def _quant(q: Any, dtype: np.dtype, where: str) -> QuantParams | None:
    if q is None or q.scale is None or len(q.scale) == 0:
        return None
    scale = np.asarray(q.scale, dtype=np.float32)
    zero_point = (
        np.asarray(q.zeroPoint, dtype=np.int64)
        if q.zeroPoint is not None and len(q.zeroPoint)
        else np.zeros(scale.shape, np.int64)
    )
    _check_quant(scale, zero_point, dtype, where)
    return QuantParams(scale=scale, zero_point=zero_point, axis=int(q.quantizedDimension))


def _check_quant(scale: np.ndarray, zero_point: np.ndarray, dtype: np.dtype, where: str) -> None:
    """Scales are finite and positive; zero points are values of the tensor's type (int32 for
    float tensors), one per scale. Requantization divides by scales and packs zero points into
    32-bit fields, so anything else would end in a traceback or a wrong model."""
    bad = np.flatnonzero(~np.isfinite(scale) | (scale <= 0))
    if bad.size:
        raise ModelError(
            f"{where}: quantization scale {scale[bad[0]]} (channel {bad[0]}) is not a finite positive number"
        )
    if zero_point.size != scale.size:
        raise ModelError(f"{where}: {zero_point.size} quantization zero points for {scale.size} scales")
    low, high = (
        (np.iinfo(dtype).min, np.iinfo(dtype).max) if dtype.kind in "iu" and dtype.itemsize <= 4 else INT32_RANGE
    )
    bad = np.flatnonzero((zero_point < low) | (zero_point > high))
    if bad.size:
        raise ModelError(
            f"{where}: quantization zero point {zero_point[bad[0]]} (channel {bad[0]}) lies outside [{low}, {high}]"
        )


def _operator(index: int, op: Any, opcodes: list[str], tensor_count: int, label: str) -> Operator:
    if not 0 <= op.opcodeIndex < len(opcodes):
        raise ModelError(
            f"{label}: operator {index} refers to operator code {op.opcodeIndex}, but there are {len(opcodes)}"
        )
    where = f"{label}: operator {index} ({opcodes[op.opcodeIndex]})"
    return Operator(
        index=index,
        opcode=opcodes[op.opcodeIndex],
        inputs=_indices(op.inputs, tensor_count, f"{where} input", allow_absent=True),
        outputs=_indices(op.outputs, tensor_count, f"{where} output"),
        options=options_to_dict(op.builtinOptions),
    )


def options_to_dict(options: Any) -> dict[str, Any]:
    """A schema options object (e.g. Conv2DOptionsT) as {snake_case: value}, enums as names."""
    if options is None:
        return {}
    result: dict[str, Any] = {}
    for field, value in vars(options).items():
        if value is None:  # an absent nested table
            continue
        if field in _ENUM_NAMES:
            value = _ENUM_NAMES[field].get(value, value)
        elif isinstance(value, (np.ndarray, list)):
            value = [v.item() if isinstance(v, np.generic) else v for v in value]
        elif isinstance(value, bytes):
            value = _text(value)
        result[snake_case(field)] = value
    return result

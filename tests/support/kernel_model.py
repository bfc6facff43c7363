"""Minimal builder of single-operator .tflite models, for the kernel tests.

Uses the flatbuffer object API shipped in the tflite-micro pip package
(schema_py_generated: ModelT, SubGraphT, TensorT, ...). It is deliberately
small: one subgraph, one operator, constant tensors get their own buffer.
(The harness's own writer is harness/model/writer.py; single_op.py builds its models with it.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import flatbuffers
import numpy as np
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

TensorType = schema.TensorType
BuiltinOperator = schema.BuiltinOperator
BuiltinOptions = schema.BuiltinOptions
Padding = schema.Padding
Activation = schema.ActivationFunctionType

_NP_TO_TFLITE = {
    np.dtype(np.float32): TensorType.FLOAT32,
    np.dtype(np.int8): TensorType.INT8,
    np.dtype(np.int32): TensorType.INT32,
    np.dtype(np.int16): TensorType.INT16,
    np.dtype(np.int64): TensorType.INT64,
}


@dataclass
class Tensor:
    """One tensor of the model. data=None: a runtime tensor (input/output)."""

    shape: Sequence[int]
    dtype: Any
    data: np.ndarray | None = None
    scale: Sequence[float] | None = None  # quantization scales (float32)
    zero_point: Sequence[int] | None = None
    quantized_dimension: int = 0
    name: str = ""

    def tflite_type(self) -> int:
        return _NP_TO_TFLITE[np.dtype(self.dtype)]


@dataclass
class Op:
    builtin: int
    inputs: list[int]  # tensor indices (-1: optional input absent)
    outputs: list[int]
    options_type: int = BuiltinOptions.NONE
    options: Any = None
    version: int = 1


@dataclass
class SingleOpModel:
    tensors: list[Tensor] = field(default_factory=list)
    inputs: list[int] = field(default_factory=list)
    outputs: list[int] = field(default_factory=list)

    def add(self, tensor: Tensor) -> int:
        self.tensors.append(tensor)
        return len(self.tensors) - 1

    def build(self, op: Op) -> bytes:
        model = schema.ModelT()
        model.version = 3
        model.description = "hil kernel test"
        code = schema.OperatorCodeT()
        code.builtinCode = op.builtin
        code.deprecatedBuiltinCode = min(op.builtin, 127)
        code.version = op.version
        model.operatorCodes = [code]

        buffers = [schema.BufferT()]  # buffer 0: the empty sentinel
        tensors = []
        for i, t in enumerate(self.tensors):
            tt = schema.TensorT()
            tt.shape = np.asarray(list(t.shape), dtype=np.int32)
            tt.type = t.tflite_type()
            tt.name = t.name or f"t{i}"
            if t.data is not None:
                buf = schema.BufferT()
                arr = np.ascontiguousarray(np.asarray(t.data, dtype=t.dtype))
                buf.data = np.frombuffer(arr.tobytes(), dtype=np.uint8)
                buffers.append(buf)
                tt.buffer = len(buffers) - 1
            else:
                tt.buffer = 0
            if t.scale is not None:
                q = schema.QuantizationParametersT()
                q.scale = [float(np.float32(s)) for s in t.scale]
                q.zeroPoint = [int(z) for z in (t.zero_point if t.zero_point is not None else [0] * len(t.scale))]
                q.quantizedDimension = t.quantized_dimension
                tt.quantization = q
            tensors.append(tt)

        operator = schema.OperatorT()
        operator.opcodeIndex = 0
        operator.inputs = list(op.inputs)
        operator.outputs = list(op.outputs)
        operator.builtinOptionsType = op.options_type
        operator.builtinOptions = op.options

        sg = schema.SubGraphT()
        sg.tensors = tensors
        sg.inputs = list(self.inputs)
        sg.outputs = list(self.outputs)
        sg.operators = [operator]
        sg.name = "main"
        model.subgraphs = [sg]
        model.buffers = buffers

        builder = flatbuffers.Builder(4096)
        builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
        return bytes(builder.Output())


def run_tflm(
    model_bytes: bytes, inputs: Sequence[np.ndarray], arena_size: int = 4 * 1024 * 1024, num_outputs: int = 1
) -> list[np.ndarray]:
    """Run a model on the tflite-micro Python interpreter; returns the outputs."""
    from tflite_micro.python.tflite_micro import runtime

    interp = runtime.Interpreter.from_bytes(model_bytes, arena_size=arena_size)
    for i, x in enumerate(inputs):
        interp.set_input(np.ascontiguousarray(x), i)
    interp.invoke()
    return [np.array(interp.get_output(i)) for i in range(num_outputs)]

"""The op table: every operator the device engine runs, each one entry (docs/architecture.md).

An entry gives, for one TFLite builtin operator: how it is lowered (harness/engine/lower.py),
the options `ModelBuilder.operator` assumes when they are not given (harness/model/writer.py)
and how `hil quantize` gives it int8 parameters (harness/model/quantize.py). Its code and the
types its kernel computes in, with a parameter record for each, are the device contract's
(harness/contracts/model_format.yaml, `ops`); the table reads them from there. Lowering, the
writer, the quantizer and the test support (the random and the fixed single-op models,
tests/support/) all read this table, in this order.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from types import MappingProxyType
from typing import Any

import numpy as np

from ..model.tflite import Model
from . import lower as lowering
from .format import OPCODES, SPEC
from .lower import Layer, LoweredOp, UnsupportedModel


@dataclass(frozen=True)
class Quantized:
    """How `hil quantize` gives one operator's float tensors int8 parameters.

    By default the output gets its own asymmetric parameters from the calibration range.
    """

    # Constant weights (input 1) and bias (input 2): symmetric per channel on this weight axis.
    weight_axis: int | None = None
    # The output scale and zero point TFLM's int8 kernel requires.
    fixed_output: tuple[float, int] | None = None
    # TFLM's int8 kernel copies or pools values without rescaling: its data inputs and its output
    # share one set of parameters.
    shares_params: bool = False
    # Every input carries data (CONCATENATION); otherwise only the first does (the rest are
    # shapes, paddings or axes).
    all_inputs_data: bool = False


@dataclass(frozen=True)
class Op:
    name: str  # the TFLite builtin operator, e.g. "CONV_2D"
    lower: Callable[[Layer], LoweredOp]
    options: Mapping[str, Any] = field(default_factory=dict)  # ModelBuilder's defaults
    quantize: Quantized | None = Quantized()  # None: `hil quantize` refuses it

    @property
    def code(self) -> int:
        """The device's ENGINE_OP_* value, the TFLite builtin code (the contract's `code`)."""
        return OPCODES[self.name]

    @property
    def dtypes(self) -> tuple[str, ...]:
        """The types the kernel computes in (LoweredOp.dtype; the contract's `params` keys);
        the single-op test models come in these."""
        return tuple(SPEC.raw["ops"][self.name]["params"])


_WINDOW = {"padding": "VALID", "stride_w": 1, "stride_h": 1}
_CONV = {**_WINDOW, "fused_activation_function": "NONE", "dilation_w_factor": 1, "dilation_h_factor": 1}
_POOL = {**_WINDOW, "filter_width": 1, "filter_height": 1, "fused_activation_function": "NONE"}
_FUSED = {"fused_activation_function": "NONE"}
_SHARED = Quantized(shares_params=True)
_PROBABILITY = Quantized(fixed_output=(1.0 / 256, -128))

_TABLE = (
    Op("CONV_2D", partial(lowering.conv, depthwise=False), options=_CONV, quantize=Quantized(weight_axis=0)),
    Op(
        "DEPTHWISE_CONV_2D",
        partial(lowering.conv, depthwise=True),
        options={**_CONV, "depth_multiplier": 1},
        quantize=Quantized(weight_axis=3),
    ),
    Op(
        "FULLY_CONNECTED",
        lowering.fully_connected,
        options={**_FUSED, "weights_format": "DEFAULT", "keep_num_dims": False},
        quantize=Quantized(weight_axis=0),
    ),
    Op("AVERAGE_POOL_2D", lowering.pool, options=_POOL, quantize=_SHARED),
    Op("MAX_POOL_2D", lowering.pool, options=_POOL, quantize=_SHARED),
    Op("ADD", lowering.binary, options=_FUSED),
    Op("MUL", lowering.binary, options=_FUSED),
    Op("SOFTMAX", lowering.softmax, options={"beta": 1.0}, quantize=_PROBABILITY),
    Op("LOGISTIC", lowering.logistic, quantize=_PROBABILITY),
    Op("RESHAPE", lowering.reshape, quantize=_SHARED),
    Op("PAD", lowering.pad, quantize=_SHARED),
    Op("MEAN", lowering.mean, options={"keep_dims": False}),
    Op(
        "CONCATENATION",
        lowering.concatenation,
        options={"axis": 0, **_FUSED},
        quantize=Quantized(shares_params=True, all_inputs_data=True),
    ),
    # QUANTIZE computes in its input's type (float32 quantizes, int8 requantizes); DEQUANTIZE
    # reads int8. A float model has neither, so the quantizer has nothing to do with them.
    Op("QUANTIZE", lowering.quantize, quantize=None),
    Op("DEQUANTIZE", lowering.dequantize, quantize=None),
)

OPS: Mapping[str, Op] = MappingProxyType({op.name: op for op in _TABLE})
SUPPORTED: tuple[str, ...] = tuple(OPS)
assert set(OPS) == set(OPCODES), "the op table and harness/contracts/model_format.yaml differ"


def lower(model: Model) -> list[LoweredOp]:
    """Every operator of `model` lowered; the first unsupported one raises UnsupportedModel."""
    lowered = []
    for op in model.operators:
        layer = Layer(model, op)
        entry = OPS.get(op.opcode)
        if entry is None:
            raise layer.fail(
                f"operator {op.opcode} is not supported by the device engine (supported: {', '.join(SUPPORTED)})"
            )
        for index in op.outputs:
            layer.dtype(model.tensors[index], (np.int8, np.float32))
        try:
            lowered.append(entry.lower(layer))
        except (ValueError, OverflowError, ZeroDivisionError) as exc:  # requant's range checks
            raise layer.fail(f"its quantization scales give requantization parameters out of range ({exc})") from None
    return lowered


__all__ = ["OPS", "SUPPORTED", "Op", "Quantized", "UnsupportedModel", "lower"]

"""Post-training int8 quantization of float32 models, with the TFLite converter's conventions.

Which operators it takes and what each needs comes from the op table (harness/engine/ops.py,
each entry's `quantize`):
- weights: symmetric int8 in [-127, 127], one scale per output channel (axis 0 for CONV_2D and
  FULLY_CONNECTED, axis 3 for DEPTHWISE_CONV_2D), widened for channels whose bias would not fit
  in int32 otherwise (as the converter's AdjustWeightsForBiasScale does);
- biases: int32, scale input_scale * weight_scale, zero point 0;
- activations (and the model's inputs and outputs): asymmetric int8 from the min/max seen on
  calibration data, the range stretched to include 0;
- SOFTMAX and LOGISTIC outputs: scale 1/256, zero point -128;
- operators that move values without rescaling them in TFLM (pooling, RESHAPE, PAD,
  CONCATENATION) share one set of parameters between their inputs and outputs.

Ranges come from running the float model in the TFLM reference with every tensor preserved.
The quantized model keeps the float model's tensor and operator layout, which is how the
report lines up int8 tensors with float ones.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from ..engine.ops import OPS
from ..errors import HarnessError
from ..input_files import check_regular_file, read_regular_file
from ..reference import Reference
from .tflite import Model, ModelError, Operator, QuantParams, Tensor, load_model
from .writer import build_model

INT8_MIN, INT8_MAX = -128, 127
INT32_MAX = (1 << 31) - 1
RULES = {op.name: op.quantize for op in OPS.values() if op.quantize is not None}
SUPPORTED = set(RULES)
WEIGHT_AXIS = {name: rule.weight_axis for name, rule in RULES.items() if rule.weight_axis is not None}
FIXED_OUTPUT = {name: rule.fixed_output for name, rule in RULES.items() if rule.fixed_output is not None}
# Operators whose TFLM int8 kernels copy or pool values without requantizing them.
SHARED_PARAMS = {name for name, rule in RULES.items() if rule.shares_params}


@dataclass
class LayerReport:
    index: int  # operator index
    opcode: str
    output: str  # output tensor name
    sqnr_db: float  # int8 output (dequantized) against the float output


@dataclass
class QuantReport:
    samples: int
    layers: list[LayerReport] = field(default_factory=list)
    # How often argmax of the first output is the same for int8 and float; None when that
    # output holds a single value per sample.
    top1_agreement: float | None = None

    @property
    def output_sqnr_db(self) -> float:
        return self.layers[-1].sqnr_db if self.layers else math.nan

    def format(self) -> str:
        lines = [f"{'op':>4}  {'kind':<18} {'SQNR dB':>8}  output"]
        lines += [f"{r.index:>4}  {r.opcode:<18} {r.sqnr_db:>8.2f}  {r.output}" for r in self.layers]
        top1 = "n/a" if self.top1_agreement is None else f"{100 * self.top1_agreement:.1f}%"
        lines.append(f"top-1 agreement with the float model: {top1} over {self.samples} samples")
        return "\n".join(lines)


def quantize_model(float_model_bytes: bytes, calibration: np.ndarray) -> tuple[bytes, QuantReport]:
    """Quantize a float32 model to int8; returns the .tflite bytes and a per-layer report."""
    model = load_model(float_model_bytes)
    check_quantizable(model)
    samples = calibration_samples(model, calibration)
    ranges = collect_ranges(model, samples)
    params = activation_params(model, ranges)
    int8_bytes = build_model(
        _quantized_tensors(model, params),
        model.operators,
        model.inputs,
        model.outputs,
        f"int8 by hil quantize from {model.sha256[:16]}",
    )
    return int8_bytes, compare(model, load_model(int8_bytes), samples)


def check_quantizable(model: Model) -> None:
    """ModelError unless every operator is supported and the model is plain float32."""
    for i in model.inputs + model.outputs:
        if model.tensors[i].dtype != np.float32:
            raise ModelError(
                f"tensor {i} ({model.tensors[i].name}) is "
                f"{model.tensors[i].dtype}: only float32 models can be quantized"
            )
    if len(model.inputs) != 1:
        raise ModelError(f"the model has {len(model.inputs)} inputs; calibration supports one")
    for tensor in model.tensors:
        if tensor.data is not None and tensor.dtype.kind == "f" and not np.all(np.isfinite(tensor.data)):
            raise ModelError(
                f"tensor {tensor.index} ({tensor.name}) holds NaN or infinite values: its weights cannot be quantized"
            )
    for op in model.operators:
        if op.opcode not in SUPPORTED:
            raise ModelError(
                f"operator {op.index} ({op.opcode}) cannot be quantized: supported are {', '.join(sorted(SUPPORTED))}"
            )
        if op.opcode in WEIGHT_AXIS and model.tensors[op.inputs[1]].dtype != np.float32:
            raise ModelError(
                f"operator {op.index} ({op.opcode}) has "
                f"{model.tensors[op.inputs[1]].dtype} weights and float "
                f"activations: a hybrid model, which TFLM refuses to run"
            )


def calibration_samples(model: Model, calibration: np.ndarray) -> list[np.ndarray]:
    """Split calibration data [N, *input_shape[1:]] (or one input-shaped array) into samples."""
    shape = model.tensors[model.inputs[0]].shape
    data = np.asarray(calibration)
    if not np.issubdtype(data.dtype, np.number):
        raise HarnessError(f"calibration data must be numbers, got {data.dtype}")
    if not np.all(np.isfinite(data)):
        raise HarnessError("calibration data holds NaN or infinite values")
    if data.shape == shape:
        data = data.reshape((1,) + shape[1:]) if shape and shape[0] == 1 else data[None]
    if data.shape[1:] != shape[1:] or (shape and shape[0] != 1) or len(data) == 0:
        raise HarnessError(
            f"calibration data has shape {list(data.shape)}; the model's input "
            f"is {list(shape)}, so expected [N, {', '.join(map(str, shape[1:]))}]"
        )
    return [sample.reshape(shape).astype(np.float32) for sample in data]


def collect_ranges(model: Model, samples: list[np.ndarray]) -> dict[int, tuple[float, float]]:
    """Min and max of every non-constant float tensor over the samples, stretched to hold 0."""
    low: dict[int, float] = {}
    high: dict[int, float] = {}
    with Reference(model, preserve_all=True, name="float model") as ref:
        for sample in samples:
            for index, value in ref.run_all([sample]).items():
                if model.tensors[index].data is None and value.dtype == np.float32 and value.size:
                    low[index] = min(low.get(index, 0.0), float(value.min()))
                    high[index] = max(high.get(index, 0.0), float(value.max()))
    return {i: (low[i], high[i]) for i in low}


def asymmetric_params(low: float, high: float) -> tuple[float, int]:
    """(scale, zero point) mapping [low, high] (which holds 0) onto [-128, 127], with the
    zero point nudged to an integer as the converter does."""
    low, high = min(low, 0.0), max(high, 0.0)
    if high == low:
        return 1.0, 0
    scale = (high - low) / (INT8_MAX - INT8_MIN)
    zero_point = INT8_MIN - low / scale
    return float(np.float32(scale)), int(np.clip(_round(zero_point), INT8_MIN, INT8_MAX))


def activation_params(model: Model, ranges: dict[int, tuple[float, float]]) -> dict[int, QuantParams]:
    """int8 parameters of every float tensor that is not a weight or bias."""
    groups = _shared_groups(model)
    fixed = {op.outputs[0]: FIXED_OUTPUT[op.opcode] for op in model.operators if op.opcode in FIXED_OUTPUT}
    params: dict[int, QuantParams] = {}
    for members in groups:
        scale, zero_point = _group_params(model, members, ranges, fixed)
        for i in members:
            params[i] = QuantParams(np.array([scale], np.float32), np.array([zero_point]), 0)
    return params


def _shared_groups(model: Model) -> list[list[int]]:
    """Float non-weight tensors, grouped by the operators that need them to share parameters."""
    parent: dict[int, int] = {}

    def find(i: int) -> int:
        while parent.setdefault(i, i) != i:
            i = parent[i]
        return i

    weights = _weight_roles(model)
    for t in model.tensors:
        if t.dtype == np.float32 and t.index not in weights:
            find(t.index)
    for op in model.operators:
        if op.opcode in SHARED_PARAMS:
            for i in op.inputs[: _data_inputs(op)] + op.outputs:
                parent[find(i)] = find(op.outputs[0])
    groups: dict[int, list[int]] = {}
    for i in parent:
        groups.setdefault(find(i), []).append(i)
    return list(groups.values())


def _data_inputs(op: Operator) -> int:
    """How many leading inputs carry data (the rest are shapes or paddings)."""
    return len(op.inputs) if RULES[op.opcode].all_inputs_data else 1


def _group_params(
    model: Model, members: list[int], ranges: dict[int, tuple[float, float]], fixed: dict[int, tuple[float, int]]
) -> tuple[float, int]:
    pinned = {fixed[i] for i in members if i in fixed}
    if len(pinned) > 1:
        raise ModelError(
            f"tensors {sorted(members)} must share int8 parameters, but more than one of them has fixed ones"
        )
    if pinned:
        return pinned.pop()
    low = min(_range(model.tensors[i], ranges)[0] for i in members)
    high = max(_range(model.tensors[i], ranges)[1] for i in members)
    return asymmetric_params(low, high)


def _range(tensor: Tensor, ranges: dict[int, tuple[float, float]]) -> tuple[float, float]:
    if tensor.data is not None:
        return float(tensor.data.min(initial=0.0)), float(tensor.data.max(initial=0.0))
    if tensor.index not in ranges:
        raise ModelError(f"tensor {tensor.index} ({tensor.name}) got no value in the calibration run")
    return ranges[tensor.index]


def _weight_roles(model: Model) -> dict[int, tuple[str, Operator]]:
    """Constant tensors used as weights or biases -> (role, operator using them)."""
    roles: dict[int, tuple[str, Operator]] = {}
    for op in model.operators:
        if op.opcode not in WEIGHT_AXIS:
            continue
        for role, i in zip(("weights", "bias"), op.inputs[1:3]):
            if i == -1:
                continue
            if i in roles or model.tensors[i].data is None:
                raise ModelError(
                    f"operator {op.index} ({op.opcode}): {role} tensor {i} must be "
                    f"a constant used by this operator only"
                )
            roles[i] = (role, op)
    return roles


def _quantized_tensors(model: Model, params: dict[int, QuantParams]) -> list[Tensor]:
    roles = _weight_roles(model)
    weight_quant = {
        op.inputs[1]: _weight_quant(model, op, params[op.inputs[0]].scale[0])
        for role, op in roles.values()
        if role == "weights"
    }
    result = []
    for t in model.tensors:
        if t.index in roles and roles[t.index][0] == "weights":
            result.append(_quantize_weights(t, weight_quant[t.index]))
        elif t.index in roles:
            op = roles[t.index][1]
            input_scale = params[op.inputs[0]].scale[0]
            result.append(_quantize_bias(t, input_scale, weight_quant[op.inputs[1]]))
        elif t.index in params:
            result.append(_quantize_activation(t, params[t.index]))
        else:
            result.append(t)  # int32 shapes, paddings, axes
    return result


def _weight_quant(model: Model, op: Operator, input_scale: float) -> QuantParams:
    """Per-channel symmetric scales, widened where the bias would overflow int32 otherwise
    (the converter's AdjustWeightsForBiasScale: near-zero channels with a real bias)."""
    weights = model.tensors[op.inputs[1]].constant_data().astype(np.float64)
    axis = WEIGHT_AXIS[op.opcode]
    other = tuple(d for d in range(weights.ndim) if d != axis)
    scale = np.abs(weights).max(axis=other) / INT8_MAX
    if len(op.inputs) > 2 and op.inputs[2] != -1:
        bias = np.abs(model.tensors[op.inputs[2]].constant_data().astype(np.float64))
        too_small = bias >= 0.5 * float(input_scale) * scale * INT32_MAX
        scale = np.where(too_small, 2.0 * bias / (INT32_MAX * float(input_scale)), scale)
    scale = np.where(scale > 0, scale, 1.0).astype(np.float32)  # all zero: any scale will do
    return QuantParams(scale, np.zeros(scale.shape, np.int64), axis)


def _quantize_weights(t: Tensor, q: QuantParams) -> Tensor:
    weights = t.constant_data()
    shape = [1] * weights.ndim
    shape[q.axis] = -1
    values = _round(weights.astype(np.float64) / q.scale.astype(np.float64).reshape(shape))
    data = np.clip(values, -INT8_MAX, INT8_MAX).astype(np.int8)
    return replace(t, dtype=np.dtype(np.int8), quant=q, data=data)


def _quantize_bias(t: Tensor, input_scale: float, weights: QuantParams) -> Tensor:
    scale = (np.float64(input_scale) * weights.scale.astype(np.float64)).astype(np.float32)
    values = _round(t.constant_data().astype(np.float64) / scale.astype(np.float64))
    data = np.clip(values, -(1 << 31), (1 << 31) - 1).astype(np.int32)
    quant = QuantParams(scale, np.zeros(scale.shape, np.int64), 0)
    return replace(t, dtype=np.dtype(np.int32), quant=quant, data=data)


def _quantize_activation(t: Tensor, q: QuantParams) -> Tensor:
    data = None if t.data is None else quantize_array(t.data, q)
    return replace(t, dtype=np.dtype(np.int8), quant=q, data=data)


def quantize_array(values: np.ndarray, q: QuantParams) -> np.ndarray:
    """Float values -> int8 with per-tensor parameters."""
    scaled = _round(np.asarray(values, np.float64) / float(q.scale[0])) + int(q.zero_point[0])
    return np.clip(scaled, INT8_MIN, INT8_MAX).astype(np.int8)


def _quant_of(t: Tensor) -> QuantParams:
    """The parameters of a tensor of a model quantize_model made (it gives every tensor some)."""
    if t.quant is None:
        raise ModelError(f"tensor {t.index} ({t.name}) of the int8 model is not quantized")
    return t.quant


def dequantize_array(values: np.ndarray, q: QuantParams) -> np.ndarray:
    return (values.astype(np.float64) - float(q.zero_point[0])) * float(q.scale[0])


def _round(x: np.ndarray | float) -> np.ndarray:
    """Halves away from zero, like TfLiteRound (numpy rounds them to even)."""
    return np.sign(x) * np.floor(np.abs(x) + 0.5)


# ---- the report -------------------------------------------------------------------------


def compare(float_model: Model, int8_model: Model, samples: list[np.ndarray]) -> QuantReport:
    """Per-layer SQNR and top-1 agreement of the int8 model against the float model."""
    outputs = [op.outputs[0] for op in float_model.operators]
    signal = np.zeros(len(outputs))
    noise = np.zeros(len(outputs))
    agree = 0
    input_quant = _quant_of(int8_model.tensors[int8_model.inputs[0]])
    with (
        Reference(float_model, preserve_all=True, name="float model") as f_ref,
        Reference(int8_model, preserve_all=True, name="int8 model") as q_ref,
    ):
        for sample in samples:
            f_values = f_ref.run_all([sample])
            q_values = q_ref.run_all([quantize_array(sample, input_quant)])
            for k, t in enumerate(outputs):
                expected = f_values[t].astype(np.float64)
                got = dequantize_array(q_values[t], _quant_of(int8_model.tensors[t]))
                signal[k] += float(np.sum(expected**2))
                noise[k] += float(np.sum((expected - got) ** 2))
            out = float_model.outputs[0]
            agree += int(np.argmax(f_values[out]) == np.argmax(q_values[out]))
    layers = [
        LayerReport(op.index, op.opcode, float_model.tensors[t].name, _sqnr(s, n))
        for op, t, s, n in zip(float_model.operators, outputs, signal, noise)
    ]
    classes = float_model.tensors[float_model.outputs[0]].shape[-1:] or (1,)
    top1 = agree / len(samples) if classes[0] > 1 else None
    return QuantReport(samples=len(samples), layers=layers, top1_agreement=top1)


def _sqnr(signal: float, noise: float) -> float:
    if noise == 0:
        return math.inf
    if signal == 0:
        return -math.inf
    return 10 * math.log10(signal / noise)


# ---- `hil quantize MODEL.tflite --calib DATA.npy -o OUT.tflite` -------------------------


def run_quantize(model_path: str | Path, calib_path: str | Path, out_path: str | Path) -> QuantReport:
    """The command's work: read the float model and calibration data, write the int8 model."""
    model_bytes = read_regular_file(model_path, "model", ModelError)
    check_regular_file(calib_path, "calibration data")
    try:
        calibration = np.load(calib_path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise HarnessError(f"{calib_path}: cannot read calibration data ({exc})") from None
    try:
        int8_bytes, report = quantize_model(model_bytes, calibration)
    except ModelError as exc:
        raise ModelError(f"{model_path}: {exc}") from None
    Path(out_path).write_bytes(int8_bytes)
    return report


HELP = "quantize a float32 .tflite model to int8 with calibration data"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `hil quantize`, for harness.commands to register."""
    parser.add_argument("model", help="float32 .tflite model")
    parser.add_argument("--calib", required=True, help=".npy calibration inputs [N, ...]")
    parser.add_argument("-o", "--output", required=True, help="where to write the int8 model")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")


def command(args: argparse.Namespace) -> int:
    """`hil quantize`: raises HarnessError on bad input, prints the report, returns 0."""
    report = run_quantize(args.model, args.calib, args.output)
    print(json.dumps(asdict(report), indent=2) if args.json else report.format())
    return 0


def main(argv: list[str] | None = None) -> int:
    """Standalone entry point: `python -m harness.model.quantize MODEL --calib X -o OUT`."""
    parser = argparse.ArgumentParser(prog="hil quantize", description=HELP)
    add_arguments(parser)
    try:
        return command(parser.parse_args(argv))
    except HarnessError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_status


if __name__ == "__main__":
    sys.exit(main())

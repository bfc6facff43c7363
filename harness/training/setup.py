"""A trainable int8 graph (docs/training_spec.md) and its byte image for the device.

The graph is a chain: `dense` layers (fully connected, or a 1x1 convolution applied at every
spatial position of an NHWC tensor), and `avgpool` (global average pooling). Each dense layer
carries int8 weights [out, in] with per-output-channel scales, int32 biases, TFLM requantization
(multiplier, shift) and what the sparse-update scheme trains: its bias and/or its first
`train_channels` input channels. The packed image is what the device keeps in its arena and
updates in place, so offsets inside it are also how trained parameters are read back.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np

from .. import contracts
from ..errors import HarnessError

# The image's layouts and codes: harness/contracts/training_image.yaml (which also generates the
# firmware's training_image.h), packed by field name.
IMAGE = contracts.load("training_image")
SETUP_HEADER = IMAGE.records["setup_header"]
LAYER_RECORD = IMAGE.records["layer_record"]
MAGIC = IMAGE.value("MAGIC")  # "HTRN"
VERSION = IMAGE.value("VERSION")
KINDS = {name.lower(): code for name, code in IMAGE.enums["KIND"].items()}  # dense, avgpool, depthwise
PARAMETRIC = ("dense", "depthwise", "conv")
STRIDED = ("depthwise", "conv")  # SAME padding, stride 1 or 2, odd kernels up to 7
FLAGS = IMAGE.enums["FLAG"]  # QAS, INPUT_FROM_BACKBONE, DEFER_UPDATES
RECORD_WEIGHTS_IN_SLOT = IMAGE.enums["RECORD"]["WEIGHTS_IN_SLOT"]  # off_weights is in the flash slot


def record_offset(layer: int) -> int:
    """Where layer `layer`'s record starts in the image."""
    return SETUP_HEADER.size + LAYER_RECORD.size * layer


class TrainingSetupError(HarnessError):
    """A training graph or plan that cannot be built or run."""


def f32_bits(value: float) -> int:
    return int(np.array([value], np.float32).view(np.uint32)[0])


@dataclass
class TrainLayer:
    kind: str
    in_shape: tuple[int, int, int]  # (h, w, c)
    out_channels: int
    input_scale: float
    input_zero_point: int
    output_scale: float
    output_zero_point: int
    act_min: int = -128
    act_max: int = 127
    weights: np.ndarray | None = None  # int8 [out, in]; depthwise [kh, kw, c]; conv [out, kh, kw, in]
    bias: np.ndarray | None = None  # int32 [out]
    weight_scales: np.ndarray | None = None  # float32 [out]
    multiplier: np.ndarray | None = None  # int32 [out]; add: (input 1, input 2, output)
    shift: np.ndarray | None = None  # int32 [out]; add: (input 1, input 2, output)
    lr: float = 0.0
    train_bias: bool = False
    train_channels: int = 0
    name: str = ""
    kernel: tuple[int, int] = (1, 1)  # depthwise, conv: odd (kh, kw), SAME padding
    stride: int = 1  # depthwise, conv: 1 or 2, the same along both axes
    # The activation the layer reads (0: the chain input, m: layer m-1's output); None: the
    # previous layer's. An add's second operand is activation skip_ref (zero point skip_zero_point).
    input_ref: int | None = None
    skip_ref: int = 0
    skip_zero_point: int = 0
    # Offset of this layer's int8 weights in the flash model slot (the packed backbone the
    # device's engine runs), same layout; None: not there. Weights that do not train are then
    # read from flash and take no SRAM.
    slot_offset: int | None = None

    @property
    def weights_in_slot(self) -> bool:
        """Weights read from flash: frozen ones, and a dense layer's untrained input channels."""
        return (
            self.kind in PARAMETRIC
            and self.slot_offset is not None
            and (self.train_channels == 0 or self.kind in ("dense", "conv"))
        )

    @property
    def weights_split(self) -> bool:
        """The image holds only the trained columns W[:, :train_channels] (the rest in flash)."""
        return self.weights_in_slot and self.train_channels > 0

    def image_weights(self) -> np.ndarray:
        """The weights as the image holds them."""
        weights = np.asarray(self.weights, np.int8)
        return np.ascontiguousarray(weights[..., : self.train_channels]) if self.weights_split else weights

    @property
    def padding(self) -> tuple[int, int]:
        """TFLM's SAME padding before the first row/column (depthwise; 0 otherwise)."""
        h, w, _ = self.in_shape
        oh, ow, _ = self.out_shape
        return (
            max((oh - 1) * self.stride + self.kernel[0] - h, 0) // 2,
            max((ow - 1) * self.stride + self.kernel[1] - w, 0) // 2,
        )

    @property
    def out_positions(self) -> int:
        return self.out_shape[0] * self.out_shape[1]

    @property
    def positions(self) -> int:
        return self.in_shape[0] * self.in_shape[1]

    @property
    def out_shape(self) -> tuple[int, int, int]:
        if self.kind == "avgpool":
            return (1, 1, self.out_channels)
        if self.kind in STRIDED:  # SAME: ceil(in / stride)
            return (-(-self.in_shape[0] // self.stride), -(-self.in_shape[1] // self.stride), self.out_channels)
        return (self.in_shape[0], self.in_shape[1], self.out_channels)

    @property
    def in_size(self) -> int:
        return int(np.prod(self.in_shape))

    @property
    def out_size(self) -> int:
        return int(np.prod(self.out_shape))

    @property
    def weights_per_channel(self) -> int:
        """Weights per input channel: dense Cout, depthwise KH*KW, conv Cout*KH*KW."""
        kernel = self.kernel[0] * self.kernel[1]
        return {"depthwise": kernel, "conv": kernel * self.out_channels}.get(self.kind, self.out_channels)

    @property
    def trained_parameters(self) -> int:
        if self.kind not in PARAMETRIC:
            return 0
        return self.weights_per_channel * self.train_channels + (self.out_channels if self.train_bias else 0)

    @property
    def trains(self) -> bool:
        return self.kind in PARAMETRIC and (self.train_bias or self.train_channels > 0)


@dataclass
class TrainSetup:
    layers: list[TrainLayer]
    num_classes: int
    qas: bool = True
    budget_bytes: int = 256 * 1024
    input_from_backbone: bool = False  # steps take the device engine's output (TRAIN_BACKBONE)
    defer_updates: bool = False  # the memory comparison without operator reordering (same results)
    stochastic_rounding: bool = False  # weight steps floor(v + u), u from (rounding_seed, step, layer, index)
    rounding_seed: int = 0
    offsets: dict[tuple[int, str], int] = field(default_factory=dict)  # filled by pack()

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return self.layers[0].in_shape

    @property
    def input_size(self) -> int:
        return self.layers[0].in_size

    def input_ref(self, i: int) -> int:
        """The activation layer i reads (0: the chain input, m: layer m-1's output)."""
        ref = self.layers[i].input_ref
        return i if ref is None else ref

    @property
    def residual(self) -> bool:
        """A layer reads other than the previous output, or adds: gradients per activation."""
        return any(layer.kind == "add" or self.input_ref(i) != i for i, layer in enumerate(self.layers))

    def activation_shape(self, m: int) -> tuple[int, int, int]:
        return self.input_shape if m == 0 else self.layers[m - 1].out_shape

    def first_trained(self) -> int | None:
        return next((i for i, layer in enumerate(self.layers) if layer.trains), None)

    def copy(self) -> TrainSetup:
        return copy.deepcopy(self)

    def with_rates(self, qas: bool, factor: float) -> TrainSetup:
        """A copy with QAS on or off and every learning rate scaled by `factor` (rounded to
        float32, as the device stores it): the knobs of the QAS benchmarks."""
        setup = self.copy()
        setup.qas = qas
        for layer in setup.layers:
            layer.lr = float(np.float32(layer.lr * factor))
        return setup

    def validate(self) -> None:
        if not self.layers:
            raise TrainingSetupError("training graph has no layers")
        if not 0 <= self.rounding_seed < 1 << 32:
            raise TrainingSetupError(f"rounding_seed {self.rounding_seed} is not a 32-bit unsigned integer")
        for i, layer in enumerate(self.layers):
            where = f"layer {i} ({layer.name or layer.kind})"
            if layer.kind not in KINDS:
                raise TrainingSetupError(f"{where}: unsupported kind {layer.kind!r}")
            self._check_refs(i, where)
            if i and layer.in_shape != self.activation_shape(self.input_ref(i)):
                raise TrainingSetupError(
                    f"{where}: input shape {layer.in_shape} is not the output "
                    f"{self.activation_shape(self.input_ref(i))} of activation {self.input_ref(i)}"
                )
            _check_zero_points(where, layer)
            if layer.kind == "avgpool" and layer.out_channels != layer.in_shape[2]:
                raise TrainingSetupError(f"{where}: pooling keeps the channel count")
            if layer.kind == "avgpool" and (layer.train_bias or layer.train_channels):
                raise TrainingSetupError(f"{where}: pooling has no parameters to train")
            if layer.kind in PARAMETRIC:
                _check_dense(where, layer)
            if layer.kind == "depthwise":
                _check_depthwise(where, i, layer)
            if layer.kind == "conv":
                _check_conv(where, layer)
            if layer.kind == "add":
                _check_add(where, layer)
        if self.layers[-1].out_size != self.num_classes:
            raise TrainingSetupError(
                f"the last layer has {self.layers[-1].out_size} outputs, not num_classes={self.num_classes}"
            )

    def _check_refs(self, i: int, where: str) -> None:
        layer = self.layers[i]
        if not 0 <= self.input_ref(i) <= i:
            raise TrainingSetupError(f"{where}: input_ref {self.input_ref(i)} is not an earlier activation (0..{i})")
        if layer.kind != "add" and (layer.skip_ref or layer.skip_zero_point):
            raise TrainingSetupError(f"{where}: skip_ref/skip_zero_point set on a layer that is not an add")
        if layer.kind == "add" and not 0 <= layer.skip_ref <= i:
            raise TrainingSetupError(f"{where}: skip_ref {layer.skip_ref} is not an earlier activation (0..{i})")
        if layer.kind == "add" and self.activation_shape(layer.skip_ref) != layer.in_shape:
            raise TrainingSetupError(f"{where}: skip_ref {layer.skip_ref}'s shape is not the input {layer.in_shape}")


def _check_conv(where: str, layer: TrainLayer) -> None:
    kh, kw = layer.kernel
    if layer.stride not in (1, 2) or kh % 2 == 0 or kw % 2 == 0 or not 1 <= kh <= 7 or not 1 <= kw <= 7:
        raise TrainingSetupError(f"{where}: conv needs an odd kernel up to 7 and stride 1 or 2")


def _check_add(where: str, layer: TrainLayer) -> None:
    if layer.out_channels != layer.in_shape[2] or layer.train_bias or layer.train_channels:
        raise TrainingSetupError(f"{where}: add keeps the channel count and has nothing to train")
    for name in ("multiplier", "shift"):
        value = getattr(layer, name)
        if value is None or tuple(np.shape(value)) != (3,):
            raise TrainingSetupError(f"{where}: {name} must hold (input 1, input 2, output)")
    if not -128 <= layer.skip_zero_point <= 127:
        raise TrainingSetupError(f"{where}: skip_zero_point {layer.skip_zero_point} outside int8")


def _check_depthwise(where: str, index: int, layer: TrainLayer) -> None:
    kh, kw = layer.kernel
    if layer.stride not in (1, 2):
        raise TrainingSetupError(f"{where}: depthwise stride {layer.stride} is not 1 or 2")
    if layer.out_channels != layer.in_shape[2] or kh % 2 == 0 or kw % 2 == 0 or not 1 <= kh <= 7 or not 1 <= kw <= 7:
        raise TrainingSetupError(f"{where}: depthwise needs depth multiplier 1 and odd kernels up to 7")


def _check_dense(where: str, layer: TrainLayer) -> None:
    cout, cin = layer.out_channels, layer.in_shape[2]
    weight_shape = {"depthwise": (*layer.kernel, cin), "conv": (cout, *layer.kernel, cin)}.get(layer.kind, (cout, cin))
    expected = {
        "weights": weight_shape,
        "bias": (cout,),
        "weight_scales": (cout,),
        "multiplier": (cout,),
        "shift": (cout,),
    }
    for name, shape in expected.items():
        value = getattr(layer, name)
        if value is None or tuple(value.shape) != shape:
            raise TrainingSetupError(f"{where}: {name} must have shape {shape}")
    if not 0 <= layer.train_channels <= cin:
        raise TrainingSetupError(f"{where}: train_channels {layer.train_channels} not in 0..{cin}")
    if not np.all(np.asarray(layer.weight_scales) > 0):
        raise TrainingSetupError(f"{where}: weight scales must be positive")
    shift = np.asarray(layer.shift, np.int64)
    if shift.size and (shift.min() < -31 or shift.max() > 31):
        raise TrainingSetupError(
            f"{where}: shift {int(shift[np.argmax(np.abs(shift))])} outside -31..31 (the device refuses it)"
        )


def _check_zero_points(where: str, layer: TrainLayer) -> None:
    for name in ("input_zero_point", "output_zero_point"):
        if not -128 <= getattr(layer, name) <= 127:
            raise TrainingSetupError(f"{where}: {name} {getattr(layer, name)} outside int8")


def _align(n: int, to: int = 4) -> int:
    return (n + to - 1) // to * to


def pack(setup: TrainSetup) -> bytes:
    """The device image: header, layer records, then each dense layer's arrays (4-byte aligned).
    Records `setup.offsets[(layer, array)]` for reading trained parameters back."""
    setup.validate()
    records_end = record_offset(len(setup.layers))
    data = bytearray()
    records = []
    setup.offsets.clear()
    for i, layer in enumerate(setup.layers):
        offsets, trained_at = [0] * 5, 0
        if layer.kind == "add":  # only the (input 1, input 2, output) multipliers and shifts
            for slot, name in ((2, "multiplier"), (3, "shift")):
                offsets[slot] = records_end + len(data)
                setup.offsets[(i, name)] = offsets[slot]
                data += np.asarray(getattr(layer, name), "<i4").tobytes()
        if layer.kind in PARAMETRIC:
            arrays = [
                layer.image_weights(),
                np.asarray(layer.bias, np.int32),
                np.asarray(layer.multiplier, np.int32),
                np.asarray(layer.shift, np.int32),
                np.asarray(layer.weight_scales, np.float32),
            ]
            for slot, (name, array) in enumerate(
                zip(("weights", "bias", "multiplier", "shift", "weight_scales"), arrays)
            ):
                if slot == 0 and layer.weights_in_slot:
                    assert layer.slot_offset is not None  # weights_in_slot says it is set
                    offsets[slot] = layer.slot_offset
                    if not layer.weights_split:
                        continue
                    trained_at = records_end + len(data)  # only the trained columns
                    setup.offsets[(i, "weights")] = trained_at
                    data += array.tobytes()
                    data += bytes(_align(len(data)) - len(data))
                    continue
                offsets[slot] = records_end + len(data)
                setup.offsets[(i, name)] = offsets[slot]
                data += array.astype(array.dtype.newbyteorder("<")).tobytes()
                data += bytes(_align(len(data)) - len(data))
        h, w, c = layer.in_shape
        records.append(
            LAYER_RECORD.pack(
                kind=KINDS[layer.kind],
                in_h=h,
                in_w=w,
                in_c=c,
                out_c=layer.out_channels,
                input_zp=layer.input_zero_point,
                output_zp=layer.output_zero_point,
                act_min=layer.act_min,
                act_max=layer.act_max,
                input_scale=f32_bits(layer.input_scale),
                output_scale=f32_bits(layer.output_scale),
                lr=f32_bits(layer.lr),
                train_bias=int(layer.train_bias),
                train_channels=layer.train_channels,
                **dict(zip(("off_weights", "off_bias", "off_multiplier", "off_shift", "off_weight_scales"), offsets)),
                kernel_h=layer.kernel[0],
                kernel_w=layer.kernel[1],
                stride=layer.stride,
                flags=RECORD_WEIGHTS_IN_SLOT if layer.weights_in_slot else 0,
                off_trained=trained_at,
                input_ref=setup.input_ref(i),
                skip_ref=layer.skip_ref,
                skip_zp=layer.skip_zero_point,
            )
        )
    in_h, in_w, in_c = setup.layers[0].in_shape
    flags = (
        (FLAGS["QAS"] if setup.qas else 0)
        | (FLAGS["INPUT_FROM_BACKBONE"] if setup.input_from_backbone else 0)
        | (FLAGS["DEFER_UPDATES"] if setup.defer_updates else 0)
        | (FLAGS["STOCHASTIC_ROUNDING"] if setup.stochastic_rounding else 0)
    )
    header = SETUP_HEADER.pack(
        magic=MAGIC,
        version=VERSION,
        num_layers=len(setup.layers),
        num_classes=setup.num_classes,
        in_h=in_h,
        in_w=in_w,
        in_c=in_c,
        flags=flags,
        budget=setup.budget_bytes,
        rounding_seed=setup.rounding_seed,
        total=records_end + len(data),
    )
    return header + b"".join(records) + bytes(data)


def saved_input_bytes(setup: TrainSetup, index: int) -> int:
    """The input channels layer `index` keeps for its weight gradient (training.c saved_input_bytes):
    int8 [P][R] for a layer backward reaches that trains R > 0 input channels' weights; a layer
    reading a[0] (layer 0 of a plain chain) reads the chain's input in place, bias-only and frozen
    layers keep nothing."""
    layer, first = setup.layers[index], setup.first_trained()
    reached = index >= (len(setup.layers) - 1 if first is None else first)
    kept = reached and setup.input_ref(index) > 0 and layer.kind in PARAMETRIC
    return layer.positions * layer.train_channels if kept else 0


def mask_bytes(setup: TrainSetup, index: int) -> int:
    """Layer `index`'s clip mask, one bit per output element, if backward reaches it (training.c
    mask_bytes): every kind but pooling (whose clamp is the identity)."""
    layer, first = setup.layers[index], setup.first_trained()
    reached = index >= (len(setup.layers) - 1 if first is None else first)
    return (layer.out_size + 7) // 8 if reached and layer.kind != "avgpool" else 0


def arena_layout(setup: TrainSetup, blob_bytes: int) -> dict[str, int]:
    """The device's arena plan (training.c plan_arena), byte for byte: the setup image, the input,
    what backward reads (each layer's saved input channels and clip mask, the logits), and one
    scratch block reused by liveness: first the forward pass's activations (a layer's input and
    output are all it holds, so two buffers of the largest alternate), then backward's two float32
    gradient buffers of the largest reached output. Each block is rounded up to 8 bytes."""
    layers = setup.layers
    layout = {"setup": _align(blob_bytes, 8), "input": 0 if setup.input_from_backbone else _align(setup.input_size, 8)}
    if setup.residual:
        return _residual_layout(setup, layout)
    layout["saved_inputs"] = sum(_align(saved_input_bytes(setup, i), 8) for i in range(len(layers)))
    layout["masks"] = sum(_align(mask_bytes(setup, i), 8) for i in range(len(layers)))
    layout["logits"] = _align(layers[-1].out_size, 8)
    inner = layers[:-1]  # the last layer writes the logits block
    layout["forward_buffers"] = min(len(inner), 2) * max((_align(layer.out_size, 8) for layer in inner), default=0)
    first = setup.first_trained()
    reached = layers[-1:] if first is None else layers[first:]  # the loss needs the last
    layout["gradients"] = min(len(reached), 2) * max(_align(4 * layer.out_size, 8) for layer in reached)
    layout["scratch"] = max(layout["forward_buffers"], layout["gradients"])
    layout["deferred"] = sum(_align(4 * layer.trained_parameters, 8) for layer in layers) if setup.defer_updates else 0
    parts = ("setup", "input", "saved_inputs", "masks", "logits", "scratch", "deferred")
    layout["total"] = sum(layout[name] for name in parts)
    return layout


def _residual_layout(setup: TrainSetup, layout: dict[str, int]) -> dict[str, int]:
    """training.c plan_arena_residual: the plain chain's blocks (saved input channels, clip masks,
    logits, deferred updates) with a scratch block planned by liveness over the activation graph:
    forward's activations a[1..n-1], each held until its last reader; backward's reached output
    gradients, each from its first writer to its layer (both placed first fit), then `scratch`;
    the block is the larger of the two uses."""
    layers, first = setup.layers, setup.first_trained()
    t = len(layers) - 1 if first is None else first
    layout["saved_inputs"] = sum(_align(saved_input_bytes(setup, i), 8) for i in range(len(layers)))
    layout["masks"] = sum(_align(mask_bytes(setup, i), 8) for i in range(len(layers)))
    layout["logits"] = _align(layers[-1].out_size, 8)
    layout["forward_buffers"] = _forward_bytes(setup)
    layout["gradients"] = _gradient_bytes(setup, t) + _residual_scratch(setup, t)
    layout["scratch"] = max(layout["forward_buffers"], layout["gradients"])
    layout["deferred"] = sum(_align(4 * layer.trained_parameters, 8) for layer in layers) if setup.defer_updates else 0
    parts = ("setup", "input", "saved_inputs", "masks", "logits", "scratch", "deferred")
    layout["total"] = sum(layout[name] for name in parts)
    return layout


def _last_reader(setup: TrainSetup, m: int) -> int:
    """The last layer reading activation m as its input or an add's skip operand, else its writer
    m-1 (training.c last_reader)."""
    readers = [
        j
        for j, layer in enumerate(setup.layers)
        if j >= m and (setup.input_ref(j) == m or (layer.kind == "add" and layer.skip_ref == m))
    ]
    return max(readers, default=m - 1)


def _place(live: dict[int, tuple[int, int]], buffer: int, size: int) -> int:
    """First fit (training.c place): `buffer` at the lowest of 0 and the live buffers' ends where
    it overlaps none; returns its end."""
    spans = list(live.values())
    candidates = [0] + [offset + length for offset, length in spans]
    at = min(c for c in candidates if all(c + size <= offset or offset + length <= c for offset, length in spans))
    live[buffer] = (at, size)
    return at + size


def _forward_bytes(setup: TrainSetup) -> int:
    """training.c plan_forward: layer i's output (i < n-1) placed while its inputs are held; after
    layer i every activation whose last reader is i is free. The bytes spanned."""
    live: dict[int, tuple[int, int]] = {}
    peak = 0
    for i in range(len(setup.layers) - 1):
        peak = max(peak, _place(live, i, _align(setup.layers[i].out_size, 8)))
        for m in range(1, i + 2):
            if _last_reader(setup, m) == i:
                live.pop(m - 1)
    return peak


def _gradient_bytes(setup: TrainSetup, first: int) -> int:
    """training.c plan_gradients: backward at layer j (n-1 down to `first`) places the float32
    output gradient of each reached layer i whose activation's last reader is j (in order of i),
    then frees layer j's own. The bytes spanned."""
    n = len(setup.layers)
    live: dict[int, tuple[int, int]] = {}
    peak = 0
    for j in range(n - 1, first - 1, -1):
        for i in range(first, n):
            if _last_reader(setup, i + 1) == j:
                peak = max(peak, _place(live, i, _align(4 * setup.layers[i].out_size, 8)))
        live.pop(j)
    return peak


def _residual_scratch(setup: TrainSetup, first: int) -> int:
    """training.c residual_scratch_bytes: the largest input gradient computed by a reader that is
    not the first visited (that one writes in place), not an add, of an activation past `first`."""
    inputs = [
        _align(4 * layer.in_size, 8)
        for i, layer in enumerate(setup.layers)
        if i >= first and layer.kind != "add" and setup.input_ref(i) > first and not _first_reader(setup, i)
    ]
    return max(inputs, default=0)


def _first_reader(setup: TrainSetup, i: int) -> bool:
    """No later layer reads layer i's input activation (training.c first_reader)."""
    m = setup.input_ref(i)
    return not any(
        setup.input_ref(j) == m or (layer.kind == "add" and layer.skip_ref == m)
        for j, layer in enumerate(setup.layers)
        if j > i
    )

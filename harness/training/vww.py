"""Transfer learning on the MLPerf Tiny visual-wake-words backbone (MobileNetV1 0.25, 96x96).

The feature extractor is kept frozen up to the last pointwise layer before the tail; the trainable
graph is the backbone's last depthwise layer (depthwise_conv2d_12, 3x3, ReLU; optional), its last
pointwise layer (conv2d_13, 256->256, ReLU), the global average pool and a NEW fully connected head
for a new task. The task is a deterministic synthetic data set: 96x96 RGB
images of stripes, class 0 horizontal and class 1 vertical, random frequency, phase, colours and
noise; the held-out split comes from another seed.

Limitation (stated in docs/training.md): the frozen backbone up to the depthwise layer runs on the
host, in the tflite-micro reference interpreter (harness/reference.py), and its int8 output is
streamed to the device as the training sample. The device engine (firmware/src/engine) was not
available to chain with when this was written.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from ..errors import HarnessError
from ..model.requant import per_channel_multipliers
from ..model.tflite import Model, load_model
from ..reference import Reference
from .setup import TrainLayer, TrainSetup
from ..shared_models import SHARED_MODELS

VWW_MODEL = SHARED_MODELS / "mlperf_tiny" / "vww_96_int8.tflite"
POINTWISE_OP = "CONV_2D"
IMAGE = 96
HEAD_WEIGHT_SCALE = 0.01
HEAD_OUTPUT_SCALE = 0.05


# sha256 of MLPerf Tiny's vww_96_int8.tflite: accepted without the structural checks below
KNOWN_BACKBONES = {"597a384c8c2c8a1276f04702f25013b7838f2f814f1ca7c174d295b73e3d6b7b": "MLPerf Tiny VWW int8"}
SUPPORTED = ("the MLPerf Tiny VWW backbone (MobileNetV1, int8 input [1, 96, 96, 3], a stride-1 "
             "depthwise and a 1x1 convolution before the AVERAGE_POOL_2D)")


def load_backbone(path: Path | str = VWW_MODEL) -> Model:
    """The frozen backbone, refused (HarnessError, exit 2) unless the trainer can handle it:
    known by content (sha256), or of the VWW structure. The file name plays no part."""
    path = Path(path)
    if not path.is_file():
        raise HarnessError(f"{path}: backbone model not found")
    model = load_model(path)
    if hashlib.sha256(model.raw).hexdigest() not in KNOWN_BACKBONES:
        problem = structure_problem(model)
        if problem:
            raise HarnessError(f"{path}: not a backbone the trainer supports ({problem}); "
                               f"supported: {SUPPORTED}")
    return model


def structure_problem(model: Model) -> str | None:
    """Why `model` is not a VWW-like backbone the trainer can cut, or None."""
    if len(model.inputs) != 1:
        return f"{len(model.inputs)} inputs, not 1"
    tensor = model.tensors[model.inputs[0]]
    if tensor.dtype.name != "int8" or tuple(tensor.shape) != (1, IMAGE, IMAGE, 3):
        return f"input {tensor.name} is {tensor.dtype} {list(tensor.shape)}"
    try:
        pointwise = _tail_ops(model)[0]
        _last_depthwise(model, pointwise)
    except HarnessError as exc:
        return str(exc)
    except StopIteration:
        return "no operator produces the pool's input"
    return None


def _tail_ops(model: Model) -> tuple:
    """(last pointwise CONV_2D, the AVERAGE_POOL_2D after it), checked against what we expect."""
    ops = model.operators
    pool = next((op for op in ops if op.opcode == "AVERAGE_POOL_2D"), None)
    if pool is None:
        raise HarnessError("backbone has no AVERAGE_POOL_2D")
    pointwise = next(op for op in ops if pool.inputs[0] in op.outputs)
    weights = model.tensors[pointwise.inputs[1]]
    if pointwise.opcode != POINTWISE_OP or weights.shape[1:3] != (1, 1):
        raise HarnessError("backbone's layer before the pool is not a 1x1 convolution")
    return pointwise, pool


def _last_depthwise(model: Model, pointwise) -> object:
    op = next(op for op in model.operators if pointwise.inputs[0] in op.outputs)
    o = op.options
    if op.opcode != "DEPTHWISE_CONV_2D" or o.get("stride_h") != 1 or o.get("stride_w") != 1 \
            or o.get("padding") != "SAME" or o.get("depth_multiplier", 1) != 1:
        raise HarnessError("backbone's layer before the last pointwise is not a stride-1 SAME depthwise")
    return op


def feature_tensor(model: Model, depthwise: bool = True) -> int:
    """Index of the frozen feature map: the input of the trained tail."""
    pointwise = _tail_ops(model)[0]
    return _last_depthwise(model, pointwise).inputs[0] if depthwise else pointwise.inputs[0]


def _quant(tensor) -> tuple[float, int]:
    return float(tensor.quant.scale[0]), int(tensor.quant.zero_point[0])


def _act_range(op, z: int, s: float) -> tuple[int, int]:
    activation = op.options.get("fused_activation_function")
    act_min = z if activation in ("RELU", "RELU6") else -128
    act_max = min(127, z + int(round(6.0 / s))) if activation == "RELU6" else 127
    return act_min, act_max


def depthwise_layer(model: Model, op, lr: float) -> TrainLayer:
    t = model.tensors
    x, w, b, y = (t[i] for i in (op.inputs[0], op.inputs[1], op.inputs[2], op.outputs[0]))
    (s_x, z_x), (s_y, z_y) = _quant(x), _quant(y)
    _, h, wd, c = x.shape
    scales = w.quant.scale.astype(np.float32)
    multiplier, shift = per_channel_multipliers(s_x, scales, s_y)
    act_min, act_max = _act_range(op, z_y, s_y)
    return TrainLayer(kind="depthwise", in_shape=(h, wd, c), out_channels=c, input_scale=s_x,
                      input_zero_point=z_x, output_scale=s_y, output_zero_point=z_y,
                      act_min=act_min, act_max=act_max,
                      weights=w.data.reshape(w.shape[1], w.shape[2], c).astype(np.int8).copy(),
                      bias=b.data.astype(np.int32).copy(), weight_scales=scales,
                      multiplier=multiplier, shift=shift, lr=lr, name="depthwise_conv2d_12",
                      kernel=(w.shape[1], w.shape[2]))


def vww_setup(model: Model, classes: int = 2, seed: int = 0, head_lr: float = 0.05,
              pointwise_lr: float = 0.5, qas: bool = True, budget_bytes: int = 256 * 1024,
              depthwise: bool = True, depthwise_lr: float = 0.5) -> TrainSetup:
    """Trainable tail: [the last depthwise layer,] the last pointwise layer, its pool, and a new
    random head. What of it trains is the planner's choice (only the head is set to train here)."""
    pointwise, pool = _tail_ops(model)
    t = model.tensors
    x, w, b, y = (t[i] for i in (pointwise.inputs[0], pointwise.inputs[1], pointwise.inputs[2],
                                 pointwise.outputs[0]))
    _, h, wd, cin = x.shape
    cout = w.shape[0]
    s_x, z_x = float(x.quant.scale[0]), int(x.quant.zero_point[0])
    s_y, z_y = float(y.quant.scale[0]), int(y.quant.zero_point[0])
    scales = w.quant.scale.astype(np.float32)
    multiplier, shift = per_channel_multipliers(s_x, scales, s_y)
    relu = pointwise.options.get("fused_activation_function") in ("RELU", "RELU6")
    act_max = 127
    if pointwise.options.get("fused_activation_function") == "RELU6":
        act_max = min(127, z_y + int(round(6.0 / s_y)))
    pw = TrainLayer(kind="dense", in_shape=(h, wd, cin), out_channels=cout, input_scale=s_x,
                    input_zero_point=z_x, output_scale=s_y, output_zero_point=z_y,
                    act_min=z_y if relu else -128, act_max=act_max,
                    weights=w.data.reshape(cout, cin).astype(np.int8).copy(),
                    bias=b.data.astype(np.int32).copy(), weight_scales=scales,
                    multiplier=multiplier, shift=shift, lr=pointwise_lr, name="conv2d_13")
    pooled = TrainLayer(kind="avgpool", in_shape=(h, wd, cout), out_channels=cout, input_scale=s_y,
                        input_zero_point=z_y, output_scale=s_y, output_zero_point=z_y, name="avgpool")
    head = new_head(cout, classes, s_y, z_y, seed, head_lr)
    del pool
    layers = [pw, pooled, head]
    if depthwise:
        layers.insert(0, depthwise_layer(model, _last_depthwise(model, pointwise), depthwise_lr))
    return TrainSetup(layers=layers, num_classes=classes, qas=qas, budget_bytes=budget_bytes)


def new_head(cin: int, classes: int, s_x: float, z_x: int, seed: int, lr: float) -> TrainLayer:
    rng = np.random.default_rng(seed)
    scales = np.full(classes, HEAD_WEIGHT_SCALE, np.float32)
    multiplier, shift = per_channel_multipliers(s_x, scales, HEAD_OUTPUT_SCALE)
    return TrainLayer(kind="dense", in_shape=(1, 1, cin), out_channels=classes, input_scale=s_x,
                      input_zero_point=z_x, output_scale=HEAD_OUTPUT_SCALE, output_zero_point=0,
                      weights=rng.integers(-8, 9, (classes, cin)).astype(np.int8),
                      bias=np.zeros(classes, np.int32), weight_scales=scales,
                      multiplier=multiplier, shift=shift, lr=lr, train_bias=True,
                      train_channels=cin, name="new_head")


def stripe_images(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """uint8-range float images [count, 96, 96, 3] and labels (0 horizontal, 1 vertical)."""
    rng = np.random.default_rng(seed)
    labels = np.arange(count) % 2
    rng.shuffle(labels)
    grid = np.arange(IMAGE, dtype=np.float64)
    images = np.empty((count, IMAGE, IMAGE, 3), np.float64)
    for n, label in enumerate(labels):
        period = rng.uniform(8, 24)
        phase = rng.uniform(0, 2 * np.pi)
        wave = 0.5 + 0.5 * np.sin(2 * np.pi * grid / period + phase)
        pattern = np.tile(wave[:, None], (1, IMAGE)) if label == 0 else np.tile(wave[None, :], (IMAGE, 1))
        low, high = rng.uniform(0, 100, 3), rng.uniform(150, 255, 3)
        images[n] = low + pattern[..., None] * (high - low) + rng.normal(0, 12, (IMAGE, IMAGE, 3))
    return np.clip(images, 0, 255), labels.astype(np.int64)


def quantize_images(model: Model, images: np.ndarray) -> np.ndarray:
    quant = model.tensors[model.inputs[0]].quant
    scale, zero = float(quant.scale[0]), int(quant.zero_point[0])
    q = np.floor(images / 255.0 / scale + 0.5) + zero
    return np.clip(q, -128, 127).astype(np.int8)


def backbone_features(model: Model, images_q: np.ndarray, depthwise: bool = True) -> np.ndarray:
    """int8 feature maps of the frozen backbone, by the TFLM reference interpreter (host)."""
    index = feature_tensor(model, depthwise)
    features = []
    with Reference(model, preserve_all=True, name="vww backbone") as ref:
        for image in images_q:
            features.append(ref.run_all([image[None]])[index].reshape(-1))
    return np.stack(features).astype(np.int8)


def vww_task(train_count: int, test_count: int, seed: int = 0, model: Model | None = None,
             depthwise: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(train features, train labels, held-out features, held-out labels)."""
    model = model or load_backbone()
    train_images, train_labels = stripe_images(train_count, seed * 2 + 1)
    test_images, test_labels = stripe_images(test_count, seed * 2 + 2)
    return (backbone_features(model, quantize_images(model, train_images), depthwise), train_labels,
            backbone_features(model, quantize_images(model, test_images), depthwise), test_labels)

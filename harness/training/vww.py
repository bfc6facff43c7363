"""Transfer learning on the MLPerf Tiny visual-wake-words backbone (MobileNetV1 0.25, 96x96).

The feature extractor is frozen up to the trained tail: the last `blocks` depthwise-separable
blocks of the backbone (blocks=2: depthwise_conv2d_11 (3x3, stride 2), conv2d_12, depthwise_conv2d_12,
conv2d_13, all ReLU), the global average pool and a NEW fully connected head for a new task. The
task is a deterministic synthetic data set: 96x96 RGB images of stripes, class 0 horizontal and
class 1 vertical, random frequency, phase, colours and noise; the held-out split comes from
another seed.

The frozen part runs either on the host (the TFLM reference interpreter, `backbone_features`:
what the host reference trains on) or on the device's inference engine (harness/training/backbone.py).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..engine.pack import load_comparable
from ..errors import HarnessError
from ..model.requant import per_channel_multipliers
from ..model.tflite import Model
from ..reference import Reference
from ..shared_models import SHARED_MODELS
from . import resnet
from .resnet import residual_tail
from .setup import TrainLayer, TrainSetup

VWW_MODEL = SHARED_MODELS / "mlperf_tiny" / "vww_96_int8.tflite"
POINTWISE_OP = "CONV_2D"
IMAGE = 96
HEAD_WEIGHT_SCALE = 0.01
HEAD_OUTPUT_SCALE = 0.05


def load_backbone(path: Path | str = VWW_MODEL) -> Model:
    """An int8 backbone ending in average pooling and a classifier (VWW, person_detect, the KWS
    DS-CNN); a model the tail cannot be cut from is refused naming the reason."""
    path = Path(path)
    if not path.is_file():
        raise HarnessError(f"model not found: {path}")
    model = load_comparable(path)  # no inputs, outputs or operators: refused naming the file
    if model.tensors[model.inputs[0]].dtype != np.int8:
        raise HarnessError(
            f"{path.name}: training needs an int8 model (its input is {model.tensors[model.inputs[0]].dtype})"
        )
    try:
        if residual_tail(model) is None:  # a residual backbone trains its last block (resnet.py)
            tail_ops(model, 0)
    except (HarnessError, StopIteration) as exc:
        raise HarnessError(f"{path.name}: no trainable tail: {exc or 'a layer has no producer'}") from None
    return model


def _tail_ops(model: Model) -> tuple:
    """(last pointwise CONV_2D, the AVERAGE_POOL_2D after it), checked against what we expect."""
    ops = model.operators
    pool = next((op for op in ops if op.opcode == "AVERAGE_POOL_2D"), None)
    if pool is None:
        raise HarnessError("backbone has no AVERAGE_POOL_2D")
    pointwise = _producer(model, pool)
    _check_pointwise(model, pointwise)
    return pointwise, pool


def _producer(model: Model, op) -> object:
    return next(o for o in model.operators if op.inputs[0] in o.outputs)


def _check_pointwise(model: Model, op) -> None:
    weights = model.tensors[op.inputs[1]]
    o = op.options
    if (
        op.opcode != POINTWISE_OP
        or weights.shape[1:3] != (1, 1)
        or o.get("stride_h", 1) != 1
        or o.get("stride_w", 1) != 1
    ):
        raise HarnessError(f"backbone operator {model.operators.index(op)} is not a stride-1 1x1 convolution")


def _check_depthwise(model: Model, op) -> None:
    o = op.options
    if (
        op.opcode != "DEPTHWISE_CONV_2D"
        or o.get("stride_h") != o.get("stride_w")
        or o.get("stride_h") not in (1, 2)
        or o.get("padding") != "SAME"
        or o.get("depth_multiplier", 1) != 1
    ):
        raise HarnessError(
            f"backbone operator {model.operators.index(op)} is not a stride-1/2 SAME "
            "depthwise convolution with multiplier 1"
        )


def tail_ops(model: Model, blocks: int = 1) -> list:
    """The trained convolutions, first to last: the last `blocks` depthwise-separable blocks
    (depthwise, pointwise) before the pool; blocks=0 is the last pointwise layer alone."""
    ops = [_tail_ops(model)[0]]
    for block in range(blocks):
        depthwise = _producer(model, ops[0])
        _check_depthwise(model, depthwise)
        ops.insert(0, depthwise)
        if block < blocks - 1:
            pointwise = _producer(model, depthwise)
            _check_pointwise(model, pointwise)
            ops.insert(0, pointwise)
    return ops


def feature_tensor(model: Model, blocks: int = 1) -> int:
    """Index of the frozen feature map: the input of the trained tail (a residual backbone's:
    its last block's, whatever `blocks`)."""
    if residual_tail(model) is not None:
        return resnet.feature_tensor(model)
    return tail_ops(model, blocks)[0].inputs[0]


def _act_range(op, z: int, s: float) -> tuple[int, int]:
    activation = op.options.get("fused_activation_function")
    act_min = z if activation in ("RELU", "RELU6") else -128
    act_max = min(127, z + round(6.0 / s)) if activation == "RELU6" else 127
    return act_min, act_max


def _op_name(model: Model, op) -> str:
    """The layer's name from its weights tensor (e.g. 'depthwise_conv2d_12'), else the op index."""
    name = model.tensors[op.inputs[1]].name or ""
    for part in name.replace(";", "/").split("/"):
        if part.startswith(("depthwise_conv2d", "conv2d")):
            return part
    return f"op{model.operators.index(op)}"


def conv_layer(model: Model, op, lr: float, slot=None) -> TrainLayer:
    """A frozen backbone convolution as a trainable layer: depthwise, 1x1 pointwise (dense), or a
    k x k / strided convolution (conv).
    With `slot` (the PackedModel in the device's flash model slot) its weights can stay there."""
    t = model.tensors
    x, w, b, y = (t[i] for i in (op.inputs[0], op.inputs[1], op.inputs[2], op.outputs[0]))
    (s_x, z_x), (s_y, z_y) = x.scalar_quant(), y.scalar_quant()
    _, h, wd, cin = x.shape
    scales = w.quant.scale.astype(np.float32)
    multiplier, shift = per_channel_multipliers(s_x, scales, s_y)
    act_min, act_max = _act_range(op, z_y, s_y)
    common = dict(
        in_shape=(h, wd, cin),
        input_scale=s_x,
        input_zero_point=z_x,
        output_scale=s_y,
        output_zero_point=z_y,
        act_min=act_min,
        act_max=act_max,
        bias=b.data.astype(np.int32).copy(),
        weight_scales=scales,
        multiplier=multiplier,
        shift=shift,
        lr=lr,
        name=_op_name(model, op),
        slot_offset=None if slot is None else _slot_offset(slot, op.inputs[1]),
    )
    if op.opcode == "DEPTHWISE_CONV_2D":
        return TrainLayer(
            kind="depthwise",
            out_channels=cin,
            kernel=(w.shape[1], w.shape[2]),
            stride=int(op.options.get("stride_h", 1)),
            weights=w.data.reshape(w.shape[1], w.shape[2], cin).astype(np.int8).copy(),
            **common,
        )
    cout, kh, kw, _ = w.shape
    stride = int(op.options.get("stride_h", 1))
    if (kh, kw) != (1, 1) or stride != 1:  # a k x k or strided convolution (OHWI weights)
        weights = w.data.reshape(cout, kh, kw, cin).astype(np.int8).copy()
        return TrainLayer(kind="conv", out_channels=cout, kernel=(kh, kw), stride=stride, weights=weights, **common)
    return TrainLayer(
        kind="dense", out_channels=cout, weights=w.data.reshape(cout, cin).astype(np.int8).copy(), **common
    )


def _slot_offset(packed, tensor: int) -> int:
    from ..engine import format as fmt

    record = packed.tensors[tensor]
    if record.storage != fmt.STORAGE_MODEL:
        raise HarnessError(f"packed backbone keeps tensor {tensor} ({record.name}) outside the model image")
    return record.offset


def vww_setup(
    model: Model,
    classes: int = 2,
    seed: int = 0,
    head_lr: float = 0.05,
    pointwise_lr: float = 0.5,
    qas: bool = True,
    budget_bytes: int = 256 * 1024,
    blocks: int = 1,
    depthwise_lr: float = 0.5,
    slot=None,
) -> TrainSetup:
    """Trainable tail: the last `blocks` depthwise-separable blocks (blocks=0: the last pointwise
    layer alone), the pool, and a new random head. What of it trains is the planner's choice
    (only the head is set to train here). With `slot` (the packed backbone in the device's flash
    slot) frozen weights are read from flash. A residual backbone: its last block (resnet.py)."""
    if residual_tail(model) is not None:
        return resnet.resnet_setup(model, classes, seed, head_lr, qas=qas, budget_bytes=budget_bytes, slot=slot)
    layers = [
        conv_layer(model, op, depthwise_lr if op.opcode == "DEPTHWISE_CONV_2D" else pointwise_lr, slot)
        for op in tail_ops(model, blocks)
    ]
    last = layers[-1]
    cout, s_y, z_y = last.out_channels, last.output_scale, last.output_zero_point
    h, wd, _ = last.out_shape
    pooled = TrainLayer(
        kind="avgpool",
        in_shape=(h, wd, cout),
        out_channels=cout,
        input_scale=s_y,
        input_zero_point=z_y,
        output_scale=s_y,
        output_zero_point=z_y,
        name="avgpool",
    )
    head = new_head(cout, classes, s_y, z_y, seed, head_lr)
    return TrainSetup(layers=[*layers, pooled, head], num_classes=classes, qas=qas, budget_bytes=budget_bytes)


def new_head(cin: int, classes: int, s_x: float, z_x: int, seed: int, lr: float) -> TrainLayer:
    rng = np.random.default_rng(seed)
    scales = np.full(classes, HEAD_WEIGHT_SCALE, np.float32)
    multiplier, shift = per_channel_multipliers(s_x, scales, HEAD_OUTPUT_SCALE)
    return TrainLayer(
        kind="dense",
        in_shape=(1, 1, cin),
        out_channels=classes,
        input_scale=s_x,
        input_zero_point=z_x,
        output_scale=HEAD_OUTPUT_SCALE,
        output_zero_point=0,
        weights=rng.integers(-8, 9, (classes, cin)).astype(np.int8),
        bias=np.zeros(classes, np.int32),
        weight_scales=scales,
        multiplier=multiplier,
        shift=shift,
        lr=lr,
        train_bias=True,
        train_channels=cin,
        name="new_head",
    )


def stripe_images(
    count: int, seed: int, shape: tuple[int, int, int] = (IMAGE, IMAGE, 3)
) -> tuple[np.ndarray, np.ndarray]:
    """uint8-range float images [count, h, w, c] and labels (0 horizontal, 1 vertical); the
    period is 1/12 to 1/4 of the image side the stripes vary along (8-24 px at 96)."""
    rng = np.random.default_rng(seed)
    h, w, c = shape
    labels = np.arange(count) % 2
    rng.shuffle(labels)
    images = np.empty((count, h, w, c), np.float64)
    for n, label in enumerate(labels):
        side = h if label == 0 else w
        period = rng.uniform(8, 24) * side / IMAGE
        phase = rng.uniform(0, 2 * np.pi)
        wave = 0.5 + 0.5 * np.sin(2 * np.pi * np.arange(side, dtype=np.float64) / period + phase)
        pattern = np.tile(wave[:, None], (1, w)) if label == 0 else np.tile(wave[None, :], (h, 1))
        low, high = rng.uniform(0, 100, 3)[:c], rng.uniform(150, 255, 3)[:c]
        images[n] = low + pattern[..., None] * (high - low) + rng.normal(0, 12, (h, w, 3))[..., :c]
    return np.clip(images, 0, 255), labels.astype(np.int64)


def input_shape(model: Model) -> tuple[int, int, int]:
    _, h, w, c = model.tensors[model.inputs[0]].shape
    return int(h), int(w), int(c)


FACES_HELD_OUT = 60  # of scikit-image's 200 lfw_subset images (100 faces, 100 non-faces)


def face_images(
    seed: int, shape: tuple[int, int, int] = (IMAGE, IMAGE, 3)
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """scikit-image's `data.lfw_subset()` (installs offline: the 200 images ship with the
    package), person (1) vs no person (0): the first 100 are faces, the rest not. The 25x25
    grayscale images are scaled to 96x96 RGB (bilinear, uint8 range); a seeded, stratified split
    keeps FACES_HELD_OUT of them out of training. Returns train images, labels, held-out images, labels."""
    try:
        from skimage import data
        from skimage.transform import resize
    except ImportError as exc:  # an optional dependency of the real-data task only
        raise HarnessError("--data faces needs scikit-image (pip install 'hil-harness[faces]')") from exc
    faces = data.lfw_subset()
    labels = (np.arange(len(faces)) < 100).astype(np.int64)
    scaled = np.stack([resize(face, shape[:2], order=1, anti_aliasing=False) for face in faces])
    images = np.repeat(scaled[..., None] * 255.0, shape[2], axis=-1)
    rng = np.random.default_rng(seed)
    held_out = np.concatenate([rng.permutation(np.flatnonzero(labels == c))[: FACES_HELD_OUT // 2] for c in (0, 1)])
    train = rng.permutation(np.setdiff1d(np.arange(len(faces)), held_out))
    return images[train], labels[train], images[held_out], labels[held_out]


def quantize_images(model: Model, images: np.ndarray) -> np.ndarray:
    """uint8-range images as the model's int8 input: real values in [0, 1] (VWW, person_detect),
    or the pixel values themselves when the input's scale spans them (ResNet-8: scale 1)."""
    scale, zero = model.tensors[model.inputs[0]].scalar_quant()
    real = images if scale >= 0.5 else images / 255.0
    q = np.floor(real / scale + 0.5) + zero
    return np.clip(q, -128, 127).astype(np.int8)


def backbone_features(model: Model, images_q: np.ndarray, blocks: int = 1) -> np.ndarray:
    """int8 feature maps of the frozen backbone, by the TFLM reference interpreter (host)."""
    index = feature_tensor(model, blocks)
    features = []
    with Reference(model, preserve_all=True, name="vww backbone") as ref:
        for image in images_q:
            features.append(ref.run_all([image[None]])[index].reshape(-1))
    return np.stack(features).astype(np.int8)


def vww_task(
    train_count: int, test_count: int, seed: int = 0, model: Model | None = None, blocks: int = 1
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(train features, train labels, held-out features, held-out labels)."""
    model = model or load_backbone()
    train_images, train_labels = stripe_images(train_count, seed * 2 + 1)
    test_images, test_labels = stripe_images(test_count, seed * 2 + 2)
    return (
        backbone_features(model, quantize_images(model, train_images), blocks),
        train_labels,
        backbone_features(model, quantize_images(model, test_images), blocks),
        test_labels,
    )

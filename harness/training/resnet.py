"""Transfer learning on a residual backbone (MLPerf Tiny's ResNet-8, 32x32x3): the last residual
block trains, the frozen part before it runs on the host's TFLM reference or the device's engine.

The block as the model has it (operators 8-11 of pretrainedResnet_quant.tflite): CONV_2D 3x3
stride 2 (ReLU), CONV_2D 3x3, the shortcut CONV_2D 1x1 stride 2 of the block's input (or the
input itself), ADD (ReLU); then AVERAGE_POOL_2D and, replacing the classifier, a new head. As a
chain (docs/training_spec.md, `input_ref`/`skip_ref`): conv_a, conv_b, shortcut (reads the chain
input), add, pool, head.
"""

from __future__ import annotations

import numpy as np

from ..errors import HarnessError
from ..model.requant import add_params
from ..model.tflite import Model
from .setup import TrainLayer, TrainSetup

# The block's convolutions' learning rate (QAS): on the host reference (stripes, seed 0, the
# planner's 256 KB scheme, 50 steps) 0.5 and 0.1 diverge to chance, 0.05, 0.02 and 0.01 reach
# held-out accuracy 1.0.
CONV_LR = 0.02


def _producer(model: Model, tensor: int):
    return next((op for op in model.operators if tensor in op.outputs), None)


def residual_tail(model: Model) -> tuple | None:
    """(conv_a, conv_b, shortcut conv or None, add) of the block before the pool, or None when the
    pool's input does not come from an ADD (not a residual backbone)."""
    pool = next((op for op in model.operators if op.opcode == "AVERAGE_POOL_2D"), None)
    add = None if pool is None else _producer(model, pool.inputs[0])
    if add is None or add.opcode != "ADD":
        return None
    producers = [_producer(model, t) for t in add.inputs[:2]]
    for main, other in (producers, producers[::-1]):  # the branch of two convolutions
        before = None if main is None or main.opcode != "CONV_2D" else _producer(model, main.inputs[0])
        if before is None or before.opcode != "CONV_2D":
            continue
        block_input = before.inputs[0]
        if other is None or (other.opcode == "CONV_2D" and other.inputs[0] == block_input):
            shortcut = other
        elif block_input in add.inputs[:2]:
            shortcut = None
        else:
            continue
        _check_convolutions(model, [before, main] + ([shortcut] if shortcut else []))
        return before, main, shortcut, add
    raise HarnessError("the ADD before the pool is not a residual block of two convolutions and a shortcut")


def _check_convolutions(model: Model, ops: list) -> None:
    for op in ops:
        o, weights = op.options, model.tensors[op.inputs[1]]
        kh, kw = weights.shape[1:3]
        if (
            o.get("padding") != "SAME"
            or o.get("stride_h") != o.get("stride_w")
            or o.get("stride_h") not in (1, 2)
            or kh % 2 == 0
            or kw % 2 == 0
            or kh > 7
            or kw > 7
            or o.get("dilation_h_factor", 1) != 1
            or o.get("dilation_w_factor", 1) != 1
        ):
            raise HarnessError(
                f"backbone operator {model.operators.index(op)} is not a SAME stride-1/2 convolution "
                "with an odd kernel up to 7"
            )


def feature_tensor(model: Model) -> int:
    """The block's input: the frozen backbone's output."""
    tail = residual_tail(model)
    assert tail is not None, "not a residual backbone"
    return tail[0].inputs[0]


def _conv(model: Model, op, lr: float, slot) -> TrainLayer:
    from .vww import conv_layer

    return conv_layer(model, op, lr, slot)


def _add(model: Model, op, skip_ref: int) -> TrainLayer:
    from .vww import _act_range

    t = model.tensors
    (s1, z1), (s2, z2), (so, zo) = (t[i].scalar_quant() for i in (op.inputs[0], op.inputs[1], op.outputs[0]))
    p = add_params(s1, s2, so)
    act_min, act_max = _act_range(op, zo, so)
    _, h, w, c = t[op.outputs[0]].shape
    return TrainLayer(
        kind="add",
        in_shape=(h, w, c),
        out_channels=c,
        input_scale=s1,
        input_zero_point=z1,
        output_scale=so,
        output_zero_point=zo,
        act_min=act_min,
        act_max=act_max,
        multiplier=np.array([p.input1_multiplier, p.input2_multiplier, p.output_multiplier], "int32"),
        shift=np.array([p.input1_shift, p.input2_shift, p.output_shift], "int32"),
        skip_ref=skip_ref,
        skip_zero_point=z2,
        name="add",
    )


def resnet_setup(
    model: Model,
    classes: int = 2,
    seed: int = 0,
    head_lr: float = 0.05,
    conv_lr: float = CONV_LR,
    qas: bool = True,
    budget_bytes: int = 256 * 1024,
    slot=None,
) -> TrainSetup:
    """The last residual block, the pool and a new random head (only the head set to train: the
    rest is the planner's choice). With `slot` frozen weights are read from the flash slot."""
    from .vww import new_head

    tail = residual_tail(model)
    assert tail is not None, "not a residual backbone"
    conv_a, conv_b, shortcut, add = tail
    layers = [_conv(model, conv_a, conv_lr, slot), _conv(model, conv_b, conv_lr, slot)]
    # Activations: 0 the block's input, 1 conv_a's output, 2 conv_b's, 3 the shortcut's.
    made = {conv_a.inputs[0]: 0, conv_a.outputs[0]: 1, conv_b.outputs[0]: 2}
    if shortcut is not None:
        layers.append(_conv(model, shortcut, conv_lr, slot))
        layers[-1].input_ref, layers[-1].name = 0, layers[-1].name + "_shortcut"
        made[shortcut.outputs[0]] = 3
    first, second = (made[t] for t in add.inputs[:2])
    layers.append(_add(model, add, second))
    layers[-1].input_ref = first
    out = layers[-1]
    h, w, c = out.out_shape
    pool = TrainLayer(
        kind="avgpool",
        in_shape=(h, w, c),
        out_channels=c,
        input_scale=out.output_scale,
        input_zero_point=out.output_zero_point,
        output_scale=out.output_scale,
        output_zero_point=out.output_zero_point,
        name="avgpool",
    )
    head = new_head(c, classes, out.output_scale, out.output_zero_point, seed, head_lr)
    return TrainSetup(layers=[*layers, pool, head], num_classes=classes, qas=qas, budget_bytes=budget_bytes)

"""A residual backbone (MLPerf Tiny's ResNet-8) as a training setup: the last block as a chain with
a shortcut and an ADD, whose int8 forward equals the TFLM reference interpreter's tensors; and the
host's refusals of malformed residual layers (the device's: tests/device/test_training_residual.py)."""

from __future__ import annotations

import numpy as np
import pytest

from harness.reference import Reference
from harness.shared_models import SHARED_MODELS
from harness.training.reference import forward
from harness.training.resnet import feature_tensor, resnet_setup
from harness.training.setup import TrainingSetupError
from harness.training.toy import toy_residual_setup
from harness.training.vww import load_backbone, quantize_images, stripe_images

RESNET = SHARED_MODELS / "mlperf_tiny" / "pretrainedResnet_quant.tflite"
needs_resnet = pytest.mark.skipif(not RESNET.is_file(), reason="MLPerf Tiny ResNet-8 not in ../shared/models")


@needs_resnet
def test_the_last_residual_block_is_a_chain_whose_forward_equals_tflm():
    model = load_backbone(RESNET)
    setup = resnet_setup(model)
    kinds = [(layer.kind, setup.input_ref(i), layer.skip_ref) for i, layer in enumerate(setup.layers)]
    assert kinds == [("conv", 0, 0), ("conv", 1, 0), ("conv", 0, 0), ("add", 3, 2), ("avgpool", 4, 0), ("dense", 5, 0)]
    assert [layer.stride for layer in setup.layers[:3]] == [2, 1, 2]
    images, _ = stripe_images(2, 1, (32, 32, 3))
    q = quantize_images(model, images)
    assert q.min() < -100 < 100 < q.max()  # scale 1: the pixel values themselves
    block_outputs = [op.outputs[0] for op in model.operators[8:13]]  # conv, conv, shortcut, ADD, pool
    with Reference(model, preserve_all=True, name="resnet") as ref:
        for image in q:
            tensors = ref.run_all([image[None]])
            acts = forward(setup, tensors[feature_tensor(model)].reshape(-1))
            for m, tensor in enumerate(block_outputs, start=1):
                assert np.array_equal(acts[m], tensors[tensor].reshape(-1)), setup.layers[m - 1].name


@pytest.mark.parametrize(
    "layer, field, value, problem",
    [
        (3, "input_ref", 4, "input_ref 4 is not an earlier activation"),
        (3, "input_ref", 2, "is not the output"),
        (4, "skip_ref", 1, "skip_ref 1's shape is not the input"),
        (4, "train_bias", True, "add keeps the channel count and has nothing to train"),
        (2, "skip_ref", 1, "skip_ref/skip_zero_point set on a layer that is not an add"),
        (1, "stride", 3, "conv needs an odd kernel up to 7 and stride 1 or 2"),
    ],
)
def test_malformed_residual_layers_are_refused_on_the_host(layer, field, value, problem):
    setup = toy_residual_setup()
    setattr(setup.layers[layer], field, value)
    with pytest.raises(TrainingSetupError, match=f"layer {layer} .*" + problem.replace("(", r"\(")):
        setup.validate()

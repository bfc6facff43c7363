"""How long the host waits for INVOKE: scaled with the model's MACs, never under the floor,
and never under the reply timeout the user gave (hil --timeout, pytest --hil-timeout)."""

from types import SimpleNamespace

import numpy as np
import pytest

from harness.engine.pack import pack_model
from harness.engine.runner import (
    INVOKE_FLOOR_S,
    SECONDS_PER_MAC,
    DeviceModel,
    estimated_macs,
    invoke_timeout,
)
from harness.model import load_model
from harness.model.writer import ModelBuilder, quant
from harness.shared_models import SHARED_MODELS
from tests.support.single_op import single_op_model


def _conv(height: int, channels: int) -> bytes:
    b = ModelBuilder()
    x = b.tensor("x", (1, height, height, channels), np.int8, quant(0.05, 0))
    w = b.constant("w", np.ones((channels, 3, 3, channels), np.int8), quant(0.01, 0))
    bias = b.constant("b", np.zeros(channels, np.int32), quant(0.0005, 0))
    y = b.tensor("y", (1, height - 2, height - 2, channels), np.int8, quant(0.1, 0))
    b.operator("CONV_2D", [x, w, bias], [y])
    return b.build([x], [y])


def test_macs_of_a_convolution_are_outputs_times_filter_size():
    assert estimated_macs(load_model(_conv(10, 4))) == 8 * 8 * 4 * (3 * 3 * 4)


@pytest.mark.skipif(not SHARED_MODELS.exists(), reason="shared models not available")
def test_macs_of_the_mlperf_models_match_their_published_figures():
    kws = estimated_macs(load_model(SHARED_MODELS / "mlperf_tiny/kws_ref_model.tflite"))
    assert 2.6e6 < kws < 2.7e6  # MLPerf Tiny: 2.7 M MACs


def test_a_big_model_waits_longer_than_the_floor():
    big = pack_model(load_model(_conv(258, 64)))  # 2.4 G MACs
    assert invoke_timeout(big, 5.0) == pytest.approx(estimated_macs(big.model) * SECONDS_PER_MAC)
    assert invoke_timeout(big, 5.0) > 60 * INVOKE_FLOOR_S


def test_a_small_model_waits_the_floor_and_follows_a_longer_reply_timeout():
    small = pack_model(load_model(single_op_model("ADD")))
    assert invoke_timeout(small, 5.0) == INVOKE_FLOOR_S
    assert invoke_timeout(small, 900.0) == 900.0


def test_a_device_model_invokes_with_the_timeout_of_its_link():
    packed = pack_model(load_model(single_op_model("ADD")))
    engine = SimpleNamespace(link=SimpleNamespace(timeout=700.0))
    assert DeviceModel(engine, packed, info=None).invoke_timeout == 700.0

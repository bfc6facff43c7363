"""INVOKE's time limit on the device: a model that outlasts it is named as maybe only slow,
with the option that gives it longer (the limit itself: tests/unit/test_invoke_timeout.py)."""

from __future__ import annotations

import numpy as np
import pytest

from harness.engine.pack import pack_model
from harness.engine.runner import Engine
from harness.errors import DeviceTimeout
from harness.model import load_model
from harness.shared_models import SHARED_MODELS

KWS = SHARED_MODELS / "mlperf_tiny" / "kws_ref_model.tflite"


@pytest.mark.skipif(not KWS.exists(), reason="shared models not available")
def test_an_invoke_past_its_limit_says_the_model_may_only_be_slow(fresh_dut):
    packed = pack_model(load_model(KWS))
    model = Engine(fresh_dut).load_ram(packed)
    assert model.invoke_timeout >= fresh_dut.link.timeout
    model.set_inputs([np.zeros(packed.tensors[packed.inputs[0]].shape, np.int8)])
    with pytest.raises(DeviceTimeout) as timeout:
        model.invoke(timeout=0.005)  # 67 M instructions: far longer than 5 ms
    message = str(timeout.value)
    assert "did not answer INVOKE" in message and "2,664,922 MACs" in message
    assert "may only be slow" in message and "--timeout" in message and "--hil-timeout" in message

"""`hil train --model PATH`: which backbones the trainer accepts, by content and structure."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from harness.errors import HarnessError
from harness.shared_models import SHARED_MODELS
from harness.training.run import task_setup
from harness.training.vww import VWW_MODEL, load_backbone, tail_ops

VWW_FLOAT = SHARED_MODELS / "mlperf_tiny" / "vww_96_float.tflite"
AD01 = SHARED_MODELS / "mlperf_tiny" / "ad01_int8.tflite"
needs_models = pytest.mark.skipif(
    not (VWW_MODEL.is_file() and VWW_FLOAT.is_file() and AD01.is_file()), reason="shared models not available"
)


def hil(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], capture_output=True, text=True, timeout=120)


@needs_models
def test_the_vww_backbone_is_accepted_under_any_name(tmp_path):
    copy = tmp_path / "my_backbone.tflite"
    shutil.copy(VWW_MODEL, copy)
    assert len(tail_ops(load_backbone(copy), 0)) > 0


@needs_models
def test_a_model_named_like_vww_is_still_judged_by_its_content(tmp_path):
    impostor = tmp_path / "vww_96_int8.tflite"
    shutil.copy(VWW_FLOAT, impostor)
    with pytest.raises(HarnessError, match="training needs an int8 model"):
        load_backbone(impostor)


@needs_models
def test_a_model_without_a_trainable_tail_is_refused_with_the_reason():
    hello = SHARED_MODELS / "tflm_examples" / "hello_world_int8.tflite"
    with pytest.raises(HarnessError, match="hello_world_int8.tflite: no trainable tail"):
        task_setup(str(hello), 0)


def test_the_toy_task_takes_no_model():
    result = hil("train", "--board", "nucleo_f746", "--task", "toy", "--model", "anything.tflite")
    assert result.returncode == 2 and "--model applies to --task vww only" in result.stderr


@needs_models
def test_hil_train_refuses_an_unsupported_model_before_building():
    result = hil("train", "--board", "nucleo_f746", "--model", str(AD01))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "ad01_int8.tflite: no trainable tail" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_task_name_given_as_model_is_a_missing_file():
    """--model is a path like everywhere else: "vww" names no file."""
    result = hil("train", "--board", "nucleo_f746", "--model", "vww")
    assert result.returncode == 2 and "vww: cannot read backbone model" in result.stderr

"""`hil train --model PATH`: which backbones the trainer accepts, by content and structure."""
from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from harness.errors import HarnessError
from harness.shared_models import SHARED_MODELS
from harness.training.run import task_setup
from harness.training.vww import VWW_MODEL, load_backbone, structure_problem

PERSON_DETECT = SHARED_MODELS / "tflm_examples" / "person_detect.tflite"
needs_models = pytest.mark.skipif(not (VWW_MODEL.is_file() and PERSON_DETECT.is_file()),
                                  reason="shared models not available")


@needs_models
def test_the_vww_backbone_is_accepted_under_any_name(tmp_path):
    copy = tmp_path / "my_backbone.tflite"
    shutil.copy(VWW_MODEL, copy)
    assert structure_problem(load_backbone(copy)) is None


@needs_models
def test_a_model_named_like_vww_is_still_refused_by_its_content(tmp_path):
    impostor = tmp_path / "vww_96_int8.tflite"
    shutil.copy(PERSON_DETECT, impostor)
    with pytest.raises(HarnessError, match=r"not a backbone the trainer supports \(input .* \[1, 96, 96, 1\]\)"):
        load_backbone(impostor)


@needs_models
def test_a_model_without_the_vww_tail_is_refused_with_the_reason():
    with pytest.raises(HarnessError, match="not a backbone the trainer supports"):
        task_setup("vww", 0, model=SHARED_MODELS / "tflm_examples" / "hello_world_int8.tflite")


def test_the_toy_task_takes_no_model():
    with pytest.raises(HarnessError, match="--model applies to --task vww only"):
        task_setup("toy", 0, model="anything.tflite")


@needs_models
def test_hil_train_refuses_an_unsupported_model_before_building():
    result = subprocess.run([sys.executable, "-m", "harness.cli", "train", "--board", "nucleo_f746",
                             "--task", "vww", "--model", str(PERSON_DETECT)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "person_detect.tflite: not a backbone" in result.stderr
    assert "Traceback" not in result.stderr


def test_hil_train_without_a_task_is_a_usage_error():
    result = subprocess.run([sys.executable, "-m", "harness.cli", "train", "--board", "nucleo_f746",
                             "--model", "vww"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "--task" in result.stderr

"""Labelled data sets and the accuracy metrics (harness/engine/dataset.py, accuracy.py)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from harness.engine.accuracy import roc_auc, top1
from harness.engine.dataset import dequantize, load_dataset, quantize
from harness.errors import HarnessError

SHAPE = (1, 4, 4, 1)


def test_npz_float_inputs_keep_their_real_values(tmp_path):
    np.savez(tmp_path / "d.npz", x=np.linspace(-1, 1, 32, dtype=np.float32).reshape(2, 4, 4, 1), y=[0, 1])
    data = load_dataset(tmp_path / "d.npz", SHAPE, np.int8)
    assert data.x.dtype == np.float32 and data.y.tolist() == [0, 1] and data.classes == ["0", "1"]


def test_quantize_uses_scale_and_zero_point_and_saturates():
    q = quantize(np.array([-1.0, 0.0, 0.004, 0.5, 0.00196, 9.0]), 2 / 255, -1)
    assert q.tolist() == [-128, -1, 0, 63, -1, 127]
    assert np.allclose(dequantize(q[:4], 2 / 255, -1), [-127 * 2 / 255, 0.0, 2 / 255, 64 * 2 / 255])


@pytest.mark.parametrize(
    "arrays, message",
    [
        ({"x": np.zeros((2, 4, 4, 1))}, "no array 'y'"),
        ({"x": np.zeros((2, 5, 4, 1)), "y": [0, 1]}, r"x has shape \[2, 5, 4, 1\], want \[N, 4, 4, 1\]"),
        ({"x": np.zeros((2, 4, 4, 1)), "y": [0, 1, 1]}, "y must be 2 integer labels"),
        ({"x": np.zeros((2, 4, 4, 1), np.int32), "y": [0, 1]}, "x is int32"),
    ],
)
def test_bad_npz_files_are_named_in_one_line(tmp_path, arrays, message):
    np.savez(tmp_path / "d.npz", **arrays)
    with pytest.raises(HarnessError, match=message):
        load_dataset(tmp_path / "d.npz", SHAPE, np.int8)


def test_an_image_folder_has_one_class_per_subfolder_in_sorted_order(tmp_path):
    for name, value in (("1_person", 255), ("0_no_person", 0)):
        (tmp_path / name).mkdir()
        Image.fromarray(np.full((8, 8), value, np.uint8)).save(tmp_path / name / "a.png")
    data = load_dataset(tmp_path, SHAPE, np.int8)
    assert data.classes == ["0_no_person", "1_person"] and data.y.tolist() == [0, 1]
    assert data.x.shape == (2, 4, 4, 1) and data.x.dtype == np.int8
    assert data.x[0].max() == -128 and data.x[1].min() == 127  # q = p - 128


def test_a_folder_without_images_is_refused(tmp_path):
    (tmp_path / "cats").mkdir()
    with pytest.raises(HarnessError, match="cats: no images"):
        load_dataset(tmp_path, SHAPE, np.int8)
    with pytest.raises(HarnessError, match="data set not found"):
        load_dataset(tmp_path / "missing.npz", SHAPE, np.int8)


def test_a_seeded_subset_is_repeatable(tmp_path):
    np.savez(tmp_path / "d.npz", x=np.arange(160, dtype=np.float32).reshape(10, 4, 4, 1), y=np.arange(10) % 2)
    data = load_dataset(tmp_path / "d.npz", SHAPE, np.int8)
    a, b = data.subset(4, 3), data.subset(4, 3)
    assert len(a) == 4 and np.array_equal(a.x, b.x) and np.array_equal(a.y, b.y)


def test_top1_and_auc():
    outputs = [[np.array([[-5, 9]], np.int8)], [np.array([[7, 1]], np.int8)], [np.array([[0, 1]], np.int8)]]
    assert top1(outputs, np.array([1, 0, 0])) == pytest.approx(2 / 3)
    assert roc_auc(np.array([0.9, 0.8, 0.1, 0.2]), np.array([1, 1, 0, 0])) == 1.0
    assert roc_auc(np.array([0.5, 0.5]), np.array([1, 0])) == 0.5
    assert roc_auc(np.array([0.1, 0.9, 0.5]), np.array([1, 0, 0])) == 0.0


def test_labels_are_checked_against_the_model_before_any_board_boots(tmp_path):
    from harness.engine.accuracy import dataset_for
    from harness.shared_models import SHARED_MODELS

    model = SHARED_MODELS / "tflm_examples" / "person_detect.tflite"
    if not model.is_file():
        pytest.skip("shared models not available")
    np.savez(tmp_path / "d.npz", x=np.zeros((2, 96, 96, 1), np.float32), y=[0, 5])
    with pytest.raises(HarnessError, match="labels run from 0 to 5, the model has 2 output classes"):
        dataset_for(model, tmp_path / "d.npz")
    ad01 = SHARED_MODELS / "mlperf_tiny" / "ad01_int8.tflite"
    np.savez(tmp_path / "a.npz", x=np.zeros((2, 640), np.float32), y=[0, 0])
    with pytest.raises(HarnessError, match="labels must be 0 \\(normal\\) and 1 \\(anomalous\\), both present"):
        dataset_for(ad01, tmp_path / "a.npz")

"""Labelled data sets for accuracy runs (`hil run --dataset`, `run_model(..., dataset=...)`).

Two forms (docs/inference.md, "Accuracy on a data set"):

- FILE.npz with `x` (one sample per row: shape [N, *input shape without its batch of 1]) and `y`
  (N integer labels). Float `x` holds real values and is quantized with the int8 model's input
  scale and zero point; int8 `x` is already quantized and is used as it is.
- DIR with one subfolder per class: the class index is the subfolder's position in sorted name
  order (name them `0_no_person`, `1_person`, ... to match the model's outputs). Every image file
  in a subfolder (PNG, BMP, JPEG, PGM/PPM, GIF) is resized to the input's height and width
  (bilinear), made gray or RGB to match its channels, and its 8-bit pixels p span the int8 input's
  whole range: q = p - 128 (as TFLM's camera examples and MLPerf Tiny's VWW feed pixels). For a
  float model, pixels become p / 255.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import HarnessError
from ..input_files import check_regular_file

MAX_CLASSES = 1 << 16  # labels are class indices; no classifier has more outputs
IMAGE_SUFFIXES = {".png", ".bmp", ".jpg", ".jpeg", ".pgm", ".ppm", ".pnm", ".gif"}


@dataclass
class Dataset:
    """Samples in the model's input shape (without the batch), their labels, class names."""

    source: str
    x: np.ndarray  # [N, ...] float32 real values, or int8 already quantized
    y: np.ndarray  # [N] int64
    classes: list[str]

    def __len__(self) -> int:
        return len(self.y)

    def subset(self, count: int | None, seed: int) -> Dataset:
        """A seeded random subset of `count` samples (all of them when count is None or larger)."""
        if count is None or count >= len(self):
            return self
        if count < 1:
            raise HarnessError(f"{self.source}: --samples must be at least 1")
        pick = np.sort(np.random.default_rng(seed).choice(len(self), count, replace=False))
        return Dataset(self.source, self.x[pick], self.y[pick], self.classes)


def load_dataset(path: str | Path, shape: tuple[int, ...], dtype: np.dtype) -> Dataset:
    """The data set at `path` for a model input of `shape` (with its batch of 1) and `dtype`."""
    path = Path(path)
    if path.is_dir():
        return _load_image_dir(path, shape, dtype)
    if not path.exists():
        raise HarnessError(f"{path}: data set not found (a .npz file or a folder of class folders)")
    return _load_npz(check_regular_file(path, "data set"), shape)  # a FIFO would block np.load


def _load_npz(path: Path, shape: tuple[int, ...]) -> Dataset:
    try:
        loaded = np.load(path, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise HarnessError(f"{path}: one array (.npy), not a .npz file (save x and y with np.savez)")
        with loaded as data:
            missing = [key for key in ("x", "y") if key not in data.files]
            if missing:
                raise HarnessError(
                    f"{path}: no array {missing[0]!r} (want x: inputs, y: labels; "
                    f"has {', '.join(data.files) or 'nothing'})"
                )
            x, y = data["x"], data["y"]
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise HarnessError(f"{path}: cannot read a .npz file ({exc})") from None
    sample = tuple(shape[1:])
    if x.ndim and x.shape[1:] == tuple(shape) and shape[0] == 1:
        x = x.reshape(len(x), *sample)  # rows given with their batch of 1
    if x.shape[1:] != sample:
        raise HarnessError(f"{path}: x has shape {list(x.shape)}, want [N, {', '.join(map(str, sample))}]")
    if x.dtype != np.int8 and not np.issubdtype(x.dtype, np.floating):
        raise HarnessError(f"{path}: x is {x.dtype}; want float (real values) or int8 (quantized)")
    if y.shape != (len(x),) or not np.issubdtype(y.dtype, np.integer):
        raise HarnessError(f"{path}: y must be {len(x)} integer labels, is {y.dtype} {list(y.shape)}")
    if not len(x):
        raise HarnessError(f"{path}: the data set is empty")
    low, high = int(y.min()), int(y.max())
    if low < 0 or high >= MAX_CLASSES:  # the class list below would be as long as the largest label
        raise HarnessError(
            f"{path}: labels run from {low} to {high}; want class indices from 0 (at most {MAX_CLASSES})"
        )
    if x.dtype != np.int8 and not np.isfinite(x).all():
        bad = int(np.argmax(~np.isfinite(x).reshape(len(x), -1).all(axis=1)))
        raise HarnessError(f"{path}: x holds NaN or infinity (sample {bad}): no input to quantize")
    x = x if x.dtype == np.int8 else x.astype(np.float32)
    classes = [str(n) for n in range(high + 1)]
    return Dataset(str(path), x, y.astype(np.int64), classes)


def _load_image_dir(path: Path, shape: tuple[int, ...], dtype: np.dtype) -> Dataset:
    if len(shape) != 4 or shape[3] not in (1, 3):
        raise HarnessError(
            f"{path}: a folder of images needs a model input [1, H, W, 1 or 3], this one is {list(shape)}"
        )
    classes = sorted(p.name for p in path.iterdir() if p.is_dir())
    if not classes:
        raise HarnessError(f"{path}: no class folders (one subfolder per class, holding its images)")
    images, labels = [], []
    for label, name in enumerate(classes):
        files = sorted(f for f in (path / name).iterdir() if f.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise HarnessError(f"{path / name}: no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
        for file in files:
            images.append(_read_image(file, shape[1], shape[2], shape[3]))
            labels.append(label)
    pixels = np.stack(images)
    x = (
        (pixels.astype(np.int16) - 128).astype(np.int8)
        if dtype == np.int8
        else (pixels / np.float32(255.0)).astype(np.float32)
    )
    return Dataset(str(path), x, np.array(labels, np.int64), classes)


def _read_image(file: Path, height: int, width: int, channels: int) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    check_regular_file(file, "the image")  # a FIFO named *.png would block Image.open
    try:
        with Image.open(file) as image:
            image = image.convert("L" if channels == 1 else "RGB")
            if image.size != (width, height):
                image = image.resize((width, height), Image.Resampling.BILINEAR)
            pixels = np.asarray(image, np.uint8)
    except (OSError, UnidentifiedImageError, Image.DecompressionBombError) as exc:
        raise HarnessError(f"{file}: cannot read the image ({exc})") from None
    return pixels.reshape(height, width, channels)


def quantize(x: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """Real values to int8 with the input's scale and zero point (round half away from zero, as
    the TFLite converter's quantize does), saturating."""
    q = _round_away(x.astype(np.float64) / scale)
    return np.clip(q + zero_point, -128, 127).astype(np.int8)


def _round_away(v: np.ndarray) -> np.ndarray:
    return np.sign(v) * np.floor(np.abs(v) + 0.5)


def dequantize(q: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    return ((q.astype(np.float32) - zero_point) * np.float32(scale)).astype(np.float32)

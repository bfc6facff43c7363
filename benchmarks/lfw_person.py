"""A person / no-person data set for person_detect from scikit-image's LFW subset (offline, from PyPI).

    python benchmarks/lfw_person.py OUT_DIR            # a folder: OUT_DIR/0_no_person, OUT_DIR/1_person (PNG)
    python benchmarks/lfw_person.py OUT.npz --npz      # x: float32 [N, 96, 96, 1] in [-1, 1], y: labels
    hil run --board nucleo_f746 --model ../shared/models/tflm_examples/person_detect.tflite --dataset OUT_DIR

`skimage.data.lfw_subset()` holds 200 gray 25x25 images: 100 faces (class 1, person) and 100
non-faces (class 0, no person), the order of person_detect's outputs (TFLM's kNotAPersonIndex 0,
kPersonIndex 1). The folder keeps the 25x25 images; `hil run --dataset` scales them to the model's
96x96 input. The .npz is already 96x96 (bilinear) with pixels mapped to [-1, 1], the real range of
person_detect's int8 input (scale 2/255, zero point -1), so the harness quantizes it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

SIZE = 96
CLASSES = ("0_no_person", "1_person")


def lfw_person(count: int | None = None, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """uint8 images [N, 25, 25] and labels (1 face, 0 non-face); a seeded subset of `count`."""
    from skimage import data

    images = np.round(data.lfw_subset() * 255).astype(np.uint8)
    labels = np.array([1] * 100 + [0] * 100, np.int64)
    if count is not None and count < len(labels):
        pick = np.sort(np.random.default_rng(seed).choice(len(labels), count, replace=False))
        images, labels = images[pick], labels[pick]
    return images, labels


def write_folder(out: Path, images: np.ndarray, labels: np.ndarray) -> None:
    from PIL import Image

    for name in CLASSES:
        (out / name).mkdir(parents=True, exist_ok=True)
    for n, (image, label) in enumerate(zip(images, labels)):
        Image.fromarray(image).save(out / CLASSES[label] / f"{n:03d}.png")


def write_npz(out: Path, images: np.ndarray, labels: np.ndarray) -> None:
    from PIL import Image

    big = np.stack(
        [np.asarray(Image.fromarray(image).resize((SIZE, SIZE), Image.Resampling.BILINEAR)) for image in images]
    )
    x = (big.astype(np.float32) / 127.5 - 1.0)[..., None]
    np.savez(out, x=x, y=labels)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--npz", action="store_true", help="write one .npz instead of a folder")
    parser.add_argument("--count", type=int, help="a seeded random subset of this many images")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    images, labels = lfw_person(args.count, args.seed)
    (write_npz if args.npz else write_folder)(args.out, images, labels)
    print(f"{args.out}: {len(labels)} images, {int(labels.sum())} person, {int(len(labels) - labels.sum())} no person")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

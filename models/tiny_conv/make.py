"""Generate tiny_conv: a small int8 image classifier with seeded random weights.

    python models/tiny_conv/make.py           # (re)write the .tflite files beside this script
    python models/tiny_conv/make.py --check   # exit 1 if the files differ from what this makes

The float32 model is built layer by layer, then quantized with `harness.model.quantize` on
seeded random calibration images, so the int8 parameters are what calibration gives, not
made up. Layers: CONV_2D 3x3/2 RELU, DEPTHWISE_CONV_2D 3x3 RELU6, CONV_2D 1x1 RELU,
MAX_POOL_2D 2x2, AVERAGE_POOL_2D 3x3, RESHAPE, FULLY_CONNECTED, SOFTMAX.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from harness.model import ModelBuilder  # noqa: E402
from harness.model.quantize import quantize_model  # noqa: E402

SEED = 20261127
INPUT_SHAPE = (1, 24, 24, 1)
CLASSES = 4


def he(rng: np.random.Generator, shape: tuple[int, ...], fan_in: int) -> np.ndarray:
    return rng.normal(0, np.sqrt(2 / fan_in), shape).astype(np.float32)


def float_model(rng: np.random.Generator) -> bytes:
    b = ModelBuilder("tiny_conv float32 (models/tiny_conv/make.py)")

    def act(name: str, shape: tuple[int, ...]) -> int:
        return b.tensor(name, shape, np.float32)

    def bias(name: str, n: int) -> int:
        return b.constant(name, rng.normal(0, 0.05, n).astype(np.float32))

    x = act("input", INPUT_SHAPE)
    c1 = act("conv1", (1, 12, 12, 8))
    b.operator(
        "CONV_2D",
        [x, b.constant("conv1/w", he(rng, (8, 3, 3, 1), 9)), bias("conv1/b", 8)],
        [c1],
        padding="SAME",
        stride_w=2,
        stride_h=2,
        fused_activation_function="RELU",
    )
    d1 = act("dw1", (1, 12, 12, 8))
    b.operator(
        "DEPTHWISE_CONV_2D",
        [c1, b.constant("dw1/w", he(rng, (1, 3, 3, 8), 9)), bias("dw1/b", 8)],
        [d1],
        padding="SAME",
        fused_activation_function="RELU6",
    )
    c2 = act("conv2", (1, 12, 12, 16))
    b.operator(
        "CONV_2D",
        [d1, b.constant("conv2/w", he(rng, (16, 1, 1, 8), 8)), bias("conv2/b", 16)],
        [c2],
        fused_activation_function="RELU",
    )
    p1 = act("maxpool", (1, 6, 6, 16))
    b.operator("MAX_POOL_2D", [c2], [p1], filter_width=2, filter_height=2, stride_w=2, stride_h=2)
    p2 = act("avgpool", (1, 2, 2, 16))
    b.operator("AVERAGE_POOL_2D", [p1], [p2], filter_width=3, filter_height=3, stride_w=3, stride_h=3)
    flat = act("flatten", (1, 64))
    b.operator("RESHAPE", [p2, b.constant("flatten/shape", np.array([1, 64], np.int32))], [flat], new_shape=[1, 64])
    logits = act("logits", (1, CLASSES))
    b.operator(
        "FULLY_CONNECTED", [flat, b.constant("fc/w", he(rng, (CLASSES, 64), 64)), bias("fc/b", CLASSES)], [logits]
    )
    probs = act("probabilities", (1, CLASSES))
    b.operator("SOFTMAX", [logits], [probs])
    return b.build([x], [probs])


def calibration(rng: np.random.Generator, count: int = 32) -> np.ndarray:
    """Smooth random images in [0, 1]: blurred noise, so neighbouring pixels correlate."""
    noise = rng.uniform(0, 1, (count, 6, 6))
    images = noise.repeat(4, axis=1).repeat(4, axis=2)
    return images[..., None].astype(np.float32)


def build() -> dict[str, bytes]:
    rng = np.random.default_rng(SEED)
    float_bytes = float_model(rng)
    int8_bytes, _ = quantize_model(float_bytes, calibration(rng))
    return {"tiny_conv_float.tflite": float_bytes, "tiny_conv_int8.tflite": int8_bytes}


def main(argv: list[str]) -> int:
    files = build()
    if "--check" in argv:
        stale = [n for n, data in files.items() if not (HERE / n).is_file() or (HERE / n).read_bytes() != data]
        for name in stale:
            print(f"{HERE / name} is not what make.py makes: run python {__file__}")
        return 1 if stale else 0
    for name, data in files.items():
        (HERE / name).write_bytes(data)
        print(f"wrote {HERE / name} ({len(data)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Seed corpora for the fuzz targets (scripts/fuzz.sh), generated, never committed.

    python3 tests/fuzz/seeds.py TARGET DIR      # TARGET: engine, engine_large, link, training or mlperf

engine: every shared model (../shared/models) and the project's own, packed as `hil pack`
writes them, and random single-operator models of every supported op (int8 and float32);
models packed larger than 64 KiB go to engine_large instead (run once, not mutated).
link: request frames as the host sends them (single, chunked, damaged, cut short, a header whose
payload never comes), each after fuzz_link.c's control byte. training: the toy setups'
images followed by step samples, as fuzz_training.c reads them. mlperf: MLPerf Tiny command
sessions (a run, errors, an overlong command), after fuzz_mlperf.c's control byte.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from harness.errors import HarnessError  # noqa: E402
from harness.shared_models import SHARED_MODELS  # noqa: E402

RANDOM_CASES_PER_OP = 3
LARGE_MODEL_BYTES = 64 * 1024  # packed models above this go to engine_large
MAX_SAMPLES = 8


def _write(directory: Path, data: bytes, name: str) -> None:
    digest = hashlib.sha1(data).hexdigest()[:12]
    (directory / f"{name}-{digest}").write_bytes(data)


def _model_files() -> list[Path]:
    return sorted([*SHARED_MODELS.rglob("*.tflite"), *(REPO / "models").rglob("*.tflite")])


def _packed_models(large: bool) -> list[tuple[str, bytes]]:
    from harness.engine.pack import pack_model
    from harness.model import load_model

    packed = []
    for path in _model_files():
        try:
            image = pack_model(load_model(path)).image
        except HarnessError as exc:  # an op the engine does not run: not a seed
            print(f"seeds: {path.name} skipped: {exc}", file=sys.stderr)
            continue
        if (len(image) > LARGE_MODEL_BYTES) == large:
            packed.append((path.stem, image))
    return packed


def engine_large_seeds(directory: Path) -> None:
    """The models too large to fuzz quickly (each execution invokes them whole): run once each
    (-runs=0) by the seed test, kept out of the mutated corpus."""
    for name, image in _packed_models(large=True):
        _write(directory, image, name)


def engine_seeds(directory: Path) -> None:
    from harness.engine.pack import pack_model
    from harness.model import load_model
    from tests.support.random_ops import OPS, random_case

    for name, image in _packed_models(large=False):
        _write(directory, image, name)
    rng = np.random.default_rng(20261201)
    for opcode in OPS:
        for dtype in ("int8", "float32"):
            for _ in range(RANDOM_CASES_PER_OP):
                try:
                    tflite, _inputs = random_case(rng, opcode, dtype)
                except (KeyError, NotImplementedError, ValueError):
                    break  # no such case for this dtype
                _write(directory, pack_model(load_model(tflite)).image, f"{opcode.lower()}_{dtype}")


def link_seeds(directory: Path) -> None:
    from harness.link.framing import Frame, encode
    from harness.link.protocol import FLAG_MORE, HEADER, MAGIC, MessageType

    echo = encode(Frame(MessageType.ECHO, 1, b"hello"))
    chunked = b"".join(
        encode(Frame(MessageType.ECHO, 2, bytes(range(i, i + 200)), FLAG_MORE)) for i in range(3)
    ) + encode(Frame(MessageType.ECHO, 2, b"end"))
    damaged = bytearray(echo)
    damaged[9] ^= 1
    header_only = MAGIC + HEADER.pack(200, MessageType.ECHO, 0, 3)
    streams = {
        "echo": echo,
        "chunked": chunked,
        "damaged": bytes(damaged) + echo,
        "truncated": encode(Frame(MessageType.ECHO, 4, b"x" * 300))[:40] + echo,
        "header_only": header_only + echo,
        "garbage": b"\x00\xff\xa5line noise\xa5" + echo,
        "empty": encode(Frame(MessageType.HELLO, 5)),
    }
    for name, stream in streams.items():
        for control in (0x7F, 0x03, 0x83, 0xFF):  # all at once, bursts, bursts with stalls
            _write(directory, bytes([control]) + stream, f"{name}_{control:02x}")


def training_seeds(directory: Path) -> None:
    from harness.training.setup import pack
    from harness.training.toy import toy_data, toy_depthwise_setup, toy_residual_setup, toy_setup

    setups = {
        "toy": toy_setup(seed=3),
        "toy_noqas": toy_setup(seed=5, qas=False),
        "toy_depthwise": toy_depthwise_setup(seed=2),
        "toy_residual": toy_residual_setup(seed=1),  # conv 3x3 / 1x1 strided, an ADD, input_ref
    }
    for name, setup in setups.items():
        x, y = toy_data(setup, MAX_SAMPLES, seed=4)
        samples = b"".join(
            bytes([int(label) | (0x80 if i % 4 == 3 else 0)]) + sample.astype(np.int8).tobytes()
            for i, (sample, label) in enumerate(zip(x, y))
        )
        _write(directory, pack(setup) + samples, name)


def mlperf_seeds(directory: Path) -> None:
    """Command sessions as harness.mlperf.session sends them to the 16-byte input of
    fuzz_mlperf.c's runner, and broken ones, each for a few control bytes (output type, version)."""
    load = "db load 16%" + "db " + bytes(range(0, 250, 31))[:8].hex() + "%db " + bytes(8).hex() + "%"
    sessions = {
        "run": "name%profile%" + load + "infer 1 0%results%infer 10 1%",
        "print": load + "db print%timestamp%help%",
        "short_input": "db load 8%db 0011223344556677%infer 1 0%",
        "too_many_bytes": "db load 16%db " + "ab" * 40 + "%infer%",
        "errors": "db load 0%db load 99999%db load x%db 0%db zz%db%infer 0%infer 1 -1%bogus%%",
        "overlong": "x" * 100 + "%name%",
        "many": load + "infer 999999999 9%",
        "nan_output": "db load 16%db " + "ffffffff0000807f" * 2 + "%infer 1 0%",
    }
    for name, text in sessions.items():
        for control in (0x00, 0x04, 0x0B, 0x13, 0x21):
            _write(directory, bytes([control]) + text.encode(), f"{name}_{control:02x}")


TARGETS = {
    "engine": engine_seeds,
    "engine_large": engine_large_seeds,
    "link": link_seeds,
    "training": training_seeds,
    "mlperf": mlperf_seeds,
}


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in TARGETS:
        print(f"usage: seeds.py {{{','.join(TARGETS)}}} DIR", file=sys.stderr)
        return 2
    directory = Path(argv[1])
    directory.mkdir(parents=True, exist_ok=True)
    TARGETS[argv[0]](directory)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Instructions per MAC of the device engine next to TFLM's, per model and per op class.

    python benchmarks/kernels_vs_cmsis.py [--board nucleo_f746] [--json] [MODEL.tflite ...]

Runs `hil bench` (exact guest instruction counts of one Invoke and of each layer, QEMU TCG
plugin, bit-exactness checked at every layer) on each of the four MLPerf Tiny models and prints:

  per model    MACs, our instructions per MAC, the two TFLM anchors, our ratio to TFLM with
               CMSIS-NN, the arena the engine uses, firmware flash and the model's flash
  per op class (CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, the rest) instructions, MACs and
               instructions per MAC (TFLM's per-class figures were not measured: no anchors)

The anchors are the figures of issue 14, measured the same way (QEMU mps2-an500, -icount
shift=0, instructions counted by a TCG plugin around one Invoke) with TFLM 90b983c2b,
CMSIS-NN 4ab83cc3, arm-none-eabi-gcc 12.2 and TFLM's default optimisation. They are quoted,
not re-measured here.
"""

from __future__ import annotations

import argparse
import collections
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from harness.model.tflite import Model, load_model
from harness.shared_models import SHARED_MODELS

# model file -> (MACs, TFLM reference instr/MAC, TFLM + CMSIS-NN instr/MAC), issue 14's table
ANCHORS = {
    "vww_96_int8.tflite": (7_489_664, 13.51, 3.21),
    "kws_ref_model.tflite": (2_656_768, 16.42, 2.88),
    "pretrainedResnet_quant.tflite": (12_501_632, 8.69, 2.40),
    "ad01_int8.tflite": (264_192, 7.38, 2.21),
}
ANCHOR_SOURCE = (
    "issue 14's measurement: TFLM 90b983c2b, CMSIS-NN 4ab83cc3, arm-none-eabi-gcc 12.2, same QEMU and counting method"
)
MAC_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")


def layer_macs(model: Model, index: int) -> int:
    """Multiply-accumulates of operator `index` (0 for operators without weights)."""
    op = model.operators[index]
    if op.opcode not in MAC_OPS:
        return 0
    weights = model.tensors[op.inputs[1]].shape
    outputs = int(np.prod(model.tensors[op.outputs[0]].shape))
    if op.opcode == "CONV_2D":
        return outputs * weights[1] * weights[2] * weights[3]
    if op.opcode == "DEPTHWISE_CONV_2D":
        return outputs * weights[1] * weights[2]
    return outputs * weights[1]


def bench(board: str, model_path: Path) -> dict:
    """One `hil bench --json` run (a subprocess: it builds and boots the firmware itself)."""
    result = subprocess.run(
        [sys.executable, "-m", "harness.cli", "bench", "--board", board, "--model", str(model_path), "--json"],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise SystemExit(
            f"hil bench failed for {model_path.name} (exit {result.returncode}):\n"
            f"{result.stderr.strip().splitlines()[-1] if result.stderr.strip() else ''}"
        )
    return json.loads(result.stdout)[0]


def measure(board: str, model_path: Path) -> dict:
    report = bench(board, model_path)
    model = load_model(model_path)
    timing = report["metrics"]["timing"]
    per_layer = {r["layer"]: r["instructions"] for r in timing["regions"] if r["layer"] is not None}
    classes: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0])
    for op in model.operators:
        name = op.opcode if op.opcode in MAC_OPS else "other"
        classes[name][0] += per_layer.get(op.index, 0)
        classes[name][1] += layer_macs(model, op.index)
    macs = sum(m for _, m in classes.values())
    memory = report["metrics"]["memory"]
    return {
        "model": model_path.name,
        "board": board,
        "verdict": report["verdict"],
        "instructions": timing["total"],
        "macs": macs,
        "per_mac": timing["total"] / macs,
        "classes": {k: {"instructions": v[0], "macs": v[1]} for k, v in sorted(classes.items())},
        "arena_used": memory["arena_used"],
        "firmware_flash": memory["flash_bytes"],
        "stack_high_water": memory["stack_high_water"],
        "build_id": report["build_id"],
    }


def print_table(rows: list[dict]) -> None:
    print(f"anchors: {ANCHOR_SOURCE}")
    print(
        f"{'model':<31}{'MACs':>11}{'ours/MAC':>10}{'TFLM ref':>10}{'CMSIS-NN':>10}"
        f"{'ours/CMSIS':>12}{'arena':>8}{'fw flash':>10}{'exact':>7}"
    )
    for r in rows:
        anchor = ANCHORS.get(r["model"])
        ref, cmsis = (f"{anchor[1]:.2f}", f"{anchor[2]:.2f}") if anchor else ("-", "-")
        ratio = f"{r['per_mac'] / anchor[2]:.3f}" if anchor else "-"
        print(
            f"{r['model']:<31}{r['macs']:>11,}{r['per_mac']:>10.2f}{ref:>10}{cmsis:>10}{ratio:>12}"
            f"{r['arena_used']:>8}{r['firmware_flash']:>10}{'yes' if r['verdict'] == 'pass' else 'NO':>7}"
        )
    print()
    print(f"{'model':<31}{'op class':<20}{'instructions':>14}{'MACs':>12}{'instr/MAC':>11}")
    for r in rows:
        for name, c in r["classes"].items():
            per_mac = f"{c['instructions'] / c['macs']:.2f}" if c["macs"] else "-"
            print(f"{r['model']:<31}{name:<20}{c['instructions']:>14,}{c['macs']:>12,}{per_mac:>11}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", type=Path)
    parser.add_argument("--board", default="nucleo_f746")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    models = args.models or [SHARED_MODELS / "mlperf_tiny" / name for name in ANCHORS]
    missing = [str(m) for m in models if not m.is_file()]
    if missing:
        print(f"error: model not found: {', '.join(missing)}", file=sys.stderr)
        return 2
    rows = [measure(args.board, m) for m in models]
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print_table(rows)
    return 0 if all(r["verdict"] == "pass" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())

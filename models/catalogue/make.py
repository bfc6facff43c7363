"""Regenerate the third-party model table in models/README.md from the files themselves.

    python models/catalogue/make.py           # rewrite the table between the markers
    python models/catalogue/make.py --check   # exit 1 if the table is out of date

Everything in the table is read with harness.model.load_model: nothing is typed by hand.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from harness.model import Model, load_model  # noqa: E402
from harness.shared_models import SHARED_MODELS as SHARED  # noqa: E402

README = HERE.parent / "README.md"
BEGIN, END = "<!-- catalogue:begin -->", "<!-- catalogue:end -->"


def weight_granularity(model: Model) -> str:
    """How int8 weights are scaled, per weighted operator kind: "CONV_2D per-channel", ..."""
    kinds: dict[str, set[str]] = {}
    for op in model.operators:
        if op.opcode in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
            quant = model.tensors[op.inputs[1]].quant
            if quant is not None and model.tensors[op.inputs[1]].dtype.name == "int8":
                kinds.setdefault(op.opcode, set()).add("per-channel" if quant.per_channel else "per-tensor")
    return ", ".join(f"{k} {'/'.join(sorted(v))}" for k, v in kinds.items()) or "-"


def describe(model: Model) -> tuple[str, str, str, str]:
    """(kind, inputs, outputs, operators) of a model, as table cells."""

    def tensors(indices: list[int]) -> str:
        return ", ".join(f"{model.tensors[i].dtype} {list(model.tensors[i].shape)}" for i in indices)

    weights = {
        model.tensors[op.inputs[1]].dtype.name
        for op in model.operators
        if op.opcode in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")
    }
    activations = {model.tensors[i].dtype.name for i in model.inputs}
    kind = "int8" if activations == {"int8"} else "float32"
    if kind == "float32" and "int8" in weights:
        kind = "hybrid (int8 weights, float32 activations)"
    ops = ", ".join(
        f"{name} x{n}" if n > 1 else name for name, n in Counter(op.opcode for op in model.operators).items()
    )
    return kind, tensors(model.inputs), tensors(model.outputs), ops


def table() -> str:
    rows = [
        "| file | kind | input | output | operators (in order of first use) | int8 weights |",
        "|---|---|---|---|---|---|",
    ]
    for path in sorted(SHARED.glob("*/*.tflite")):
        model = load_model(path)
        kind, inputs, outputs, ops = describe(model)
        rows.append(
            f"| {path.relative_to(SHARED)} | {kind} | {inputs} | {outputs} | {ops} | {weight_granularity(model)} |"
        )
    return "\n".join(rows)


def updated_readme() -> str:
    text = README.read_text()
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{table()}\n{END}{tail}"


def main(argv: list[str]) -> int:
    if not SHARED.is_dir():
        print(f"no third-party models at {SHARED} (set HIL_SHARED_MODELS)")
        return 2
    text = updated_readme()
    if "--check" in argv:
        if text != README.read_text():
            print(f"{README}: the catalogue is out of date: run python {__file__}")
            return 1
        return 0
    README.write_text(text)
    print(f"updated {README}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Bad input to `hil`: one line naming the file, tensor or field, exit status 2, never a traceback.

Malformed models are crafted from a valid single-operator model by editing its flatbuffer
(the schema's object API writes whatever values it is given, unlike harness.model.writer).
`hil pack` and `hil run` run in-process: a bad model is refused before any QEMU starts.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import flatbuffers
import numpy as np
import pytest
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

from harness.cli import BUG_EXIT_STATUS, main
from harness.model import load_model, write_model
from tests.support.single_op import single_op_model

REPO = Path(__file__).resolve().parents[2]
# single_op_model("FULLY_CONNECTED") tensors: 0 input, 1 output, 2 weights (per-channel), 3 bias
INPUT, OUTPUT, WEIGHTS, BIAS = range(4)


def edited(raw: bytes, edit: Callable[[list], None]) -> bytes:
    """`raw` with its tensors (schema TensorT objects) changed by `edit`."""
    fb = schema.ModelT.InitFromPackedBuf(raw, 0)
    edit(fb.subgraphs[0].tensors)
    builder = flatbuffers.Builder(0)
    builder.Finish(fb.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def scale(tensor: int, value: float, channel: int = 0) -> Callable[[list], None]:
    def edit(tensors: list) -> None:
        scales = np.array(tensors[tensor].quantization.scale, np.float32)
        scales[channel] = value
        tensors[tensor].quantization.scale = scales

    return edit


def zero_point(tensor: int, value: int) -> Callable[[list], None]:
    def edit(tensors: list) -> None:
        tensors[tensor].quantization.zeroPoint = np.full(len(tensors[tensor].quantization.scale), value, np.int64)

    return edit


def shape(tensor: int, dims: list[int]) -> Callable[[list], None]:
    def edit(tensors: list) -> None:
        tensors[tensor].shape = np.asarray(dims, np.int32)

    return edit


MALFORMED = {  # name: (edit, what the one line must say)
    "nan scale": (scale(INPUT, float("nan")), r"tensor 0 \(input\): quantization scale nan"),
    "inf scale": (scale(OUTPUT, float("inf")), r"tensor 1 \(output\): quantization scale inf"),
    "zero scale": (scale(WEIGHTS, 0.0, channel=3), r"tensor 2 \(weights\): quantization scale 0.0 \(channel 3\)"),
    "negative scale": (scale(INPUT, -0.05), r"tensor 0 \(input\): quantization scale -0.05"),
    "zero point above int8": (
        zero_point(INPUT, 200),
        r"tensor 0 \(input\): quantization zero point 200 .*\[-128, 127\]",
    ),
    "zero point below int8": (zero_point(OUTPUT, -129), r"tensor 1 \(output\): quantization zero point -129"),
    "zero point over int32": (zero_point(BIAS, 1 << 33), r"tensor 3 \(bias\): quantization zero point 8589934592"),
    "negative dim": (shape(INPUT, [1, -16]), r"tensor 0 \(input\): dimension 1 of shape \[1, -16\] is negative"),
    "element count over 32 bits": (shape(OUTPUT, [65536, 65536, 2]), r"tensor 1 \(output\): shape .* 32-bit limit"),
    "product wraps to a small number": (
        shape(INPUT, [65536, 65536, 65536, 65536, 1]),
        r"tensor 0 \(input\): shape .* 32-bit limit",
    ),
    "byte size over 32 bits": (
        shape(BIAS, [1 << 30]),
        r"tensor 3 \(bias\): shape \[1073741824\] of int32 is 4294967296 bytes",
    ),
}


@pytest.fixture(scope="module")
def base_model() -> bytes:
    return single_op_model("FULLY_CONNECTED")


def one_error_line(capsys: pytest.CaptureFixture) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize("name", MALFORMED)
@pytest.mark.parametrize("command", ["pack", "run"])
def test_malformed_model_is_one_line_and_exit_2(name, command, base_model, tmp_path, capsys):
    edit, message = MALFORMED[name]
    model = tmp_path / "bad.tflite"
    model.write_bytes(edited(base_model, edit))
    argv = (
        ["pack", str(model), "-o", str(tmp_path / "out.bin")]
        if command == "pack"
        else ["run", "--board", "nucleo_f746", "--emulator", "qemu", "--model", str(model)]
    )
    assert main(argv) == 2
    line = one_error_line(capsys)
    assert str(model) in line
    assert re.search(message, line), line


def test_crafted_models_are_valid_apart_from_the_edit(base_model, tmp_path):
    """The table tests what it claims: the unedited model packs."""
    model = tmp_path / "good.tflite"
    model.write_bytes(edited(base_model, lambda tensors: None))
    assert main(["pack", str(model), "-o", str(tmp_path / "out.bin")]) == 0


@pytest.mark.parametrize("kind", ["directory", "missing"])
def test_a_model_path_that_is_no_file_is_one_line(kind, tmp_path, capsys):
    path = tmp_path / "model.tflite"
    if kind == "directory":
        path.mkdir()
    assert main(["pack", str(path), "-o", str(tmp_path / "out.bin")]) == 2
    line = one_error_line(capsys)
    assert str(path) in line and ("directory" in line if kind == "directory" else "No such file" in line)


def test_a_fifo_is_refused_without_opening_it(tmp_path):
    """Opening a FIFO blocks until a writer comes: `hil pack` used to hang on one."""
    fifo = tmp_path / "model.tflite"
    os.mkfifo(fifo)
    done = subprocess.run(
        [sys.executable, "-m", "harness.cli", "pack", str(fifo), "-o", str(tmp_path / "o.bin")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert f"{fifo}: cannot read model file (it is a FIFO" in done.stderr


def test_a_fifo_as_bench_model_is_refused(tmp_path, capsys):
    fifo = tmp_path / "model.tflite"
    os.mkfifo(fifo)
    assert main(["bench", "--board", "nucleo_f746", "--model", str(fifo)]) == 2
    assert f"{fifo}: cannot read model file (it is a FIFO" in one_error_line(capsys)


def test_a_fifo_as_run_input_is_refused(tmp_path, capsys, base_model):
    model = tmp_path / "m.tflite"
    model.write_bytes(base_model)
    fifo = tmp_path / "x.npy"
    os.mkfifo(fifo)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "harness.cli",
            "run",
            "--board",
            "nucleo_f746",
            "--model",
            str(model),
            "--input",
            str(fifo),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2 and "it is a FIFO" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda path: np.savez(path, x=np.zeros(16)), "an .npz archive, not one .npy array"),  # was read after boot
        (lambda path: path.write_bytes(b"PK\x03\x04" + bytes(40)), "cannot read a .npy array"),  # BadZipFile, exit 3
    ],
    ids=["npz archive", "not a zip"],
)
def test_an_input_that_is_no_npy_array_is_one_line(make, message, tmp_path, capsys, base_model):
    model, given = tmp_path / "m.tflite", tmp_path / "x.npy"
    model.write_bytes(base_model)
    make(given)
    given = next(tmp_path.glob("x.np*"))
    assert main(["run", "--board", "nucleo_f746", "--model", str(model), "--input", str(given)]) == 2
    line = one_error_line(capsys)
    assert f"{given}: {message}" in line, line


@pytest.mark.parametrize(
    "option, value",
    [
        ("--seed", "-1"),
        ("--seed", str(1 << 32)),
        ("--seed", "x"),
        ("--timeout", "0"),
        ("--timeout", "-5"),
        ("--timeout", "nan"),
        ("--timeout", "inf"),
        ("--inputs", "0"),
        ("--baud", "-1"),
    ],
)
def test_out_of_range_options_are_usage_errors(option, value, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "--board", "nucleo_f746", "--model", str(tmp_path / "none.tflite"), option, value])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert f"argument {option}: " in err.strip().splitlines()[-1]


@pytest.mark.parametrize("option, value", [("--layers", "-1"), ("--repeat", "0"), ("--seed", "-2")])
def test_out_of_range_bench_options_are_usage_errors(option, value, capsys):
    """--layers -1 used to reach the link's struct packing after booting the board."""
    with pytest.raises(SystemExit) as exit_info:
        main(["bench", "--board", "nucleo_f746", option, value])
    assert exit_info.value.code == 2
    assert f"argument {option}: " in capsys.readouterr().err.strip().splitlines()[-1]


@pytest.mark.parametrize(
    "option, value",
    [
        ("--steps", "0"),
        ("--steps", "1e3"),
        ("--steps", str(1 << 32)),  # the device's step counter is 32 bits
        ("--train-samples", "0"),
        ("--test-samples", "99999999999"),  # images made in memory: a MemoryError (exit 3) or the OOM killer
        ("--budget", "-1"),
        ("--budget", "1.5KB"),
        ("--seed", str(1 << 32)),
    ],
)
def test_out_of_range_train_options_are_usage_errors(option, value, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--board", "nucleo_f746", option, value])
    assert exit_info.value.code == 2
    assert f"argument {option}: " in capsys.readouterr().err.strip().splitlines()[-1]


def test_a_backbone_without_inputs_is_one_line(tmp_path, capsys, base_model):
    """It used to end in an IndexError (exit 3) while looking for the input's type."""
    fb = schema.ModelT.InitFromPackedBuf(base_model, 0)
    fb.subgraphs[0].inputs = np.array([], np.int32)
    builder = flatbuffers.Builder(0)
    builder.Finish(fb.Pack(builder), file_identifier=b"TFL3")
    model = tmp_path / "no_inputs.tflite"
    model.write_bytes(bytes(builder.Output()))
    assert main(["train", "--board", "nucleo_f746", "--model", str(model)]) == 2
    assert f"{model}: the model has no inputs: a run would compare nothing" in one_error_line(capsys)


def test_nan_weights_are_refused_by_quantize(tmp_path, capsys):
    model = load_model(single_op_model("FULLY_CONNECTED", "float32"))
    weights = model.tensors[model.operators[0].inputs[1]]
    data = weights.data.copy()
    data[2, 5] = np.nan
    model.tensors[weights.index] = replace(weights, data=data)
    path, calib = tmp_path / "nan.tflite", tmp_path / "calib.npy"
    path.write_bytes(write_model(model))
    np.save(calib, np.random.default_rng(0).standard_normal((4, 16)).astype(np.float32))
    assert main(["quantize", str(path), "--calib", str(calib), "-o", str(tmp_path / "q.tflite")]) == 2
    line = one_error_line(capsys)
    assert str(path) in line and "tensor 2 (weights) holds NaN" in line
    assert not (tmp_path / "q.tflite").exists()


# ---- data sets (hil run --dataset): refused before any board boots ------------------------


def _npz(**arrays) -> Callable[[Path], None]:
    return lambda path: np.savez(path, **arrays)


def _image_folder(image: bytes | str) -> Callable[[Path], None]:
    """Two class folders; the first holds `image` ("fifo": a FIFO named a.png), the second a good PNG."""

    def make(path: Path) -> None:
        from PIL import Image

        for name in ("0", "1"):
            (path / name).mkdir(parents=True)
        Image.new("RGB", (8, 8)).save(path / "1" / "b.png")
        if image == "fifo":
            os.mkfifo(path / "0" / "a.png")
        else:
            (path / "0" / "a.png").write_bytes(image)

    return make


def _bomb() -> bytes:
    """A small PNG of 400 million pixels: PIL refuses to decode it (DecompressionBombError)."""
    import io

    from PIL import Image

    stream = io.BytesIO()
    Image.new("1", (20000, 20000)).save(stream, "PNG")
    return stream.getvalue()


X16 = np.zeros((2, 16), np.float32)
BAD_DATASETS = {  # name: (how the data set is made, its file name, what the one line says)
    "NaN features": (_npz(x=np.full((2, 16), np.nan, np.float32), y=[0, 1]), "d.npz", "x holds NaN or infinity"),
    "infinite feature": (_npz(x=np.where(np.eye(2, 16) > 0, np.inf, 0), y=[0, 1]), "d.npz", "(sample 0)"),
    "negative label": (_npz(x=X16, y=[0, -1]), "d.npz", "labels run from -1 to 0; want class indices from 0"),
    "label 2**62": (_npz(x=X16, y=[0, 1 << 62]), "d.npz", "labels run from 0 to 4611686018427387904"),  # hung
    "an .npy array": (lambda path: np.save(path, X16), "d.npy", "one array (.npy), not a .npz file"),  # exit 3
    "not a zip file": (lambda path: path.write_bytes(b"PK\x03\x04" + bytes(64)), "d.npz", "cannot read a .npz"),
    "a FIFO": (lambda path: os.mkfifo(path), "d.npz", "cannot read data set (it is a FIFO"),  # np.load blocked
    "an image FIFO": (_image_folder("fifo"), "images", "a.png: cannot read the image (it is a FIFO"),  # hung
    "a decompression bomb": (_image_folder(_bomb()), "images", "a.png: cannot read the image (Image size"),
    "an empty image": (_image_folder(b""), "images", "a.png: cannot read the image (cannot identify"),
}


@pytest.mark.parametrize("name", BAD_DATASETS)
def test_bad_data_sets_are_one_line(name, tmp_path, capsys, base_model):
    make, file_name, message = BAD_DATASETS[name]
    model = tmp_path / "m.tflite"
    images = file_name == "images"
    model.write_bytes(single_op_model("CONV_2D") if images else base_model)  # input [1, 8, 8, 3] or [1, 16]
    make(tmp_path / file_name)
    argv = ["run", "--board", "nucleo_f746", "--model", str(model), "--dataset", str(tmp_path / file_name)]
    assert main(argv) == 2
    line = one_error_line(capsys)
    assert str(tmp_path / file_name) in line and message in line, line


# ---- results and baseline files, edited by hand or from an older harness ------------------


def _record(**changes) -> dict:
    record = {
        "board": "nucleo_f746",
        "emulator": "qemu",
        "build_id": "b",
        "case": "kws",
        "model": "kws.tflite",
        "seed": 0,
        "verdict": "pass",
        "bit_exact": True,
        "metrics": {
            "timing": {
                "unit": "instructions",
                "total": 10,
                "regions": [{"name": "inference", "layer": None, "unit": "instructions", "instructions": 10}],
            },
            "memory": {"flash_bytes": 100},
        },
    }
    record.update(changes)
    return {k: v for k, v in record.items() if v is not ...}


BAD_RECORDS = {  # name: (record, the field the message names)
    "no case": (_record(case=...), "field `case` is missing"),
    "board a number": (_record(board=7), "field `board` must be a string"),
    "metrics a list": (_record(metrics=[1, 2]), "field `metrics` must be an object"),
    "region without unit": (
        _record(metrics={"timing": {"regions": [{"name": "inference", "instructions": 3}]}}),
        "metrics.timing.regions[0]: field `unit` is missing",
    ),
    "region count a string": (
        _record(metrics={"timing": {"regions": [{"name": "x", "unit": "cycles", "cycles": "9"}]}}),
        "regions[0]: field `cycles` must be a number",
    ),
    "memory a string": (
        _record(metrics={"memory": {"flash_bytes": "big"}}),
        "memory: field `flash_bytes` must be a number",
    ),
    "seed a float": (_record(seed=1.5), "field `seed` must be an integer"),
    "compared elements a string": (
        _record(compared={"elements": "12", "exact": 12}),
        "compared: field `elements` must be an integer",
    ),
    # `hil train --results` runs, shown by `hil report` (each used to end in a TypeError, exit 3)
    "training a list": (_record(training=[1]), "field `training` must be an object"),
    "training losses a string": (_record(training={"losses": "abc"}), "training: field `losses` must be a list"),
    "training loss NaN": (
        _record(training={"losses": [0.5, float("nan")]}),
        "training: losses[1] (step 2) must be a finite number",
    ),
    "training accuracy a string": (
        _record(training={"accuracy_after": "0.9"}),
        "training: field `accuracy_after` must be a number",
    ),
    "training checkpoint not a pair": (
        _record(training={"accuracy_checkpoints": [[0]]}),
        "training: accuracy_checkpoints[0] must be [step, accuracy]",
    ),
    "training curve point without device": (
        _record(training={"accuracy_curve": [{"step": 0}]}),
        "training: accuracy_curve[0] must be {step, device, reference} numbers",
    ),
    "training eval_every a string": (
        _record(training={"eval_every": "5"}),
        "training: field `eval_every` must be an integer",
    ),
    "training layers not names": (
        _record(training={"trained_layers": [1, 2]}),
        "training: field `trained_layers` must be a list of layer names",
    ),
    "training peak SRAM a string": (
        _record(training={"peak_sram_bytes": "1k"}),
        "training: field `peak_sram_bytes` must be an integer",
    ),
}


def _results_file(tmp_path: Path, record: dict) -> Path:
    path = tmp_path / "runs.jsonl"
    path.write_text(json.dumps(_record(case="other")) + "\n" + json.dumps(record) + "\n")
    return path


@pytest.mark.parametrize("name", BAD_RECORDS)
@pytest.mark.parametrize("command", ["report", "baseline", "regress"])
def test_malformed_results_files_are_one_line(name, command, tmp_path, capsys):
    record, message = BAD_RECORDS[name]
    results = _results_file(tmp_path, record)
    baseline = tmp_path / "baseline.json"
    baseline.write_text(json.dumps({"cases": {"kws": {"metrics": {"instructions.inference": 10}}}}))
    argv = {
        "report": ["report", "--results", str(results), "--out", str(tmp_path / "r.html")],
        "baseline": [
            "baseline",
            "update",
            "--board",
            "nucleo_f746",
            "--from-results",
            "--results",
            str(results),
            "--baseline",
            str(tmp_path / "new.json"),
        ],
        "regress": [
            "regress",
            "--board",
            "nucleo_f746",
            "--from-results",
            "--results",
            str(results),
            "--baseline",
            str(baseline),
        ],
    }[command]
    assert main(argv) == 2
    line = one_error_line(capsys)
    assert f"{results} line 2: " in line and message in line, line


def _training_run() -> dict:
    return _record(
        case="train vww stripes",
        bit_exact=...,
        metrics={},
        training={"steps": 2, "losses": [1.0, 0.5], "accuracy_checkpoints": [[0, 0.5], [2, 0.75]]},
    )


def test_training_runs_in_a_results_file_are_no_benchmark_cases(tmp_path, capsys):
    """`hil train --results` and `hil bench --results` may share a file (the report shows both): the
    gate takes the benchmark records only (the training run had no bit_exact and failed the gate,
    exit 1), and a file of training runs alone gates nothing: exit 2, not a PASS."""
    results, baseline = tmp_path / "runs.jsonl", tmp_path / "baseline.json"
    baseline.write_text(json.dumps({"cases": {"kws": {"bit_exact": True, "metrics": {"instructions.inference": 10}}}}))
    gate = ["regress", "--board", "nucleo_f746", "--from-results", "--results", str(results)]
    results.write_text(json.dumps(_record()) + "\n" + json.dumps(_training_run()) + "\n")
    assert main([*gate, "--baseline", str(baseline), "--strict"]) == 0
    assert "1 cases gated" in capsys.readouterr().out
    assert main(["report", "--results", str(results), "--out", str(tmp_path / "r.html")]) == 0
    assert "train vww stripes" in (tmp_path / "r.html").read_text()
    results.write_text(json.dumps(_training_run()) + "\n")
    assert main([*gate, "--baseline", str(baseline)]) == 2
    assert f"{results} has no benchmark records for nucleo_f746 (qemu)" in one_error_line(capsys)


BAD_BASELINES = {  # name: (baseline, what the message names)
    "case not an object": ({"cases": {"kws": [1]}}, "case kws must be an object"),
    "case without metrics": ({"cases": {"kws": {"bit_exact": True}}}, "case kws: field `metrics` is missing"),
    "metric a string": (
        {"cases": {"kws": {"metrics": {"instructions.inference": "10"}}}},
        "case kws: metric `instructions.inference` must be a number",
    ),
    "bit_exact a string": (
        {"cases": {"kws": {"bit_exact": "yes", "metrics": {}}}},
        "field `bit_exact` must be true or false",
    ),
    "threshold a string": ({"thresholds": {"default": "2%"}, "cases": {}}, "threshold `default` must be a number"),
    "negative threshold": (
        {"thresholds": {"memory": -1}, "cases": {}},
        "threshold `memory` must be a number of 0 or more",
    ),
    "model_path a number": (
        {"cases": {"kws": {"model_path": 3, "metrics": {}}}},
        "field `model_path` must be a string",
    ),
}


@pytest.mark.parametrize("name", BAD_BASELINES)
@pytest.mark.parametrize("command", ["show", "regress"])
def test_malformed_baselines_are_one_line(name, command, tmp_path, capsys):
    data, message = BAD_BASELINES[name]
    baseline = tmp_path / "baseline.json"
    baseline.write_text(json.dumps(data))
    results = _results_file(tmp_path, _record())
    argv = (
        ["baseline", "show", "--board", "nucleo_f746", "--baseline", str(baseline)]
        if command == "show"
        else [
            "regress",
            "--board",
            "nucleo_f746",
            "--from-results",
            "--results",
            str(results),
            "--baseline",
            str(baseline),
        ]
    )
    assert main(argv) == 2
    line = one_error_line(capsys)
    assert f"baseline {baseline}" in line and message in line, line


def test_a_baseline_that_is_a_directory_is_one_line(tmp_path, capsys):
    (tmp_path / "b.json").mkdir()
    assert main(["baseline", "show", "--board", "nucleo_f746", "--baseline", str(tmp_path / "b.json")]) == 2
    assert "it is a directory" in one_error_line(capsys)


# ---- a bug in hil ---------------------------------------------------------------------------


@pytest.fixture
def model_whose_pack_has_a_bug(tmp_path, monkeypatch, base_model) -> Path:
    """A good model, and `hil pack` broken by an unexpected exception (crash logs in tmp_path)."""

    def broken(*args, **kwargs):
        raise ZeroDivisionError("division by zero in a helper")

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr("harness.commands.inference.pack_file", broken)
    model = tmp_path / "m.tflite"
    model.write_bytes(base_model)
    return model


def test_a_bug_exits_3_with_one_line_naming_the_log(tmp_path, capsys, model_whose_pack_has_a_bug):
    status = main(["pack", str(model_whose_pack_has_a_bug), "-o", str(tmp_path / "o.bin")])
    assert status == BUG_EXIT_STATUS and status not in (0, 1, 2)
    line = one_error_line(capsys)
    assert "ZeroDivisionError: division by zero in a helper" in line and "bug" in line
    log = Path(line.rsplit("traceback in ", 1)[1].rstrip(")"))
    assert log.is_file() and log.parent == tmp_path / "cache" / "hil" / "crash"
    text = log.read_text()
    assert "Traceback" in text and "ZeroDivisionError" in text and "pack" in text


def test_a_reader_that_went_away_is_not_reported_as_a_bug():
    read_end, write_end = os.pipe()
    os.close(read_end)  # like `hil boards | head -0`
    try:
        done = subprocess.run(
            [sys.executable, "-m", "harness.cli", "boards"],
            cwd=REPO,
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
    finally:
        os.close(write_end)
    assert done.returncode == 141, done.stderr
    assert "internal error" not in done.stderr and "Traceback" not in done.stderr


def test_a_bug_under_json_is_one_json_object(tmp_path, capsys, model_whose_pack_has_a_bug):
    assert main(["pack", str(model_whose_pack_has_a_bug), "-o", str(tmp_path / "o.bin"), "--json"]) == BUG_EXIT_STATUS
    error = json.loads(one_error_line(capsys))
    assert error["exit_status"] == BUG_EXIT_STATUS and error["type"] == "InternalError"
    assert "ZeroDivisionError" in error["error"] and "traceback in " in error["error"]

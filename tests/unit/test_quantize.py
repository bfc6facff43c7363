"""harness.model.quantize: float32 -> int8 with the converter's conventions, run in TFLM."""

from pathlib import Path

import numpy as np
import pytest

from harness.errors import HarnessError
from harness.model import ModelBuilder, ModelError, load_model
from harness.model.quantize import main, quantize_array, quantize_model, run_quantize
from harness.reference import Reference
from harness.shared_models import SHARED_MODELS
from tests.support.single_op import single_op_model

SHARED = SHARED_MODELS
needs_models = pytest.mark.skipif(not SHARED.is_dir(), reason=f"no models in {SHARED}")


def bmp_gray(path: Path) -> np.ndarray:
    """An 8-bit palette BMP (the TFLM person images) as a [0, 1] float image."""
    raw = path.read_bytes()
    offset = int.from_bytes(raw[10:14], "little")
    width, height = (int.from_bytes(raw[k : k + 4], "little", signed=True) for k in (18, 22))
    pixels = np.frombuffer(raw, np.uint8, width * abs(height), offset).reshape(abs(height), width)
    return (pixels[::-1] if height > 0 else pixels).astype(np.float32) / 255


def image_set(size: int, count: int) -> np.ndarray:
    """Person / no-person photos, flipped, shifted and re-lit; RGB, [0, 1]."""
    rng = np.random.default_rng(0)
    photos = [bmp_gray(SHARED / f"tflm_examples/{n}.bmp") for n in ("person", "no_person")]
    images = []
    for k in range(count):
        img = photos[k % 2][:, ::-1] if k % 4 >= 2 else photos[k % 2]
        img = np.roll(img, tuple(rng.integers(-8, 9, 2)), axis=(0, 1))
        img = np.clip(img * rng.uniform(0.7, 1.3) + rng.normal(0, 0.02, img.shape), 0, 1)
        factor = img.shape[0] // size
        img = img.reshape(size, factor, size, factor).mean(axis=(1, 3))
        images.append(np.repeat(img[..., None], 3, axis=2))
    return np.stack(images).astype(np.float32)


def calibration(name: str) -> np.ndarray:
    rng = np.random.default_rng(1)
    if name == "hello_world_float":
        return np.linspace(0, 2 * np.pi, 64, dtype=np.float32)[:, None]
    if name == "ad01_fp32":  # the int8 model's input parameters cover about [-85, 15]
        return rng.normal(-30, 15, (32, 640)).astype(np.float32)
    if name == "pretrainedResnet":  # raw 0..255 pixels, as its int8 twin's input scale says
        return image_set(32, 32) * 255
    return image_set(96, 16)


FLOAT_MODELS = {
    "hello_world_float": "tflm_examples",
    "ad01_fp32": "mlperf_tiny",
    "pretrainedResnet": "mlperf_tiny",
    "vww_96_float": "mlperf_tiny",
}


@pytest.fixture(scope="module", params=sorted(FLOAT_MODELS))
def quantized(request):
    if not SHARED.is_dir():
        pytest.skip(f"no models in {SHARED}")
    name = request.param
    raw = (SHARED / FLOAT_MODELS[name] / f"{name}.tflite").read_bytes()
    int8_bytes, report = quantize_model(raw, calibration(name))
    return name, load_model(raw), load_model(int8_bytes), report


def test_quantized_model_runs_in_tflm_with_int8_io(quantized):
    _, _, model, _ = quantized
    for i in model.inputs + model.outputs:
        assert model.tensors[i].dtype == np.int8
    x = np.zeros(model.tensors[model.inputs[0]].shape, np.int8)
    with Reference(model) as ref:
        assert ref.run([x])[0].dtype == np.int8


def test_report_quality(quantized):
    name, float_model, _, report = quantized
    print(f"\n{name}\n{report.format()}")
    assert [r.index for r in report.layers] == list(range(len(float_model.operators)))
    assert min(r.sqnr_db for r in report.layers) > 12
    assert report.output_sqnr_db > 14
    if name == "hello_world_float":
        assert report.top1_agreement is None  # one value per sample: no classes


SHIPPED_INT8 = {"pretrainedResnet": "pretrainedResnet_quant", "vww_96_float": "vww_96_int8"}


def test_top1_agreement_is_as_good_as_the_converters_own_int8_model(quantized):
    """The MLPerf Tiny int8 twins came out of the TFLite converter: on the same inputs ours
    must agree with the float model at least as often, give or take one sample."""
    name, float_model, _, report = quantized
    if name not in SHIPPED_INT8:
        pytest.skip("no converter-made int8 twin")
    shipped = load_model(SHARED / "mlperf_tiny" / f"{SHIPPED_INT8[name]}.tflite")
    agree = 0
    with Reference(float_model) as f_ref, Reference(shipped) as q_ref:
        for x in calibration(name):
            expected = f_ref.run([x[None]])[0]
            q = shipped.tensors[shipped.inputs[0]].quant
            got = q_ref.run([quantize_array(x[None], q)])[0]
            agree += int(np.argmax(got) == np.argmax(expected))
    samples = len(calibration(name))
    print(f"\n{name}: top-1 agreement ours {report.top1_agreement:.3f}, converter's {agree / samples:.3f}")
    assert report.top1_agreement >= (agree - 1) / samples


def test_weights_biases_and_activations_follow_the_converter(quantized):
    _, float_model, model, _ = quantized
    axis = {"CONV_2D": 0, "FULLY_CONNECTED": 0, "DEPTHWISE_CONV_2D": 3}
    for op in model.operators:
        if op.opcode in axis:
            x, w, b = (model.tensors[i] for i in op.inputs[:3])
            assert w.dtype == np.int8 and w.quant.axis == axis[op.opcode]
            assert w.quant.scale.size == w.shape[axis[op.opcode]]
            assert np.all(w.quant.zero_point == 0) and w.data.min() >= -127
            assert b.dtype == np.int32 and np.all(b.quant.zero_point == 0)
            np.testing.assert_allclose(b.quant.scale, x.quant.scale[0] * w.quant.scale, rtol=1e-6)
            float_w = float_model.tensors[op.inputs[1]].data
            other = tuple(d for d in range(float_w.ndim) if d != axis[op.opcode])
            full = np.abs(w.data).max(axis=other) == 127  # full range per channel, except
            widened = np.abs(b.data) >= (1 << 30) - 128  # where the bias needed a wider scale
            assert np.all(full | widened)
        if op.opcode == "SOFTMAX":
            out = model.tensors[op.outputs[0]].quant
            assert out.scale[0] == np.float32(1 / 256) and out.zero_point[0] == -128
        if op.opcode in ("AVERAGE_POOL_2D", "MAX_POOL_2D", "RESHAPE"):
            a, c = model.tensors[op.inputs[0]].quant, model.tensors[op.outputs[0]].quant
            assert (a.scale[0], a.zero_point[0]) == (c.scale[0], c.zero_point[0])
    for t in model.tensors:
        if t.data is None:
            assert t.dtype == np.int8 and t.quant.scale.size == 1
            assert -128 <= t.quant.zero_point[0] <= 127


def test_quantization_is_deterministic():
    raw = single_op_model("CONV_2D", "float32")
    calib = np.random.default_rng(2).normal(size=(8, 8, 8, 3)).astype(np.float32)
    assert quantize_model(raw, calib)[0] == quantize_model(raw, calib)[0]


def test_concatenation_inputs_share_the_output_parameters():
    calib = np.random.default_rng(3).normal(size=(4, 4, 4, 3)).astype(np.float32)
    int8_bytes, report = quantize_model(_conv_then_concat(), calib)
    q = load_model(int8_bytes)
    concat = q.operators[-1]
    params = {(q.tensors[i].quant.scale[0], q.tensors[i].quant.zero_point[0]) for i in concat.inputs + concat.outputs}
    assert len(params) == 1
    assert report.output_sqnr_db > 20


def _conv_then_concat() -> bytes:
    rng = np.random.default_rng(4)
    b = ModelBuilder()
    x = b.tensor("x", (1, 4, 4, 3), np.float32)
    w = b.constant("w", rng.normal(0, 2, (5, 1, 1, 3)).astype(np.float32))
    bias = b.constant("b", np.zeros(5, np.float32))
    c = b.tensor("conv", (1, 4, 4, 5), np.float32)
    y = b.tensor("y", (1, 4, 4, 8), np.float32)
    b.operator("CONV_2D", [x, w, bias], [c])
    b.operator("CONCATENATION", [x, c], [y], axis=3)
    return b.build([x], [y])


@pytest.mark.parametrize(
    "opcode",
    [
        "MEAN",
        "PAD",
        "LOGISTIC",
        "MAX_POOL_2D",
        "AVERAGE_POOL_2D",
        "RESHAPE",
        "DEPTHWISE_CONV_2D",
        "FULLY_CONNECTED",
        "SOFTMAX",
        "CONV_2D",
    ],
)
def test_single_float_ops_quantize(opcode):
    raw = single_op_model(opcode, "float32")
    model = load_model(raw)
    rng = np.random.default_rng(6)
    shape = model.tensors[model.inputs[0]].shape
    _, report = quantize_model(raw, rng.normal(size=(16,) + shape[1:]))
    assert report.output_sqnr_db > 20, report.format()


def test_constant_operands_are_quantized_as_activations():
    rng = np.random.default_rng(9)
    b = ModelBuilder()
    x = b.tensor("x", (1, 8), np.float32)
    gain = b.constant("gain", rng.uniform(0.5, 2, (1, 8)).astype(np.float32))
    scaled = b.tensor("scaled", (1, 8), np.float32)
    y = b.tensor("y", (1, 8), np.float32)
    b.operator("MUL", [x, gain], [scaled])
    b.operator("ADD", [scaled, x], [y])
    int8_bytes, report = quantize_model(b.build([x], [y]), rng.normal(size=(32, 8)))
    q = load_model(int8_bytes).tensors[gain]
    assert q.dtype == np.int8 and q.data is not None
    assert report.output_sqnr_db > 25, report.format()


def test_unsupported_operator_is_named_with_its_index():
    b = ModelBuilder()
    x = b.tensor("x", (1, 4), np.float32)
    h = b.tensor("h", (1, 4), np.float32)
    y = b.tensor("y", (1, 4), np.float32)
    b.operator("LOGISTIC", [x], [h])
    b.operator("TANH", [h], [y])
    with pytest.raises(ModelError, match=r"operator 1 \(TANH\) cannot be quantized"):
        quantize_model(b.build([x], [y]), np.zeros((2, 4), np.float32))


@needs_models
def test_hybrid_model_is_refused_clearly():
    raw = (SHARED / "mlperf_tiny/kws_ref_model_float32.tflite").read_bytes()
    with pytest.raises(ModelError, match="hybrid model, which TFLM refuses"):
        quantize_model(raw, np.zeros((1, 49, 10, 1), np.float32))


@needs_models
def test_int8_model_is_refused():
    raw = (SHARED / "tflm_examples/hello_world_int8.tflite").read_bytes()
    with pytest.raises(ModelError, match="only float32 models"):
        quantize_model(raw, np.zeros((1, 1), np.float32))


def test_calibration_shape_must_match_the_input():
    raw = single_op_model("FULLY_CONNECTED", "float32")
    with pytest.raises(HarnessError, match=r"expected \[N, 16\]"):
        quantize_model(raw, np.zeros((4, 15), np.float32))
    with pytest.raises(HarnessError, match="NaN"):
        quantize_model(raw, np.full((4, 16), np.nan, np.float32))
    quantize_model(raw, np.ones((1, 16), np.float32))  # one input-shaped sample is fine


def test_command_writes_the_model_and_reports(tmp_path, capsys):
    model = tmp_path / "fc.tflite"
    model.write_bytes(single_op_model("FULLY_CONNECTED", "float32"))
    calib = tmp_path / "calib.npy"
    np.save(calib, np.random.default_rng(8).normal(size=(10, 16)).astype(np.float32))
    out = tmp_path / "fc_int8.tflite"
    assert main([str(model), "--calib", str(calib), "-o", str(out)]) == 0
    assert "SQNR" in capsys.readouterr().out
    assert load_model(out).tensors[0].dtype in (np.int8, np.int32)
    report = run_quantize(model, calib, out)
    assert report.samples == 10
    assert main([str(model), "--calib", str(calib), "-o", str(out), "--json"]) == 0
    assert '"sqnr_db"' in capsys.readouterr().out


def test_command_reports_bad_input_with_status_2(tmp_path, capsys):
    model = tmp_path / "fc.tflite"
    model.write_bytes(single_op_model("FULLY_CONNECTED", "float32"))
    status = main([str(model), "--calib", str(tmp_path / "missing.npy"), "-o", str(tmp_path / "out.tflite")])
    assert status == 2
    assert "cannot read calibration data" in capsys.readouterr().err

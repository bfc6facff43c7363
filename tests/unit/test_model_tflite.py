"""harness.model.tflite: loading real models, and refusing broken ones with ModelError."""

import numpy as np
import pytest
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

from harness.errors import HarnessError
from harness.model import ModelError, load_model, write_model
from harness.shared_models import SHARED_MODELS

SHARED = SHARED_MODELS
MODELS = sorted(SHARED.glob("*/*.tflite"))
needs_models = pytest.mark.skipif(not MODELS, reason=f"no models in {SHARED}")


@needs_models
@pytest.mark.parametrize("path", MODELS, ids=lambda p: p.name)
def test_loads_every_shared_model(path):
    model = load_model(path)
    fb = schema.Model.GetRootAs(path.read_bytes(), 0)
    sg = fb.Subgraphs(0)
    assert len(model.tensors) == sg.TensorsLength()
    assert len(model.operators) == sg.OperatorsLength()
    assert model.inputs == sg.InputsAsNumpy().tolist()
    assert model.outputs == sg.OutputsAsNumpy().tolist()
    assert model.raw == path.read_bytes() and len(model.sha256) == 64
    for op in model.operators:
        assert op.opcode.isupper()
        assert all(-1 <= i < len(model.tensors) for i in op.inputs + op.outputs)
    for t in model.tensors:
        if t.data is not None:
            assert t.data.shape == t.shape and t.data.dtype == t.dtype
        if t.quant is not None:
            assert t.quant.scale.dtype == np.float32 and t.quant.zero_point.dtype == np.int64
            assert t.quant.scale.shape == t.quant.zero_point.shape


@needs_models
def test_conv_options_are_snake_case_with_enum_names():
    model = load_model(SHARED / "tflm_examples/person_detect.tflite")
    conv = next(op for op in model.operators if op.opcode == "DEPTHWISE_CONV_2D")
    assert conv.options["padding"] in ("SAME", "VALID")
    assert conv.options["fused_activation_function"] in ("NONE", "RELU", "RELU6")
    assert conv.options["stride_w"] >= 1 and conv.options["depth_multiplier"] >= 1


@needs_models
def test_per_channel_weights_keep_their_axis():
    model = load_model(SHARED / "mlperf_tiny/vww_96_int8.tflite")
    dw = next(op for op in model.operators if op.opcode == "DEPTHWISE_CONV_2D")
    weights = model.tensors[dw.inputs[1]]
    assert weights.quant.axis == 3 and weights.quant.scale.size == weights.shape[3]


@needs_models
def test_bytes_and_path_give_the_same_model():
    path = SHARED / "tflm_examples/hello_world_int8.tflite"
    a, b = load_model(path), load_model(path.read_bytes())
    assert a.sha256 == b.sha256 and [t.name for t in a.tensors] == [t.name for t in b.tensors]


@needs_models
@pytest.mark.parametrize("path", MODELS, ids=lambda p: p.name)
def test_truncated_files_raise_model_error(path):
    raw = path.read_bytes()
    for size in (0, 3, 7, 8, 16, 100, len(raw) // 3, len(raw) // 2):
        with pytest.raises(ModelError, match="not a valid .tflite flatbuffer"):
            load_model(raw[:size])


@pytest.mark.parametrize("seed", range(20))
def test_garbage_raises_model_error(seed):
    rng = np.random.default_rng(seed)
    garbage = bytearray(rng.integers(0, 256, 2000, dtype=np.uint8).tobytes())
    garbage[4:8] = b"TFL3"  # get past the identifier check into the parser
    with pytest.raises(ModelError, match="not a valid .tflite flatbuffer"):
        load_model(bytes(garbage))


@needs_models
def test_corrupted_indices_raise_model_error():
    rng = np.random.default_rng(7)
    raw = (SHARED / "tflm_examples/hello_world_int8.tflite").read_bytes()
    for _ in range(30):
        broken = bytearray(raw)
        for pos in rng.integers(8, 600, 6):
            broken[pos] = int(rng.integers(0, 256))
        try:
            load_model(bytes(broken))
        except ModelError:
            pass  # anything else (IndexError, struct.error, ...) fails the test


def test_missing_file_is_a_model_error(tmp_path):
    with pytest.raises(ModelError, match="cannot read"):
        load_model(tmp_path / "nope.tflite")


def test_neither_path_nor_bytes_is_a_model_error():
    with pytest.raises(ModelError, match="path or bytes"):
        load_model(42)


def test_model_error_is_bad_input():
    assert issubclass(ModelError, HarnessError) and ModelError.exit_status == 2


@needs_models
def test_two_subgraphs_are_refused():
    raw = (SHARED / "tflm_examples/hello_world_float.tflite").read_bytes()
    fb = schema.ModelT.InitFromPackedBuf(raw, 0)
    fb.subgraphs.append(fb.subgraphs[0])
    import flatbuffers

    builder = flatbuffers.Builder(0)
    builder.Finish(fb.Pack(builder), file_identifier=b"TFL3")
    with pytest.raises(ModelError, match="2 subgraphs"):
        load_model(bytes(builder.Output()))


@needs_models
def test_opcodes_lists_kinds_in_order_of_use():
    model = load_model(SHARED / "tflm_examples/micro_speech_quantized.tflite")
    assert model.opcodes == ["RESHAPE", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "SOFTMAX"]
    assert load_model(write_model(model)).opcodes == model.opcodes

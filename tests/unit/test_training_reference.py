"""Host side of on-device training: float32 helpers, setup image, reference step, planner."""

from __future__ import annotations

import numpy as np
import pytest

from harness.commands.training import parse_bytes
from harness.training import f32math
from harness.training.planner import PlanOverBudget, evaluate, plan_sparse_update
from harness.training.reference import TrainingReference, check_sample, forward
from harness.training.setup import TrainingSetupError, arena_layout, pack
from harness.training.toy import toy_data, toy_depthwise_setup, toy_setup
from harness.training.vww import VWW_MODEL


def _ulps(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    ai = np.asarray(a, np.float32).view(np.int32).astype(np.int64)
    bi = np.asarray(b, np.float32).view(np.int32).astype(np.int64)
    return np.abs(ai - bi)


def test_expf_is_within_two_ulp_of_the_true_value():
    xs = np.linspace(-80, 20, 2001, dtype=np.float32)
    ours = np.array([f32math.expf(x) for x in xs], np.float32)
    exact = np.exp(xs.astype(np.float64)).astype(np.float32)
    assert _ulps(ours, exact).max() <= 2


def test_logf_is_within_two_ulp_of_the_true_value():
    xs = np.concatenate([np.linspace(1, 300, 3001), np.geomspace(1e-3, 1e6, 500)]).astype(np.float32)
    ours = np.array([f32math.logf(x) for x in xs], np.float32)
    exact = np.log(xs.astype(np.float64)).astype(np.float32)
    assert _ulps(ours, exact).max() <= 2


def test_round_to_int_halves_away_from_zero_clamps_and_zeroes_nan():
    values = np.array([0.5, -0.5, 1.49, -2.5, 1e9, -1e9, np.nan], np.float32)
    assert f32math.round_to_int(values, 256.0).tolist() == [1, -1, 1, -3, 256, -256, 0]


def test_pack_records_offsets_and_the_arena_plan_counts_every_block():
    setup = toy_setup()
    image = pack(setup)
    weights_at = setup.offsets[(0, "weights")]
    assert image[weights_at : weights_at + setup.layers[0].weights.size] == setup.layers[0].weights.tobytes()
    layout = arena_layout(setup, len(image))
    parts = ("setup", "input", "saved_inputs", "masks", "logits", "scratch", "deferred")
    assert layout["total"] == sum(layout[name] for name in parts)
    assert layout["scratch"] == max(layout["forward_buffers"], layout["gradients"])
    assert layout["setup"] >= len(image) and layout["setup"] % 8 == 0


def test_a_layer_chain_that_does_not_connect_is_refused():
    setup = toy_setup()
    setup.layers[2].in_shape = (1, 1, 5)
    with pytest.raises(TrainingSetupError, match="input shape"):
        pack(setup)


def test_shifts_and_zero_points_the_device_refuses_are_refused_on_the_host():
    setup = toy_setup()
    setup.layers[0].shift = setup.layers[0].shift.copy()
    setup.layers[0].shift[3] = 40
    with pytest.raises(TrainingSetupError, match=r"layer 0 \(pointwise\): shift 40 outside -31..31"):
        pack(setup)
    setup = toy_setup()
    setup.layers[2].output_zero_point = 300
    with pytest.raises(TrainingSetupError, match=r"layer 2 \(head\): output_zero_point 300 outside int8"):
        pack(setup)


def test_reading_parameters_outside_the_loaded_image_is_refused_on_the_host():
    from harness.training.device import DeviceTraining

    device = DeviceTraining(link=None)  # nothing loaded (a refused load): no request may go out
    device.setup = toy_setup()
    pack(device.setup)  # records the parameter offsets
    with pytest.raises(TrainingSetupError, match=r"TRAIN_READ of 192 B at offset \d+ lies outside the 0 B setup image"):
        device.read_parameters()


def test_bad_samples_are_named():
    setup = toy_setup()
    with pytest.raises(TrainingSetupError, match="sample must be 144 int8 values"):
        check_sample(setup, np.zeros(10, np.int8), 0)
    with pytest.raises(TrainingSetupError, match="label 7 out of range"):
        check_sample(setup, np.zeros(144, np.int8), 7)


def test_reference_training_lowers_the_loss_and_learns_the_toy_task():
    setup = toy_setup()
    x, y = toy_data(setup, 160)
    reference = TrainingReference(setup)
    before = reference.accuracy(x[120:], y[120:])
    losses = [float(reference.step(x[i], y[i]).loss) for i in range(120)]
    assert np.mean(losses[-20:]) < np.mean(losses[:20]) / 3
    assert reference.accuracy(x[120:], y[120:]) > max(before, 0.8)


def test_sparse_update_leaves_untrained_channels_and_frozen_layers_alone():
    setup = toy_setup()
    setup.layers[0].train_channels = 4
    x, y = toy_data(setup, 20)
    reference = TrainingReference(setup)
    for i in range(20):
        reference.step(x[i], y[i])
    trained = reference.setup.layers[0].weights
    assert np.array_equal(trained[:, 4:], setup.layers[0].weights[:, 4:])
    assert not np.array_equal(trained[:, :4], setup.layers[0].weights[:, :4])


def test_depthwise_sparse_update_trains_only_its_first_channels():
    setup = toy_depthwise_setup()
    x, y = toy_data(setup, 20)
    reference = TrainingReference(setup)
    for i in range(20):
        reference.step(x[i], y[i])
    before, after = setup.layers[0].weights, reference.setup.layers[0].weights
    assert np.array_equal(after[:, :, 8:], before[:, :, 8:])
    assert not np.array_equal(after[:, :, :8], before[:, :, :8])


def test_a_depthwise_layer_whose_input_is_not_the_previous_output_is_refused():
    setup = toy_depthwise_setup()
    setup.layers = [setup.layers[1], setup.layers[0], *setup.layers[2:]]
    with pytest.raises(TrainingSetupError):
        pack(setup)


def test_without_qas_the_int8_weights_barely_move():
    with_qas, without = toy_setup(qas=True), toy_setup(qas=False)
    x, y = toy_data(with_qas, 30)
    moved = []
    for setup in (with_qas, without):
        reference = TrainingReference(setup)
        for i in range(30):
            reference.step(x[i], y[i])
        moved.append(np.count_nonzero(reference.setup.layers[2].weights != setup.layers[2].weights))
    assert moved[0] > 10 * max(moved[1], 1)


def test_planner_trains_everything_under_a_large_budget_and_less_under_a_tight_one():
    setup = toy_setup()
    full = plan_sparse_update(setup, static_bytes=20000, budget=256 * 1024)
    assert full.scheme[0]["channels"] == 16 and full.scheme[0]["bias"] == 1
    head_only = evaluate(_head_only(setup), 20000, 256 * 1024)
    tight = plan_sparse_update(setup, static_bytes=20000, budget=head_only.predicted_peak)
    assert tight.scheme[0]["channels"] == 0 and tight.scheme[0]["bias"] == 0
    assert tight.predicted_peak <= head_only.predicted_peak


def _head_only(setup):
    setup = setup.copy()
    setup.layers[0].train_bias, setup.layers[0].train_channels = False, 0
    return setup


def test_planner_refuses_a_budget_nothing_fits_naming_predicted_and_allowed_bytes():
    with pytest.raises(PlanOverBudget, match=r"plan needs \d+ bytes of SRAM .* budget allows 16384"):
        plan_sparse_update(toy_setup(), static_bytes=20000, budget=16384)


def test_parse_bytes():
    assert parse_bytes("256KB") == 262144 and parse_bytes("1MB") == 1 << 20 and parse_bytes("100") == 100


@pytest.mark.skipif(not VWW_MODEL.is_file(), reason="MLPerf Tiny VWW model not in ../shared/models")
def test_vww_tail_forward_equals_tflite_micro():
    from harness.reference import Reference
    from harness.training.vww import (
        feature_tensor,
        load_backbone,
        quantize_images,
        stripe_images,
        vww_setup,
    )

    model = load_backbone()
    setup = vww_setup(model)
    image = quantize_images(model, stripe_images(1, 5)[0])
    with Reference(model, preserve_all=True) as ref:
        tensors = ref.run_all([image])
    ops = model.operators
    pool = next(op for op in ops if op.opcode == "AVERAGE_POOL_2D")
    pointwise = next(op for op in ops if pool.inputs[0] in op.outputs)
    depthwise = next(op for op in ops if pointwise.inputs[0] in op.outputs)
    activations = forward(setup, tensors[feature_tensor(model)].reshape(-1))
    assert [layer.kind for layer in setup.layers] == ["depthwise", "dense", "avgpool", "dense"]
    for produced, op in zip(activations[1:4], (depthwise, pointwise, pool)):
        assert np.array_equal(produced, tensors[op.outputs[0]].reshape(-1))


def test_a_parameter_check_over_no_parameters_is_refused():
    """docs/verdicts.md: the training verdict compares every trained parameter, never none."""
    from types import SimpleNamespace

    from harness.engine.compare import NothingCompared
    from harness.training.run import check_parameters

    nothing = SimpleNamespace(layers=[])
    with pytest.raises(NothingCompared, match="no trained parameters"):
        check_parameters(
            SimpleNamespace(read_parameters=lambda: nothing, setup=SimpleNamespace(offsets={})),
            SimpleNamespace(setup=nothing),
        )


@pytest.mark.skipif(not VWW_MODEL.is_file(), reason="MLPerf Tiny VWW model not in ../shared/models")
def test_two_block_vww_tail_with_a_strided_depthwise_equals_tflite_micro():
    from harness.reference import Reference
    from harness.training.vww import (
        feature_tensor,
        load_backbone,
        quantize_images,
        stripe_images,
        tail_ops,
        vww_setup,
    )

    model = load_backbone()
    setup = vww_setup(model, blocks=2)
    assert [layer.name for layer in setup.layers[:4]] == [
        "depthwise_conv2d_11",
        "conv2d_12",
        "depthwise_conv2d_12",
        "conv2d_13",
    ]
    assert setup.layers[0].stride == 2 and setup.layers[0].out_shape == (3, 3, 128)
    image = quantize_images(model, stripe_images(1, 6)[0])
    with Reference(model, preserve_all=True) as ref:
        tensors = ref.run_all([image])
    activations = forward(setup, tensors[feature_tensor(model, blocks=2)].reshape(-1))
    for produced, op in zip(activations[1:5], tail_ops(model, blocks=2)):
        assert np.array_equal(produced, tensors[op.outputs[0]].reshape(-1))


@pytest.mark.skipif(not VWW_MODEL.is_file(), reason="MLPerf Tiny VWW model not in ../shared/models")
def test_weights_in_the_model_slot_take_no_image_bytes_and_only_trained_columns_are_copied():
    from harness.training.backbone import pack_backbone
    from harness.training.vww import load_backbone, vww_setup

    model = load_backbone()
    in_sram = vww_setup(model, blocks=2)
    in_slot = vww_setup(model, blocks=2, slot=pack_backbone(model))
    pw = in_slot.layers[3]
    assert len(pack(in_sram)) - len(pack(in_slot)) == sum(layer.weights.size for layer in in_sram.layers[:4])
    pw.train_channels = 32  # conv2d_13 at r = 1/8: its 256 x 32 trained columns in the image
    image = pack(in_slot)
    at = in_slot.offsets[(3, "weights")]
    assert image[at : at + 256 * 32] == np.ascontiguousarray(pw.weights[:, :32]).tobytes()
    depthwise = in_slot.layers[2]
    depthwise.train_channels = 8  # depthwise weights that train are copied whole
    assert not depthwise.weights_in_slot


@pytest.mark.skipif(not VWW_MODEL.is_file(), reason="MLPerf Tiny VWW model not in ../shared/models")
def test_the_planner_fits_two_sparse_blocks_in_141_kb_with_weights_in_flash():
    from harness.training.run import task_setup

    setup = task_setup("vww", 0, backbone="device")
    plan = plan_sparse_update(setup, static_bytes=78528, budget=141 * 1024, arena_capacity=131072)
    rows = {row["name"]: row for row in plan.scheme}
    assert all(rows[name]["bias"] for name in ("depthwise_conv2d_11", "conv2d_12", "depthwise_conv2d_12", "conv2d_13"))
    assert 0 < rows["conv2d_13"]["channels"] < 256 and plan.predicted_peak <= 141 * 1024


@pytest.mark.parametrize(
    "name, problem",
    [
        ("vww_96_float.tflite", "training needs an int8 model"),
        ("ad01_int8.tflite", "no trainable tail: backbone has no AVERAGE_POOL_2D"),
        ("pretrainedResnet_quant.tflite", "no trainable tail: backbone operator 11 is not a stride-1 1x1"),
    ],
)
def test_backbones_the_tail_cannot_be_cut_from_are_refused_with_the_reason(name, problem):
    from harness.errors import HarnessError
    from harness.training.vww import load_backbone

    path = VWW_MODEL.parent / name
    if not path.is_file():
        pytest.skip(f"{name} not in ../shared/models")
    with pytest.raises(HarnessError, match=problem):
        load_backbone(path)

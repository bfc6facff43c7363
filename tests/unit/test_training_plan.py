"""The arena plan of docs/training_spec.md section 4 on both sides: harness/training/setup.py
arena_layout against the firmware's own plan_arena (training.c, built for the host by
tests/unit/c/training_plan.c), for several sparse-update schemes."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from harness.training.setup import TrainSetup, arena_layout, mask_bytes, pack, saved_input_bytes
from harness.training.toy import toy_depthwise_setup, toy_residual_setup, toy_setup
from harness.training.vww import VWW_MODEL

REPO = Path(__file__).resolve().parents[2]
SLOT_BYTES = 1 << 20  # stands in for the flash model slot: plans never read frozen weights
ARENA_BYTES = 256 * 1024  # room for a full update of the VWW tail (the plan does not depend on it)

pytestmark = pytest.mark.skipif(shutil.which("cc") is None, reason="needs a host C compiler")


@pytest.fixture(scope="module")
def device_plan(tmp_path_factory):
    """Runs the firmware's TRAIN_LOAD/TRAIN_BEGIN on the host for each setup; returns its lines."""
    build = tmp_path_factory.mktemp("training_plan")
    program = build / "training_plan"
    fw = REPO / "firmware" / "src"
    sources = [REPO / "tests/unit/c/training_plan.c", REPO / "tests/fuzz/fuzz_stubs.c", fw / "training/train_math.c"]
    sources += sorted((fw / "kernels").glob("*.c"))
    subprocess.run(
        ["cc", "-std=c11", "-O0", "-ffp-contract=off", "-Wall", "-Werror", "-Wno-unused-function"]
        + [f"-I{fw}", f"-I{REPO / 'firmware/include'}", f"-I{REPO / 'firmware/sdk/include'}"]
        + [f"-DHIL_TRAINING_ARENA_BYTES={ARENA_BYTES}", f"-DHIL_MODEL_SLOT_SIZE={SLOT_BYTES}"]
        + ["-o", str(program), *map(str, sources), "-lm"],
        check=True,
        capture_output=True,
    )

    def run(setups: list[TrainSetup]) -> list[str]:
        paths = []
        for n, setup in enumerate(setups):
            paths.append(build / f"setup{n}.bin")
            paths[-1].write_bytes(pack(setup))
        done = subprocess.run([str(program), *map(str, paths)], capture_output=True, text=True, timeout=60, check=True)
        return done.stdout.splitlines()

    return run


def host_line(setup: TrainSetup) -> str:
    per_layer = [f"{saved_input_bytes(setup, i)} {mask_bytes(setup, i)}" for i in range(len(setup.layers))]
    return " ".join([f"arena {arena_layout(setup, len(pack(setup)))['total']}", *per_layer])


def schemes() -> list[TrainSetup]:
    """Channel ratios from full to none, bias-only and frozen layers, a frozen first layer, no
    operator reordering, input from the backbone."""
    out = []
    for channels in (16, 8, 2, 0):
        setup = toy_depthwise_setup(seed=1, hw=6, channels=16)
        setup.layers[1].train_channels = channels  # the pointwise layer: input from the depthwise one
        out.append(setup)
    frozen_first = toy_depthwise_setup(seed=2)
    frozen_first.layers[0].train_bias, frozen_first.layers[0].train_channels = False, 0
    out.append(frozen_first)
    bias_only = toy_depthwise_setup(seed=3)
    bias_only.layers[1].train_channels = 0
    bias_only.layers[1].train_bias = False  # frozen between two trained layers: masks, no saved input
    out.append(bias_only)
    nothing = toy_setup(seed=4)
    for layer in nothing.layers:
        layer.train_bias, layer.train_channels = False, 0
    out.append(nothing)
    deferred = toy_depthwise_setup(seed=5)
    deferred.defer_updates = True
    out.append(deferred)
    from_backbone = toy_setup(seed=6, hw=5)
    from_backbone.input_from_backbone = True
    out.append(from_backbone)
    return out


def test_the_device_plans_the_arena_exactly_as_arena_layout(device_plan):
    setups = schemes()
    assert device_plan(setups) == [host_line(setup) for setup in setups]


def test_only_the_selected_input_channels_are_saved_and_the_plan_falls_with_them():
    totals, saved = [], []
    for setup in schemes()[:4]:  # the pointwise layer's R = 16, 8, 2, 0 on a 6x6 input
        layout = arena_layout(setup, len(pack(setup)))
        totals.append(layout["total"])
        saved.append(saved_input_bytes(setup, 1))
    assert saved == [36 * 16, 36 * 8, 36 * 2, 0]
    assert totals == sorted(totals, reverse=True) and len(set(totals)) == 4
    frozen_first, frozen_middle, nothing = schemes()[4:7]
    assert saved_input_bytes(frozen_first, 0) == mask_bytes(frozen_first, 0) == 0  # below t: nothing kept
    assert saved_input_bytes(frozen_middle, 1) == 0 < mask_bytes(frozen_middle, 1)  # reached: mask only
    assert [mask_bytes(nothing, i) for i in range(3)] == [0, 0, 1]  # only the last layer is reached


def test_forward_buffers_and_gradients_share_the_scratch_block():
    setup = toy_depthwise_setup(seed=1, hw=6, channels=16)
    layout = arena_layout(setup, len(pack(setup)))
    largest = max(layer.out_size for layer in setup.layers[:-1])
    assert layout["forward_buffers"] == 2 * largest
    assert (
        layout["scratch"]
        == max(layout["forward_buffers"], layout["gradients"])
        < (layout["forward_buffers"] + layout["gradients"])
    )


@pytest.mark.skipif(not VWW_MODEL.is_file(), reason="MLPerf Tiny VWW model not in ../shared/models")
def test_vww_schemes_with_weights_in_the_slot_plan_alike(device_plan):
    from harness.training.backbone import pack_backbone
    from harness.training.run import task_setup
    from harness.training.vww import load_backbone

    base = task_setup("vww", 0, backbone="device")
    assert len(pack_backbone(load_backbone()).image) <= SLOT_BYTES
    setups = []
    for ratio in (1.0, 0.25, 0.0):
        setup = base.copy()
        for layer in setup.layers:
            if layer.kind == "dense":
                layer.train_bias, layer.train_channels = True, int(layer.in_shape[2] * ratio)
        setups.append(setup)
    assert device_plan(setups) == [host_line(setup) for setup in setups]


def residual_schemes() -> list[TrainSetup]:
    """A ResNet block (conv 3x3 s2, conv 3x3, 1x1 s2 shortcut, ADD) behind a pointwise layer:
    everything training, the block only (t inside it), without reordering, from the backbone; then
    the block's three convolutions at R = all, half, a quarter and none of their input channels, a
    bias-only block and a frozen conv_b between trained layers."""
    every = toy_residual_setup(seed=1)
    block_only = toy_residual_setup(seed=2)
    block_only.layers[0].train_bias, block_only.layers[0].train_channels = False, 0
    block_only.layers[1].train_channels = 0  # conv_a bias only
    deferred = toy_residual_setup(seed=3)
    deferred.defer_updates = True
    from_backbone = toy_residual_setup(seed=4)
    from_backbone.input_from_backbone = True
    out = [every, block_only, deferred, from_backbone]
    for fraction in (1, 2, 4, 0):  # R = Cin, Cin/2, Cin/4, 0
        out.append(toy_residual_setup(seed=5))
        for layer in out[-1].layers[1:4]:
            layer.train_channels = layer.in_shape[2] // fraction if fraction else 0
    frozen_conv = toy_residual_setup(seed=6)
    frozen_conv.layers[2].train_bias, frozen_conv.layers[2].train_channels = False, 0
    out.append(frozen_conv)
    return out


def test_residual_chains_plan_alike_keeping_only_the_selected_channels(device_plan):
    setups = residual_schemes()
    assert device_plan(setups) == [host_line(setup) for setup in setups]
    every = setups[0]
    assert (
        [saved_input_bytes(every, i) for i in range(4)]
        == [
            0,  # the pointwise layer reads the chain's input in place
            *(layer.positions * layer.train_channels for layer in every.layers[1:4]),
        ]
    )
    assert mask_bytes(every, 4) > 0  # the ADD's clip mask
    totals = [arena_layout(setup, len(pack(setup)))["total"] for setup in setups[4:8]]  # R: all .. none
    assert totals == sorted(totals, reverse=True) and len(set(totals)) == 4
    frozen = setups[8]
    assert saved_input_bytes(frozen, 2) == 0 < mask_bytes(frozen, 2)  # reached: its mask, no input


def test_residual_activations_and_gradients_share_one_block_by_liveness():
    setup = toy_residual_setup(seed=1)
    layout = arena_layout(setup, len(pack(setup)))
    size = [(layer.out_size + 7) // 8 * 8 for layer in setup.layers]
    # a[1] (the block's input) is held through conv_a, conv_b and the shortcut (a[2..4]): at most
    # a[1], a[3] and a[4] at once (a[2] is free after conv_b)
    assert layout["forward_buffers"] == size[0] + size[2] + size[3]
    whole = sum((layer.out_size + 7) // 8 * 8 for layer in setup.layers)  # what keeping every one took
    assert layout["forward_buffers"] < whole
    assert layout["scratch"] == max(layout["forward_buffers"], layout["gradients"])

"""The planner's choice by measured contribution (Lin et al.'s method) on the host reference."""

from __future__ import annotations

import json

import pytest

from harness.training.contribution import Contributions, candidate_pieces, measure_contributions, with_piece
from harness.training.planner import PLAN_RATIOS, evaluate, plan_sparse_update
from harness.training.setup import TrainingSetupError
from harness.training.toy import toy_data, toy_depthwise_setup, toy_residual_setup, toy_setup

STATIC = 20000


def _contributions(setup, gains: dict[tuple[str, str, int], float]) -> Contributions:
    """Hand-set gains over a head-only accuracy of 0.5, keyed by (layer name, part, channels)."""
    pieces = candidate_pieces(setup, PLAN_RATIOS)
    accuracy = {piece: 0.5 + gains.get((piece.name, piece.part, piece.channels), 0.0) for piece in pieces}
    return Contributions(0.5, accuracy, steps=10, validation_samples=4)


def test_a_layer_with_more_parameters_but_a_smaller_measured_gain_loses():
    setup = toy_depthwise_setup()
    by_count = plan_sparse_update(setup, STATIC, 256 * 1024)
    rows = {row["name"]: row for row in by_count.scheme}
    assert rows["pointwise"]["channels"] == 16 and rows["pointwise"]["bias"]  # the most parameters
    gains = {("depthwise", "bias", 0): 0.2, ("pointwise", "weights", 16): 0.05, ("pointwise", "weights", 2): 0.1}
    measured = plan_sparse_update(setup, STATIC, 256 * 1024, contributions=_contributions(setup, gains))
    rows = {row["name"]: row for row in measured.scheme}
    assert rows["depthwise"]["bias"] == 1 and rows["pointwise"]["channels"] == 2 and not rows["pointwise"]["bias"]
    assert measured.trained_parameters < by_count.trained_parameters
    summary = measured.summary()
    assert summary["method"] == "measured" and summary["predicted_gain"] == pytest.approx(0.3)
    assert summary["layer_gains"] == pytest.approx({"depthwise": 0.2, "pointwise": 0.1, "head": 0.0})
    assert len(summary["contributions"]["pieces"]) == len(candidate_pieces(setup, PLAN_RATIOS))
    assert by_count.summary()["method"] == "parameters"


def test_the_measured_choice_is_the_best_sum_of_gains_that_fits_the_budget():
    setup = toy_setup()
    gains = {("pointwise", "bias", 0): 0.05, ("pointwise", "weights", 16): 0.3, ("pointwise", "weights", 8): 0.2}
    contributions = _contributions(setup, gains)
    roomy = plan_sparse_update(setup, STATIC, 256 * 1024, contributions=contributions)
    assert roomy.scheme[0]["channels"] == 16 and roomy.scheme[0]["bias"] == 1
    # A budget one byte short of the best plan: the best that still fits, by exhaustive check.
    budget = roomy.predicted_peak - 1
    tight = plan_sparse_update(setup, STATIC, budget, contributions=contributions)
    assert tight.predicted_peak <= budget
    fitting = []
    for bias in (False, True):
        for channels in (0, 2, 4, 8, 16):
            trial = setup.copy()
            trial.layers[0].train_bias, trial.layers[0].train_channels = bias, channels
            plan = evaluate(trial, STATIC, budget)
            if plan.fits:
                fitting.append(contributions.scheme_gain(plan.scheme))
    assert contributions.scheme_gain(tight.scheme) == pytest.approx(max(fitting))


def test_equal_gains_take_the_plan_needing_less_memory():
    setup = toy_setup()
    plan = plan_sparse_update(setup, STATIC, 256 * 1024, contributions=_contributions(setup, {}))
    assert plan.scheme[0]["channels"] == 0 and not plan.scheme[0]["bias"]  # nothing measured helps: head only
    assert plan.predicted_peak == evaluate(with_piece(setup, None), STATIC, 256 * 1024).predicted_peak


def test_the_analysis_is_deterministic_and_cached_by_content(tmp_path):
    setup = toy_setup(seed=2)
    x, y = toy_data(setup, 16, seed=3)
    first = measure_contributions(setup, x, y, PLAN_RATIOS, steps=12, cache=tmp_path)
    (entry,) = tmp_path.iterdir()
    again = measure_contributions(setup, x, y, PLAN_RATIOS, steps=12)  # no cache: measured anew
    assert again.accuracy == first.accuracy and again.baseline == first.baseline and not again.cached
    assert measure_contributions(setup, x, y, PLAN_RATIOS, steps=12, cache=tmp_path).cached
    assert first.validation_samples == 4 and len(first.accuracy) == 5  # bias + 4 channel ratios
    stored = json.loads(entry.read_text())
    stored["baseline_accuracy"] = 0.125  # the cache is what a second call returns
    entry.write_text(json.dumps(stored))
    assert measure_contributions(setup, x, y, PLAN_RATIOS, steps=12, cache=tmp_path).baseline == 0.125
    measure_contributions(toy_setup(seed=3), x, y, PLAN_RATIOS, steps=12, cache=tmp_path)  # another head
    measure_contributions(setup, x, y, PLAN_RATIOS, steps=13, cache=tmp_path)
    assert len(list(tmp_path.iterdir())) == 3
    entry.write_text("not json")  # an unreadable entry is measured again
    assert measure_contributions(setup, x, y, PLAN_RATIOS, steps=12, cache=tmp_path).baseline == first.baseline


def test_each_piece_trains_alone_with_the_head():
    setup = toy_depthwise_setup()
    pieces = candidate_pieces(setup, PLAN_RATIOS)
    assert [(p.name, p.part, p.channels) for p in pieces] == [
        ("depthwise", "bias", 0),
        ("pointwise", "bias", 0),
        *(("pointwise", "weights", c) for c in (2, 4, 8, 16)),
    ]
    trial = with_piece(setup, pieces[-1])
    assert [(layer.train_bias, layer.train_channels) for layer in trial.layers] == [
        (False, 0),
        (False, 16),
        (False, 0),
        (True, 12),
    ]


def test_an_analysis_with_nothing_to_validate_on_is_refused_naming_the_way_out():
    setup = toy_setup()
    x, y = toy_data(setup, 1)
    with pytest.raises(TrainingSetupError, match=r"at least 2 training samples .* got 1: .*--plan parameters"):
        measure_contributions(setup, x, y, PLAN_RATIOS, steps=4)


def test_a_residual_chain_offers_its_convolutions_as_pieces_as_the_search_does():
    setup = toy_residual_setup()  # pointwise (dense), conv_a, conv_b, shortcut (conv), add, pool, head
    pieces = candidate_pieces(setup, PLAN_RATIOS)
    for name in ("conv_a", "conv_b", "shortcut"):
        layer = next(layer for layer in setup.layers if layer.name == name)
        offered = {int(layer.in_shape[2] * ratio) for ratio in PLAN_RATIOS["conv"]} - {0}
        assert {piece.channels for piece in pieces if piece.name == name and piece.part == "weights"} == offered

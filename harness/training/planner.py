"""Chooses a sparse-update scheme under an SRAM budget and predicts the device's peak SRAM.

Schemes (as in Lin et al.): the new head trains fully; every other dense layer of the tail trains
its bias or not, and the first fraction r in {0, 1/8, 1/4, 1/2, 1} of its weights' input channels.
Memory is counted exactly as the firmware plans its arena (setup.arena_layout) plus the
firmware's static data (from the ELF, less the training arena) and a fixed stack reserve, so the
prediction equals the device's own budget check. The choice, as in the paper: given measured
contributions (harness/training/contribution.py: each piece's validation accuracy gain over the
head alone, on the host reference), the scheme that fits with the largest sum of them (the paper
assumes they add up), among equal sums the one needing less memory; without them (`--plan
parameters`), the scheme with the most trained parameters, among equals the one needing less.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection

from .. import contracts
from ..errors import HarnessError
from .setup import PARAMETRIC, TrainSetup, arena_layout, pack

if TYPE_CHECKING:
    from .contribution import Contributions

RATIOS = (0.0, 1 / 8, 1 / 4, 1 / 2, 1.0)
# Depthwise layers of the tail update their bias only (Lin et al. update depthwise weights in no
# scheme of their search results; their weights are few and cost a saved input each): the device
# and the reference can train them (tests do), the planner does not choose it.
DEPTHWISE_RATIOS = (0.0,)
PLAN_RATIOS = {"dense": RATIOS, "conv": RATIOS, "depthwise": DEPTHWISE_RATIOS}  # what the search offers per layer kind
STACK_RESERVE = contracts.load("constants").value("HIL_TRAINING_STACK_RESERVE")  # shared with the firmware


class PlanOverBudget(HarnessError):
    """The smallest possible plan needs more SRAM than allowed."""


@dataclass
class Plan:
    setup: TrainSetup
    scheme: list[dict]
    arena: dict[str, int]
    static_bytes: int
    stack_reserve: int
    budget: int
    arena_capacity: int | None
    paper_bytes: int  # the paper's count: masks, biases, saved inputs, trained weights
    contributions: Contributions | None = None  # what the choice was measured by (None: parameter count)

    @property
    def predicted_peak(self) -> int:
        return self.static_bytes + self.arena["total"] + self.stack_reserve

    @property
    def fits(self) -> bool:
        arena_ok = self.arena_capacity is None or self.arena["total"] <= self.arena_capacity
        return arena_ok and self.predicted_peak <= self.budget

    @property
    def trained_parameters(self) -> int:
        return sum(row["bias"] * row["out"] + row["channels"] * row["weights_per_channel"] for row in self.scheme)

    def summary(self) -> dict:
        return {
            **self._choice(),
            "scheme": self.scheme,
            "arena_bytes": self.arena["total"],
            "arena": self.arena,
            "static_bytes": self.static_bytes,
            "stack_reserve": self.stack_reserve,
            "predicted_peak": self.predicted_peak,
            "budget": self.budget,
            "paper_training_bytes": self.paper_bytes,
            "trained_parameters": self.trained_parameters,
        }

    def _choice(self) -> dict:
        """How the scheme was chosen; with measured contributions, each row's own and their sum."""
        if self.contributions is None:
            return {"method": "parameters"}
        return {
            "method": "measured",
            "predicted_gain": self.contributions.scheme_gain(self.scheme),
            "layer_gains": {row["name"]: self.contributions.scheme_gain([row]) for row in self.scheme},
            "contributions": self.contributions.summary(),
        }

    def refusal(self) -> str:
        return (
            f"plan needs {self.predicted_peak} bytes of SRAM (static {self.static_bytes} + arena "
            f"{self.arena['total']} + stack {self.stack_reserve}), budget allows {self.budget}"
            + (
                f"; arena capacity {self.arena_capacity}"
                if self.arena_capacity is not None and self.arena["total"] > self.arena_capacity
                else ""
            )
        )


def _elf_symbols(elf: Path, names: tuple[str, ...]) -> dict[str, int]:
    """The addresses of the linker symbols `names` in a Cortex-M firmware."""
    with Path(elf).open("rb") as stream:
        symbols = {}
        for section in ELFFile(stream).iter_sections():
            if isinstance(section, SymbolTableSection):
                for name in names:
                    found = section.get_symbol_by_name(name)
                    if found:
                        symbols[name] = found[0]["st_value"]
    if len(symbols) != len(names):
        raise HarnessError(f"{elf}: no {'/'.join(names)} symbols (not a Cortex-M firmware?)")
    return symbols


def firmware_static_bytes(elf: Path, arena_capacity: int) -> int:
    """What the firmware computes as static_bytes(): _ebss - _sdata less the training arena."""
    symbols = _elf_symbols(elf, ("_sdata", "_ebss"))
    return symbols["_ebss"] - symbols["_sdata"] - arena_capacity


def firmware_sram_region(elf: Path) -> int:
    """The SRAM the firmware is linked to: from the start of .data to the top of its stack
    (the board's SRAM, or less for a build linked to a budget)."""
    symbols = _elf_symbols(elf, ("_sdata", "_estack"))
    return symbols["_estack"] - symbols["_sdata"]


def paper_training_bytes(setup: TrainSetup) -> int:
    """Per updated layer: 1-bit clip mask per output, int32 biases, and if weights train, the
    saved int8 input channels and the trained int8 weights (Lin et al., sparse update memory)."""
    total = 0
    for layer in setup.layers:
        if not layer.trains:
            continue
        total += (layer.out_size + 7) // 8 + 4 * layer.out_channels
        if layer.train_channels:
            per_channel = layer.weights_per_channel
            total += layer.positions * layer.train_channels + per_channel * layer.train_channels
    return total


def evaluate(
    setup: TrainSetup,
    static_bytes: int,
    budget: int,
    arena_capacity: int | None = None,
    stack_reserve: int = STACK_RESERVE,
) -> Plan:
    """The plan for `setup` as configured (its train_bias/train_channels)."""
    setup = setup.copy()
    setup.budget_bytes = budget
    scheme = [
        {
            "layer": i,
            "name": layer.name or layer.kind,
            "bias": int(layer.train_bias),
            "channels": layer.train_channels,
            "in": layer.in_shape[2],
            "out": layer.out_channels,
            "weights_per_channel": layer.weights_per_channel,
        }
        for i, layer in enumerate(setup.layers)
        if layer.kind in PARAMETRIC
    ]
    return Plan(
        setup,
        scheme,
        arena_layout(setup, len(pack(setup))),
        static_bytes,
        stack_reserve,
        budget,
        arena_capacity,
        paper_training_bytes(setup),
    )


def plan_sparse_update(
    setup: TrainSetup,
    static_bytes: int,
    budget: int,
    arena_capacity: int | None = None,
    stack_reserve: int = STACK_RESERVE,
    contributions: Contributions | None = None,
) -> Plan:
    """The best scheme that fits (by `contributions` when given, else by trained parameters);
    PlanOverBudget naming predicted and allowed memory otherwise. The last dense layer (the new
    head) always trains fully."""
    dense = [i for i, layer in enumerate(setup.layers) if layer.kind in PARAMETRIC]
    head, others = dense[-1], dense[:-1]
    candidates = []
    options = [
        list(itertools.product((False, True), DEPTHWISE_RATIOS if setup.layers[i].kind == "depthwise" else RATIOS))
        for i in others
    ]
    for choice in itertools.product(*options):
        trial = setup.copy()
        trial.layers[head].train_bias = True
        trial.layers[head].train_channels = trial.layers[head].in_shape[2]
        for index, (bias, ratio) in zip(others, choice):
            trial.layers[index].train_bias = bias
            trial.layers[index].train_channels = int(trial.layers[index].in_shape[2] * ratio)
        candidates.append(evaluate(trial, static_bytes, budget, arena_capacity, stack_reserve))
    fitting = [plan for plan in candidates if plan.fits]
    if not fitting:
        smallest = min(candidates, key=lambda plan: plan.predicted_peak)
        raise PlanOverBudget(smallest.refusal())
    if contributions is None:
        return max(fitting, key=lambda plan: (plan.trained_parameters, -plan.predicted_peak))
    return choose_by_contribution(fitting, contributions)


def choose_by_contribution(fitting: list[Plan], contributions: Contributions) -> Plan:
    """The exhaustive search of the paper's knapsack: the largest sum of measured gains (rounded,
    so sums of the same gains in another order tie), then the least memory, then the first."""
    best = max(
        fitting,
        key=lambda plan: (round(contributions.scheme_gain(plan.scheme), 9), -plan.predicted_peak),
    )
    best.contributions = contributions
    return best

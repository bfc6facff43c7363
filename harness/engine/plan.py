"""The host's memory plan: every activation tensor gets an offset in one arena.

A tensor lives from its first writer to its last reader (operator order); an operator's inputs
and outputs are alive together, so a kernel never reads what it writes. No plan can be smaller
than the largest set of tensors alive at one operator (`lower_bound`, with each tensor rounded
up to the alignment, since every tensor starts on it).

The planner places tensors first-fit (each at the lowest aligned offset clear of every placed
tensor whose lifetime intersects its own), largest first like TFLM's GreedyMemoryPlanner. When
that misses the bound (a chain whose largest tensor should rest on a smaller one, as in VWW), a
small search over the order of first-fit placement looks for a plan at the bound. Deterministic:
same lifetimes, same offsets.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .format import ALIGN

# Offsets the backtracking search may try before it gives up (a few ms for the shared models),
# and the most tensors it searches over (its recursion is one level per tensor).
SEARCH_BUDGET = 2_000
SEARCH_MAX_TENSORS = 500


@dataclass(frozen=True)
class Lifetime:
    tensor: int
    size: int
    first: int  # index of the first operator that needs the tensor
    last: int  # index of the last one

    def overlaps(self, other: Lifetime) -> bool:
        return self.first <= other.last and other.first <= self.last


def _aligned(value: int) -> int:
    return (value + ALIGN - 1) // ALIGN * ALIGN


def lifetimes(
    sizes: dict[int, int],
    op_tensors: list[tuple[list[int], list[int]]],
    model_inputs: list[int],
    model_outputs: list[int],
) -> list[Lifetime]:
    """Lifetimes of the tensors in `sizes` (tensor -> bytes); model inputs live from the start,
    outputs to the end."""
    end = max(len(op_tensors) - 1, 0)
    first = {t: 0 for t in model_inputs}
    last = {t: end for t in model_outputs}
    for index, (inputs, outputs) in enumerate(op_tensors):
        for t in (*inputs, *outputs):
            if t in sizes:
                first.setdefault(t, index)
                last[t] = max(last.get(t, index), index)
    return [Lifetime(t, sizes[t], first.get(t, 0), last.get(t, end)) for t in sizes]


def live_bytes(lives: list[Lifetime]) -> list[int]:
    """Per operator step: the aligned bytes of every tensor alive at it."""
    steps = max((life.last for life in lives), default=-1) + 1
    total = [0] * steps
    for life in lives:
        for step in range(life.first, life.last + 1):
            total[step] += _aligned(life.size)
    return total


def lower_bound(lives: list[Lifetime]) -> int:
    """The smallest arena any plan of `lives` can have."""
    return max(live_bytes(lives), default=0)


def plan(lives: list[Lifetime]) -> tuple[dict[int, int], int]:
    """Offsets (tensor -> byte offset) and the arena size they need."""
    offsets = _first_fit(_largest_first(lives))
    size = _arena_size(lives, offsets)
    bound = lower_bound(lives)
    if size > bound and len(lives) <= SEARCH_MAX_TENSORS:
        found = _Search(lives, bound).run()
        if found is not None:
            return found, bound
    return offsets, size


def _arena_size(lives: Iterable[Lifetime], offsets: dict[int, int]) -> int:
    return _aligned(max((offsets[life.tensor] + life.size for life in lives), default=0))


def _largest_first(lives: Iterable[Lifetime]) -> list[Lifetime]:
    return sorted(lives, key=lambda x: (-x.size, x.first, x.tensor))


def _first_fit_offset(life: Lifetime, placed: list[tuple[int, Lifetime]]) -> int:
    """The lowest aligned offset where `life` overlaps no placed tensor alive together with it."""
    offset = 0
    for start, stop in sorted((o, o + other.size) for o, other in placed if other.overlaps(life)):
        if offset + life.size <= start:
            break
        offset = max(offset, _aligned(stop))
    return offset


def _first_fit(order: list[Lifetime]) -> dict[int, int]:
    placed: list[tuple[int, Lifetime]] = []
    for life in order:
        placed.append((_first_fit_offset(life, placed), life))
    return {life.tensor: offset for offset, life in placed}


class _Search:
    """A plan within `limit` bytes, by depth-first search: tensors largest first, each tried at
    the bottom and at the top of every free gap between the tensors placed so far that it
    overlaps in time (the top of the arena too, so a chain can alternate between both ends).
    Gives up after SEARCH_BUDGET tried offsets."""

    def __init__(self, lives: list[Lifetime], limit: int):
        self.order = _largest_first(lives)
        self.limit = limit
        self.budget = SEARCH_BUDGET
        self.placed: list[tuple[int, Lifetime]] = []

    def run(self) -> dict[int, int] | None:
        if not self._place(0):
            return None
        return {life.tensor: offset for offset, life in self.placed}

    def _place(self, index: int) -> bool:
        if index == len(self.order):
            return True
        life = self.order[index]
        for offset in self._offsets(life):
            self.budget -= 1
            if self.budget < 0:
                return False
            self.placed.append((offset, life))
            if self._place(index + 1):
                return True
            self.placed.pop()
        return False

    def _offsets(self, life: Lifetime) -> list[int]:
        """The lowest and the highest aligned offset in each gap `life` fits in."""
        busy = sorted((o, o + other.size) for o, other in self.placed if other.overlaps(life))
        offsets: list[int] = []
        bottom = 0
        for start, stop in [*busy, (self.limit, self.limit)]:
            top = (start - life.size) // ALIGN * ALIGN
            if top >= bottom:
                offsets += [bottom] if top == bottom else [bottom, top]
            bottom = max(bottom, _aligned(stop))
        return offsets

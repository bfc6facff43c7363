"""The host's memory plan: every activation tensor gets an offset in one arena.

Greedy by size, like TFLM's GreedyMemoryPlanner: tensors sorted largest first, each placed at the
lowest aligned offset where it overlaps no already placed tensor whose lifetime (first writer to
last reader, in operator order) intersects its own. An operator's inputs and outputs are alive
together, so a kernel never reads what it writes.
"""
from __future__ import annotations

from dataclasses import dataclass

from .format import ALIGN


@dataclass(frozen=True)
class Lifetime:
    tensor: int
    size: int
    first: int  # index of the first operator that needs the tensor
    last: int  # index of the last one


def _aligned(value: int) -> int:
    return (value + ALIGN - 1) // ALIGN * ALIGN


def lifetimes(sizes: dict[int, int], op_tensors: list[tuple[list[int], list[int]]],
              model_inputs: list[int], model_outputs: list[int]) -> list[Lifetime]:
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


def plan(lives: list[Lifetime]) -> tuple[dict[int, int], int]:
    """Offsets (tensor -> byte offset) and the arena size they need."""
    placed: list[tuple[int, int, Lifetime]] = []  # (offset, end, lifetime)
    offsets: dict[int, int] = {}
    for life in sorted(lives, key=lambda x: (-x.size, x.first, x.tensor)):
        busy = sorted((start, stop) for start, stop, other in placed
                      if other.first <= life.last and life.first <= other.last)
        offset = 0
        for start, stop in busy:
            if offset + life.size <= start:
                break
            offset = max(offset, _aligned(stop))
        offsets[life.tensor] = offset
        placed.append((offset, offset + life.size, life))
    size = _aligned(max((stop for _, stop, _ in placed), default=0))
    return offsets, size

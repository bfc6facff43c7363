"""The tflite-micro reference for many small models at once (randomized single-op tests).

`harness.reference.Reference` starts one worker process per model (~1 s each); thousands of
single-op cases instead run in one worker process, here a one-process pool, so a crash of the
C++ interpreter still cannot take the caller down.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import numpy as np

from harness.errors import HarnessError

ARENA_BYTES = 8 << 20  # generous: single-op models are small


Case = tuple[bytes, list[np.ndarray], int]  # .tflite bytes, inputs, number of outputs


def _run_cases(cases: list[Case]) -> list[list[np.ndarray]]:
    from tflite_micro.python.tflite_micro import runtime

    results = []
    for model, inputs, outputs in cases:
        interpreter = runtime.Interpreter.from_bytes(model, arena_size=ARENA_BYTES)
        for i, x in enumerate(inputs):
            interpreter.set_input(np.ascontiguousarray(x), i)
        interpreter.invoke()
        results.append([np.array(interpreter.get_output(i)) for i in range(outputs)])
    return results


class BatchReference:
    """with BatchReference() as ref: outputs = ref.run_many([(tflite_bytes, [x], 1), ...])"""

    def __init__(self) -> None:
        self._pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))

    def run_many(self, cases: Sequence[Case], chunk: int = 200) -> list[list[np.ndarray]]:
        results: list[list[np.ndarray]] = []
        for start in range(0, len(cases), chunk):
            try:
                results += self._pool.submit(_run_cases, list(cases[start : start + chunk])).result()
            except BrokenProcessPool:
                raise HarnessError(f"the reference interpreter crashed in cases {start}..{start + chunk - 1}") from None
        return results

    def close(self) -> None:
        self._pool.shutdown()

    def __enter__(self) -> BatchReference:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

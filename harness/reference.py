"""The reference: the TFLM interpreter (pip `tflite-micro`) run on the host, in a worker process.

The interpreter is C++ and segfaults on some bad inputs (an arena that is too small, for one),
so it never runs inside the caller's process. `Reference` starts `python -m harness.reference`
as a worker, talks to it over its stdin/stdout with length-prefixed pickles, and reuses it for
every invocation of the same model. A dead worker becomes a HarnessError naming the model.
"""

from __future__ import annotations

import os
import pickle
import re
import signal
import struct
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import IO, Any

import numpy as np

from .errors import HarnessError
from .model.tflite import Model, load_model

# Arena for the reference run: the host has memory to spare, and preserve-all mode keeps
# every tensor alive, so start large and grow on "failed to allocate".
DEFAULT_ARENA = 64 << 20
MAX_ARENA = 1 << 30
_HEADER = struct.Struct("<I")
_ARENA_TOTAL = re.compile(r"Arena allocation total (\d+) bytes")
_ARENA_SHORT = re.compile(r"missing: \d+|Failed to allocate|Failed to resize buffer|Too many buffers")


class Reference:
    """One model loaded in a TFLM worker process.

    with Reference(model_bytes) as ref:
        outputs = ref.run([x])
    """

    def __init__(
        self,
        model_bytes: bytes | Model | str | Path,
        preserve_all: bool = False,
        name: str | None = None,
        arena_size: int | None = None,
    ):
        """`arena_size` fixes the tensor arena (default: as large as needed, growing from
        DEFAULT_ARENA); too small an arena can crash TFLM, which is reported as HarnessError."""
        self.model = model_bytes if isinstance(model_bytes, Model) else load_model(model_bytes)
        self.name = name or _default_name(model_bytes, self.model)
        self.preserve_all = preserve_all
        self._arena_bytes: int | None = None
        self._worker: _Worker | None = _Worker(self.name)
        try:
            self._call("load", self.model.raw, preserve_all, arena_size)
        except BaseException:
            self.close()
            raise

    def run(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        """Invoke once; returns the model's outputs in order."""
        return self._call("run", self._checked_inputs(inputs))

    def run_all(self, inputs: list[np.ndarray]) -> dict[int, np.ndarray]:
        """Invoke once; returns every tensor's value (index -> array). Needs preserve_all."""
        if not self.preserve_all:
            raise HarnessError(f"{self.name}: run_all needs Reference(..., preserve_all=True)")
        return self._call("run_all", self._checked_inputs(inputs))

    def arena_bytes(self) -> int:
        """The smallest tensor arena this model loads in, as the host's TFLM build allocates it.

        TFLM exposes no "used" figure through Python, and the recording allocator's printed
        total leaves out memory planning's temporary needs, so this searches upwards from that
        total in throwaway workers (some arenas that are too small crash TFLM). A 64-bit host
        stores bigger bookkeeping structs than a 32-bit MCU: an upper bound for the device.
        """
        if self._arena_bytes is None:
            recorded = self._call("recorded_arena")
            self._arena_bytes = _smallest_arena(self.model.raw, self.name, recorded)
        return self._arena_bytes

    def close(self) -> None:
        worker = getattr(self, "_worker", None)  # absent if __init__ failed early
        if worker is not None:
            worker.close()
            self._worker = None

    def __enter__(self) -> Reference:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        self.close()

    def _call(self, *request: Any) -> Any:
        if self._worker is None:
            raise HarnessError(f"{self.name}: reference interpreter is closed")
        return self._worker.call(request)

    def _checked_inputs(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        if len(inputs) != len(self.model.inputs):
            raise HarnessError(f"{self.name}: model takes {len(self.model.inputs)} input(s), got {len(inputs)}")
        return [
            _checked_input(self.name, i, np.asarray(x), self.model.tensors[t])
            for i, (x, t) in enumerate(zip(inputs, self.model.inputs))
        ]


def _smallest_arena(model: bytes, name: str, recorded: int) -> int:
    """Search upwards from TFLM's recorded figure, which leaves out the temporary memory that
    planning needs, in steps of TFLM's 16-byte alignment."""
    probe = _Prober(model, name)
    try:
        low, high = recorded - 16, recorded
        while not probe.fits(high):
            low, high = high, high * 2
        while high - low > 16:
            middle = (low + high) // 32 * 16
            low, high = (low, middle) if probe.fits(middle) else (middle, high)
        return high
    finally:
        probe.close()


class _Prober:
    """Tries arena sizes in throwaway workers: TFLM segfaults on some that are too small."""

    def __init__(self, model: bytes, name: str):
        self.model, self.name = model, name
        self._worker: _Worker | None = None

    def fits(self, arena: int) -> bool:
        if self._worker is None:
            self._worker = _Worker(self.name)
        try:
            return self._worker.call(("fits", self.model, arena))
        except HarnessError:  # the worker crashed: that arena does not work either
            self.close()
            return False

    def close(self) -> None:
        if self._worker is not None:
            self._worker.close()
            self._worker = None


def _default_name(source: Any, model: Model) -> str:
    if isinstance(source, (str, Path)):
        return Path(source).name
    return f"model {model.sha256[:12]}"


def _checked_input(name: str, position: int, x: np.ndarray, tensor: Any) -> np.ndarray:
    if x.dtype != tensor.dtype:
        raise HarnessError(f"{name}: input {position} ({tensor.name}) must be {tensor.dtype}, got {x.dtype}")
    if x.size != int(np.prod(tensor.shape, dtype=np.int64)):
        raise HarnessError(
            f"{name}: input {position} ({tensor.name}) has shape {list(tensor.shape)}, got {list(x.shape)}"
        )
    return np.ascontiguousarray(x.reshape(tensor.shape))


class _Worker:
    """The parent's end of one worker process."""

    def __init__(self, name: str):
        self.name = name
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 (lives as long as the worker; closed in close())
        root = str(Path(__file__).resolve().parent.parent)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)}
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "harness.reference"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=env,
        )
        assert self._proc.stdin is not None and self._proc.stdout is not None  # both PIPE
        self._requests: IO[bytes] = self._proc.stdin
        self._replies: IO[bytes] = self._proc.stdout

    def call(self, request: tuple) -> Any:
        start = self._stderr.seek(0, os.SEEK_END)
        try:
            _send(self._requests, request)
            status, payload = _receive(self._replies)
        except (EOFError, BrokenPipeError, OSError):
            raise HarnessError(self._death_message(request[0], start)) from None
        if status == "error":
            said = self._stderr_since(start)
            raise HarnessError(f"{self.name}: reference interpreter: {payload}" + (f" (TFLM: {said})" if said else ""))
        return payload

    def _death_message(self, what: str, start: int) -> str:
        code = self._proc.wait(timeout=10)
        how = f"killed by {signal.Signals(-code).name}" if code < 0 else f"exited with status {code}"
        said = self._stderr_since(start)
        return f"{self.name}: reference interpreter crashed ({how}) during {what!r}" + (
            f"; TFLM said: {said}" if said else ""
        )

    def _stderr_since(self, start: int, limit: int = 600) -> str:
        """What the worker printed to stderr since `start`, on one line."""
        self._stderr.seek(start)
        lines = self._stderr.read().decode("utf-8", "replace").splitlines()
        text = " | ".join(line.strip() for line in lines if line.strip())
        return text if len(text) <= limit else "..." + text[-limit:]

    def close(self) -> None:
        if self._proc.poll() is None:
            try:
                self._requests.close()
                self._proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self._proc.kill()
                self._proc.wait()
        self._replies.close()
        self._stderr.close()


def _send(stream: IO[bytes], message: Any) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def _receive(stream: IO[bytes]) -> Any:
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        raise EOFError
    size = _HEADER.unpack(header)[0]
    data = stream.read(size)
    if len(data) < size:
        raise EOFError
    return pickle.loads(data)


# ---- the worker process -------------------------------------------------------------------


class _Server:
    """Holds one interpreter and answers requests."""

    def __init__(self) -> None:
        self.model = b""
        self.preserve_all = False
        self.arena_size = DEFAULT_ARENA
        self.interpreter: Any = None

    def load(self, model: bytes, preserve_all: bool, arena_size: int | None) -> None:
        self.model, self.preserve_all = model, preserve_all
        if arena_size is None:
            self.interpreter, self.arena_size = self._grow(preserve_all)
        else:
            self.interpreter = self._interpreter(arena_size, preserve_all)
            self.arena_size = arena_size

    def run(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        self._invoke(inputs)
        return [np.array(self.interpreter.get_output(i)) for i in range(self._output_count())]

    def run_all(self, inputs: list[np.ndarray]) -> dict[int, np.ndarray]:
        self._invoke(inputs)
        from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

        count = schema.Model.GetRootAs(self.model, 0).Subgraphs(0).TensorsLength()
        return {i: np.array(self.interpreter.GetTensor(i, 0)["tensor_data"]) for i in range(count)}

    def recorded_arena(self) -> int:
        """The arena total TFLM's recording allocator reports (a lower bound)."""
        recorder = self._interpreter(self.arena_size, preserve_all=False)
        figure = _ARENA_TOTAL.search(_captured_stderr(recorder.print_allocations))
        if figure is None:
            raise RuntimeError("TFLM's recording allocator printed no arena total")
        return int(figure.group(1))

    def fits(self, model: bytes, arena: int) -> bool:
        """Whether `model` loads in an arena of `arena` bytes."""
        self.model = model
        try:
            self._interpreter(arena, preserve_all=False)
            return True
        except RuntimeError:
            return False

    def _invoke(self, inputs: list[np.ndarray]) -> None:
        for i, x in enumerate(inputs):
            self.interpreter.set_input(x, i)
        self.interpreter.invoke()

    def _output_count(self) -> int:
        from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

        return schema.Model.GetRootAs(self.model, 0).Subgraphs(0).OutputsLength()

    def _grow(self, preserve_all: bool) -> tuple[Any, int]:
        arena = DEFAULT_ARENA
        while True:
            try:
                return self._interpreter(arena, preserve_all), arena
            except _ArenaTooSmall:
                if arena >= MAX_ARENA:
                    raise
                arena *= 4

    def _interpreter(self, arena: int, preserve_all: bool) -> Any:
        """A new interpreter; raises _ArenaTooSmall when that is why TFLM refused."""
        from tflite_micro.python.tflite_micro import runtime

        config = (
            runtime.InterpreterConfig.kPreserveAllTensors
            if preserve_all
            else runtime.InterpreterConfig.kAllocationRecording
        )
        # Said before TFLM speaks into the capture, so a crash report can name the arena.
        sys.stderr.write(f"loading the model with a tensor arena of {arena} bytes\n")
        sys.stderr.flush()
        made: list[Any] = []
        log = _captured_stderr(
            lambda: made.append(runtime.Interpreter.from_bytes(self.model, arena_size=arena, intrepreter_config=config))
        )
        if made:
            return made[0]
        if _ARENA_SHORT.search(log):
            raise _ArenaTooSmall(f"an arena of {arena} bytes is too small")
        sys.stderr.write(log)  # the parent reports what TFLM said
        sys.stderr.flush()
        raise RuntimeError("TFLM refused the model")


class _ArenaTooSmall(RuntimeError):
    pass


def _captured_stderr(action: Any) -> str:
    """What C++ code prints to fd 2 while `action` runs."""
    with tempfile.TemporaryFile() as capture:
        saved = os.dup(2)
        os.dup2(capture.fileno(), 2)
        try:
            action()
        except RuntimeError:
            pass  # the caller sees that nothing was made and reads why in the log
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        capture.seek(0)
        return capture.read().decode("utf-8", "replace")


def _serve() -> None:
    # The protocol owns the real stdout; anything native code prints goes to stderr.
    channel = os.fdopen(os.dup(1), "wb")
    requests = sys.stdin.buffer
    os.dup2(2, 1)
    server = _Server()
    while True:
        try:
            request = _receive(requests)
        except EOFError:
            return
        try:
            reply = ("ok", _dispatch(server, request))
        except Exception as exc:
            reply = ("error", _error_text(exc))
        _send(channel, reply)


_REQUESTS = ("load", "run", "run_all", "recorded_arena", "fits")


def _dispatch(server: _Server, request: tuple) -> Any:
    what, *args = request
    if what not in _REQUESTS:
        raise ValueError(f"unknown request {what!r}")
    return getattr(server, what)(*args)


def _error_text(exc: Exception) -> str:
    return str(exc) or type(exc).__name__


if __name__ == "__main__":
    _serve()

"""An MLPerf Tiny firmware next to its model's tflite-micro reference: what
`hil run --protocol mlperf-tiny` runs (docs/mlperf_tiny.md).

    with MlperfSession.open("kws.tflite", port="/dev/ttyACM0") as session:
        result = session.run(count=5, seed=1)       # outputs checked against tflite-micro
        timing = session.time(iterations=10)        # m-lap-us around `infer 10 1`

The firmware is driven only through the benchmark API's commands, as the official runner drives
it: nothing in it is changed. `run` has the signature InferenceSession.run has for data sets, so
harness.engine.accuracy.run_dataset scores an MLPerf Tiny firmware as it scores ours.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import build as firmware_build
from ..boards import load_board
from ..engine.compare import judge
from ..engine.pack import load_comparable, pack_file
from ..engine.seeded_inputs import case_seed, seeded_value
from ..engine.session import InferenceResult
from ..errors import CheckFailed, HarnessError
from ..model.tflite import Model
from ..progress import Progress
from ..reference import Reference
from ..targets.base import Target, TargetOptions
from ..targets.registry import capabilities, target_class
from ..targets.transport import SerialTransport
from .firmware import build_responder
from .printed import decode
from .protocol import (
    MlperfLink,
    check_load_done,
    check_load_started,
    parse_infer,
    parse_name,
    parse_profile,
)

CHUNK_BYTES = 31  # bytes per `db HH..%` command, as the official runner sends (65 characters)
PIXEL_MODELS = {"vww01", "ic01"}  # their runners send pixels p = q + 128; kws01 and ad01 the int8 bytes
MLPERF_BAUD = 115200  # the runner's default
BOOT_TIMEOUT_S = 20.0
TIMER_KIND = "microseconds (m-lap-us)"


@dataclass(frozen=True)
class Handshake:
    name: str  # m-name-dut-[NAME]
    profile: str  # m-profile-[...]
    model: str  # m-model-[kws01|vww01|ad01|ic01|...]

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "profile": self.profile, "model": self.model}


@dataclass(frozen=True)
class Timing:
    iterations: int
    warmups: int
    elapsed_us: int
    per_inference_us: float

    def as_dict(self) -> dict[str, float]:
        return vars(self)


@dataclass(frozen=True)
class _ModelView:
    model: Model  # what run_dataset reads from session.packed


def checked_model(path: str | Path) -> Model:
    """The model the API can feed: one int8 input, its first output int8 (the printed vector)."""
    model = load_comparable(path)
    if len(model.inputs) != 1:
        raise HarnessError(f"{path}: the MLPerf Tiny API loads one input tensor; the model has {len(model.inputs)}")
    for role, index in (("input", model.inputs[0]), ("output", model.outputs[0])):
        tensor = model.tensors[index]
        if tensor.dtype != np.int8 or tensor.quant is None:
            raise HarnessError(
                f"{path}: {role} {tensor.name} is {np.dtype(tensor.dtype).name}; the MLPerf "
                f"Tiny driver checks int8 models (quantized input and output)"
            )
    return model


def _boot_in_emulator(
    model_path: str | Path, board: str | None, emulator: str, firmware: str | Path | None, progress: Progress
) -> tuple[Target, SerialTransport]:
    """The user's ELF as it is (the slot left erased), or our responder with the model in its slot."""
    if board is None:
        raise HarnessError(f"--emulator {emulator} needs --board (the machine it emulates)")
    board_spec = load_board(board)
    if firmware is not None:
        options = TargetOptions(firmware=firmware_build.prebuilt(firmware, board_spec, emulator))
    else:
        if not capabilities(board_spec, emulator).preloads_model_slot:
            raise HarnessError(
                f"--emulator {emulator} cannot load the model slot at boot: give an MLPerf Tiny --firmware"
            )
        image = pack_file(model_path, board_spec, emulator).image
        options = TargetOptions(firmware=build_responder(board_spec, emulator, progress), slot_image=image)
    target = target_class(emulator).create(board_spec, board_spec.variant(emulator), options, progress)
    what = Path(firmware).name if firmware else "the MLPerf Tiny responder"
    try:
        with progress.step(f"booting {what} in QEMU ({board})"):
            return target, target.start()
    except BaseException:
        target.stop()
        raise


def _open_port(port: str | None, baud: int | None, firmware: str | Path | None) -> SerialTransport:
    if port is None:
        raise HarnessError("--protocol mlperf-tiny on a real board needs --port (the firmware's UART)")
    if firmware is not None:
        raise HarnessError("--firmware boots an ELF in QEMU (--emulator qemu); flash a real board yourself")
    return SerialTransport(port, baud or MLPERF_BAUD)


class MlperfSession:
    def __init__(
        self,
        link: MlperfLink,
        model: Model,
        name: str,
        target: Target | None,
        transport: SerialTransport,
        progress: Progress | None = None,
    ):
        self.link, self.model, self._name = link, model, name
        self.progress = progress or Progress.quiet()  # a bar over run()'s inputs (each `db` load is slow)
        self._reference: Reference | None = None  # started at the first output compared
        self.packed = _ModelView(model)
        self.target, self._transport = target, transport  # target: QEMU, or None for a port
        self.handshake = self._handshake()
        self.compared = self.resolved = 0  # elements compared, and those compared exactly (printed.py)
        self._last_values: list[str] | None = None  # the last input's m-results, as printed
        self._raw_int8 = True

    @classmethod
    def open(
        cls,
        model_path: str | Path,
        port: str | None = None,
        baud: int | None = None,
        board: str | None = None,
        emulator: str = "none",
        firmware: str | Path | None = None,
        timeout: float = 5.0,
        progress: Progress | None = None,
    ) -> MlperfSession:
        """A firmware on `port` (a real board, as flashed), or booted in QEMU for `board`: the
        user's `firmware` ELF as it is, or, without one, our firmware in its MLPerf Tiny mode
        with `model_path` packed into the flash model slot."""
        model = checked_model(model_path)
        if port is None and board is None:
            raise HarnessError(
                f"--emulator {emulator} needs --board (the machine it emulates); a real board needs --port (its UART)"
            )
        progress = progress or Progress.quiet()
        emulated = port is None and board is not None and capabilities(load_board(board), emulator).emulated
        if emulated:
            target, transport = _boot_in_emulator(model_path, board, emulator, firmware, progress)
        else:
            target, transport = None, _open_port(port, baud, firmware)
        link = MlperfLink(transport, timeout, on_closed=target.exit_reason if target else lambda: "")
        try:
            if target is not None:
                link.wait_ready(BOOT_TIMEOUT_S)
            else:
                link.reader.discard_pending()  # a board that ran before may have printed anything
            return cls(link, model, str(model_path), target, transport, progress)
        except BaseException:
            transport.close()
            if target is not None:
                target.stop()
            raise

    @property
    def reference(self) -> Reference:
        if self._reference is None:
            self._reference = Reference(self.model, name=self._name)
        return self._reference

    def _handshake(self) -> Handshake:
        name = parse_name(self.link.command("name"))
        profile, model = parse_profile(self.link.command("profile"))
        return Handshake(name, profile, model)

    # -- one input -------------------------------------------------------------------------------

    def load(self, value: np.ndarray) -> None:
        """`db load N`, then the bytes in `db HH..` chunks, as the runner sends them."""
        data = np.asarray(value, np.int8).reshape(-1)
        raw = (
            (data.astype(np.int16) + 128).astype(np.uint8)
            if self.handshake.model in PIXEL_MODELS
            else data.view(np.uint8)
        ).tobytes()
        check_load_started(self.link.command(f"db load {len(raw)}"), len(raw))
        chunks = [raw[i : i + CHUNK_BYTES] for i in range(0, len(raw), CHUNK_BYTES)]
        for position, chunk in enumerate(chunks):
            check_load_done(self.link.command("db " + chunk.hex()), position == len(chunks) - 1)

    def infer(self, iterations: int = 1, warmups: int = 0):
        wait = max(self.link.timeout, 60.0) * max(1.0, (iterations + warmups) / 10)
        return parse_infer(self.link.command(f"infer {iterations} {warmups}", timeout=wait), iterations)

    def _check_count(self, tokens: list[str]) -> None:
        tensor = self.model.tensors[self.model.outputs[0]]
        elements = int(np.prod(tensor.shape))
        if len(tokens) != elements:
            raise HarnessError(
                f"the firmware printed {len(tokens)} m-results values; the model's output "
                f"{tensor.name} has {elements} elements"
            )

    def _device_output(self, tokens: list[str], reference: np.ndarray) -> np.ndarray:
        tensor = self.model.tensors[self.model.outputs[0]]
        scale, zero_point = tensor.scalar_quant()  # a float output: one line naming the tensor
        decoded = decode(tokens, reference, scale, zero_point)
        self.compared += reference.size
        self.resolved += decoded.resolved
        self._raw_int8 = self._raw_int8 and decoded.raw_int8
        return decoded.values

    # -- many inputs -------------------------------------------------------------------------------

    def _seeded(self, case: int, seed: int) -> np.ndarray:
        tensor = self.model.tensors[self.model.inputs[0]]
        # the inputs `hil run --seed` gives the harness's own engine (harness/engine/seeded_inputs.py)
        return seeded_value(np.dtype(np.int8), tuple(tensor.shape), case_seed(seed, case, 0))

    def run(
        self, inputs: Sequence[Sequence[np.ndarray]] | None = None, count: int = 1, seed: int = 0
    ) -> InferenceResult:
        """Each input set (one tensor) loaded, `infer 1 0`, its m-results checked against
        tflite-micro at the printed precision (printed.py); the same verdict as `hil run`."""
        cases = [list(given) for given in inputs] if inputs is not None else [None] * count
        out = self.model.outputs[0]
        device, reference, elapsed, used = [], [], [], []
        with self.progress.bar(len(cases), "inferences", "inference") as bar:
            for case, given in enumerate(cases):
                value = np.asarray(given[0], np.int8) if given is not None else self._seeded(case, seed)
                self.load(value)
                reply = self.infer(1, 0)
                self._check_count(reply.values)
                want = self.reference.run([value.reshape(self.model.tensors[self.model.inputs[0]].shape)])[0]
                device.append([self._device_output(reply.values, want)])
                self._last_values = reply.values
                reference.append([want])
                elapsed.append(reply.elapsed_us)
                used.append([value])
                bar.update()
        names = {t.index: t.name for t in self.model.tensors}
        verdict = judge([out], [], names, [{out: d[0]} for d in device], [{out: r[0]} for r in reference])
        return InferenceResult(device, reference, verdict, elapsed, TIMER_KIND, used)

    def time(self, iterations: int = 10, warmups: int = 1) -> Timing:
        """`infer N W` on the loaded input: the latency between the two m-lap-us timestamps. Its
        m-results must be those the same input printed before (CheckFailed otherwise: a firmware
        whose warmups change its answer differs from itself, so from tflite-micro)."""
        reply = self.infer(iterations, warmups)
        if self._last_values is not None and reply.values != self._last_values:
            differing = sum(a != b for a, b in zip(reply.values, self._last_values)) or len(reply.values)
            raise CheckFailed(
                f"'infer {iterations} {warmups}%' printed other m-results than 'infer 1 0%' "
                f"on the same input ({differing} values differ)"
            )
        return Timing(iterations, warmups, reply.elapsed_us, reply.per_inference_us)

    def precision(self) -> dict[str, object]:
        """How exact the comparison was (docs/mlperf_tiny.md): every element, or at print precision."""
        return {
            "printed": "int8" if self._raw_int8 else "dequantized",
            "compared": self.compared,
            "int8_exact": self.resolved,
            "at_print_precision": self.compared - self.resolved,
        }

    def close(self) -> None:
        if self._reference is not None:
            self._reference.close()
        self._transport.close()
        if self.target is not None:
            self.target.stop()

    def __enter__(self) -> MlperfSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def latency_line(timing: Timing) -> str:
    return (
        f"latency: {timing.per_inference_us:.1f} us per inference (m-lap-us: {timing.elapsed_us} us "
        f"for {timing.iterations} inferences after {timing.warmups} warmup)"
    )

"""The MLPerf Tiny driver against replies a real firmware could send, and malformed ones.

The parser (harness/mlperf/protocol.py) and the printed-precision decode (printed.py) are tested
on canned text; `hil run --protocol mlperf-tiny --port socket://...` runs in-process against a
scripted device on a loopback TCP socket (a pyserial URL, as a ser2net-exported board would be),
so each malformed reply is shown to end the command with one line and exit 2, never a traceback
or a hang. What the real firmware does is tests/device/test_mlperf_tiny.py's.
"""

from __future__ import annotations

import io
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator

import numpy as np
import pytest

from harness.cli import main
from harness.mlperf.printed import PrintedTooCoarsely, decode, dequantized
from harness.mlperf.protocol import (
    MalformedReply,
    MlperfLink,
    parse_infer,
    parse_name,
    parse_profile,
    parse_results,
)
from harness.mlperf.session import MlperfSession
from harness.model import load_model
from harness.progress import Progress
from harness.reference import Reference
from tests.support.single_op import single_op_model


class CannedTransport:
    """Answers each command (the text before '%') with `respond(command)`'s bytes."""

    def __init__(self, respond: Callable[[str], bytes]):
        self.respond, self.pending = respond, b""

    def write(self, data: bytes) -> None:
        self.pending += self.respond(data.decode().rstrip("%"))

    def read(self, timeout: float) -> bytes:
        data, self.pending = self.pending, b""
        return data


def reply_to(lines: list[str]) -> Callable[[str], bytes]:
    return lambda command: "".join(f"{line}\r\n" for line in [*lines, "m-ready"]).encode()


def test_name_and_profile_are_read_as_the_runner_reads_them():
    link = MlperfLink(
        CannedTransport(reply_to(["m-name-dut-[acme kws]", "m-profile-[ULPMark V0.0.1]", "m-model-[kws01]"]))
    )
    assert parse_name(link.command("name")) == "acme kws"
    assert parse_profile(link.command("profile")) == ("ULPMark V0.0.1", "kws01")


def test_an_interface_boards_passthrough_wrapping_is_removed():
    wrapped = b"m-dut-passthrough(name)\r\nm-ready\r\n[dut]: m-name-dut-[x]\r\n[dut]: m-ready\r\n"
    link = MlperfLink(CannedTransport(lambda command: wrapped))
    reply = link.command("name")
    assert reply.lines == ["m-name-dut-[x]"] and parse_name(reply) == "x"


def test_an_infer_reply_gives_results_and_the_time_between_the_laps():
    lines = [
        "m-warmup-start-1",
        "m-warmup-done",
        "m-infer-start-10",
        "m-lap-us-1000",
        "m-lap-us-51000",
        "m-infer-done",
        "m-results-[0.000,0.996,0.004]",
    ]
    reply = MlperfLink(CannedTransport(reply_to(lines))).command("infer 10 1")
    parsed = parse_infer(reply, 10)
    assert parsed.values == ["0.000", "0.996", "0.004"]
    assert parsed.elapsed_us == 50000 and parsed.per_inference_us == 5000


@pytest.mark.parametrize(
    "lines, problem",
    [
        (["m-infer-start-1", "m-lap-us-5", "m-infer-done", "m-results-[1.0]"], "1 m-lap-us-N lines, want 2"),
        (["m-infer-start-1", "m-lap-us-9", "m-lap-us-5", "m-infer-done", "m-results-[1.0]"], "went back"),
        (["m-infer-start-2", "m-lap-us-1", "m-lap-us-5", "m-infer-done", "m-results-[1.0]"], "m-infer-start-1"),
        (["m-infer-start-1", "m-lap-us-1", "m-lap-us-5", "m-results-[1.0]"], "no m-infer-done"),
        (["m-infer-start-1", "m-lap-us-1", "m-lap-us-5", "m-infer-done", "m-results-[1.0"], "no m-results"),
        (
            ["m-infer-start-1", "m-lap-us-1", "m-lap-us-5", "m-infer-done", "m-results-[1.0]", "m-results-[1.0]"],
            "2 m-results",
        ),
        (["m-infer-start-1", "m-lap-us-1", "m-lap-us-5", "m-infer-done", "m-results-[0.5,x1]"], "'x1' is not a number"),
        (["m-infer-start-1", "m-lap-us-1", "m-lap-us-5", "m-infer-done", "m-results-[]"], "holds no values"),
    ],
)
def test_a_malformed_infer_reply_is_named(lines, problem):
    reply = MlperfLink(CannedTransport(reply_to(lines))).command("infer 1 0")
    with pytest.raises(MalformedReply, match=re.escape(problem)):
        parse_infer(reply, 1)


def test_a_reply_that_never_ends_times_out_naming_the_command():
    link = MlperfLink(CannedTransport(lambda command: b"m-name-dut-[x]\r\nhalf a li"), timeout=0.2)
    with pytest.raises(
        MalformedReply,
        match=r"reply to 'name%': no reply within the timeout "
        r"\(partial line 'half a li'\)",
    ):
        link.command("name")


def test_a_firmware_that_talks_forever_without_m_ready_times_out():
    class Chatty(CannedTransport):
        def read(self, timeout: float) -> bytes:
            return b"m-debug-still-busy\r\n"

    link = MlperfLink(Chatty(lambda command: b""), timeout=0.2)
    with pytest.raises(MalformedReply, match=r"reply to 'infer 1 0%': no m-ready within the timeout"):
        link.command("infer 1 0")


def test_binary_garbage_is_not_taken_for_text():
    link = MlperfLink(CannedTransport(lambda command: b"\x00\xfe\x13\r\nm-ready\r\n"))
    with pytest.raises(MalformedReply, match="not text"):
        link.command("name")


def test_binary_without_a_line_end_is_refused_at_once():
    """A firmware speaking a binary protocol (the harness's own, say) sends no line end: refused
    when the bytes come, not after the boot timeout."""
    link = MlperfLink(CannedTransport(lambda command: b"\xa5\x5a\x00\x03"), timeout=30)
    started = time.monotonic()
    with pytest.raises(MalformedReply, match=r"not text: '\\xa5Z\\x00\\x03' \(is it an MLPerf Tiny firmware\?\)"):
        link.command("name")
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("token", ["1" * 5000, "0." + "0" * 70 + "1", "1e1000"])
def test_a_value_no_float_prints_is_not_a_number(token):
    """5000 digits used to end in int()'s digit limit, an exponent of 1000 in an OverflowError (exit 3)."""
    reply = MlperfLink(CannedTransport(reply_to([f"m-results-[0.5,{token}]"]))).command("results")
    with pytest.raises(MalformedReply, match="m-results value 1 .* is not a number"):
        parse_results(reply)


def test_nan_and_inf_are_numbers_the_verdict_judges():
    reply = MlperfLink(CannedTransport(reply_to(["m-results-[nan,-inf,1e-3]"]))).command("results")
    assert parse_results(reply) == ["nan", "-inf", "1e-3"]


# -- the printed values against the reference's int8 --------------------------------------------


def test_printed_values_stand_for_the_int8_values_exactly_when_the_scale_allows():
    scale, zp = 1 / 256, -128  # a softmax output: one int8 step is 0.0039, above "%0.3f"'s 0.001
    reference = np.array([-128, -127, 127, 0], np.int8)
    printed = [f"{v:.3f}" for v in dequantized(reference, scale, zp)]
    decoded = decode(printed, reference, scale, zp)
    assert np.array_equal(decoded.values, reference) and decoded.resolved == 4
    one_step_off = printed[:3] + [f"{(0 - zp + 1) * scale:.3f}"]
    assert decode(one_step_off, reference, scale, zp).values[3] == 1  # differs: counted by the verdict


def test_a_value_printed_between_two_int8_steps_differs():
    scale, zp = 0.1, 0
    decoded = decode(["0.150"], np.array([1], np.int8), scale, zp)  # 0.1 (q=1) and 0.2 (q=2) print otherwise
    assert decoded.values[0] != 1


def test_below_the_print_resolution_the_comparison_is_only_as_fine_as_the_print():
    scale, zp = 0.0004, 0  # three int8 steps print as the same "%0.3f" value
    reference = np.array([10], np.int8)
    decoded = decode([f"{10 * scale:.3f}"], reference, scale, zp)
    assert decoded.values[0] == 10 and decoded.resolved == 0
    assert decode(["0.010"], reference, scale, zp).values[0] != 10  # 6 steps away: differs


@pytest.mark.parametrize("token", ["0e5", "0e999", "0.0e3"])
def test_a_value_that_fits_every_int8_value_compares_nothing(token):
    """'0e5' agrees with any output within half of 1e5: a PASS over it would have compared nothing."""
    with pytest.raises(PrintedTooCoarsely, match=f"value 1 '{token}' is printed too coarsely"):
        decode(["0.100", token], np.array([1, 2], np.int8), 0.1, 0)


def test_printed_int8_values_are_compared_exactly():
    decoded = decode(["-128", "5", "127"], np.array([-128, 5, 126], np.int8), 0.5, 3)
    assert decoded.raw_int8 and decoded.values.tolist() == [-128, 5, 127]


# -- hil run --protocol mlperf-tiny against a scripted device on a TCP socket ---------------------


class ScriptedDevice:
    """A TCP server speaking the API: good replies, except to the commands that match a pattern of
    `broken` (re.match), which get its text (None: no reply at all)."""

    def __init__(
        self,
        input_bytes: int,
        outputs: int,
        broken: dict[str, str | None],
        compute: Callable[[bytes, str], list[str]] | None = None,
    ):
        self.input_bytes, self.outputs, self.broken, self.compute = input_bytes, outputs, broken, compute
        self.buffer = b""
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(10)
        self.port = self.server.getsockname()[1]
        self.loaded = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _good(self, command: str) -> list[str]:
        words = command.split()
        if words[0] == "name":
            return ["m-name-dut-[scripted]"]
        if words[0] == "profile":
            return ["m-profile-[ULPMark for tinyML Firmware V0.0.1]", "m-model-[kws01]"]
        if words[:2] == ["db", "load"]:
            self.loaded, self.buffer = 0, b""
            return [f"m-[Expecting {words[2]} bytes]"]
        if words[0] == "db":
            self.loaded += len(words[1]) // 2
            self.buffer += bytes.fromhex(words[1])
            return ["m-load-done"] if self.loaded >= self.input_bytes else []
        values = ",".join(self.compute(self.buffer, command) if self.compute else ["0.000"] * self.outputs)
        return [f"m-infer-start-{words[1]}", "m-lap-us-10", "m-lap-us-20", "m-infer-done", f"m-results-[{values}]"]

    def _serve(self) -> None:
        try:
            connection, _ = self.server.accept()
        except OSError:
            return
        with connection:
            connection.settimeout(10)
            pending = b""
            while True:
                try:
                    data = connection.recv(4096)
                except OSError:
                    return
                if not data:
                    return
                pending += data
                while b"%" in pending:
                    command, _, pending = pending.partition(b"%")
                    self._answer(connection, command.decode())

    def _answer(self, connection: socket.socket, command: str) -> None:
        key = next((k for k in self.broken if re.match(k, command)), None)
        if key is not None and self.broken[key] is None:
            return  # hangs
        text = self.broken[key] if key is not None else "".join(f"{line}\r\n" for line in self._good(command))
        connection.sendall(text.encode("latin-1") + (b"m-ready\r\n" if key is None or "\n" in text else b""))

    def close(self) -> None:
        self.server.close()


@pytest.fixture
def model_file(tmp_path):
    path = tmp_path / "fc.tflite"
    path.write_bytes(single_op_model("FULLY_CONNECTED"))
    return path


@pytest.fixture
def device(model_file) -> Iterator[Callable[..., ScriptedDevice]]:
    model = load_model(model_file)
    sizes = [int(np.prod(model.tensors[i].shape)) for i in (model.inputs[0], model.outputs[0])]
    made: list[ScriptedDevice] = []
    yield lambda broken, compute=None: made.append(ScriptedDevice(*sizes, broken, compute)) or made[-1]
    for server in made:
        server.close()


def run_against(device: ScriptedDevice, model_file, capsys) -> tuple[int, list[str], str]:
    status = main(
        [
            "run",
            "--protocol",
            "mlperf-tiny",
            "--port",
            f"socket://127.0.0.1:{device.port}",
            "--model",
            str(model_file),
            "--timeout",
            "0.5",
            "--inputs",
            "2",
        ]
    )
    captured = capsys.readouterr()
    return status, captured.err.strip().splitlines(), captured.out


@pytest.mark.parametrize(
    "broken, problem",
    [
        ({"name": "\x00\x13\xff garbage\r\n"}, "reply to 'name%': the firmware sent a line that is not text"),
        ({"name": None}, "reply to 'name%': no reply within the timeout"),
        ({"profile": "m-profile-[x]\r\n"}, "reply to 'profile%': no m-model-[...] line"),
        ({"db load": "e-[Command 'db load' must be >0 bytes]\r\n"}, "the firmware answered 'db load"),
        ({"db load": "m-[Expecting 3 bytes]\r\n"}, "the firmware expects 3 bytes"),
        ({"db [0-9a-f]": None}, "no reply within the timeout"),
        (
            {"infer": "m-infer-start-1\r\nm-lap-us-1\r\nm-lap-us-2\r\nm-infer-done\r\nm-results-[0.1,0.2\r\n"},
            "no m-results-[...] line",
        ),
        (
            {"infer": "m-infer-start-1\r\nm-lap-us-1\r\nm-lap-us-2\r\nm-infer-done\r\nm-results-[0.1,0.2]\r\n"},
            "printed 2 m-results values; the model's output",
        ),
        (
            {"infer": "m-infer-start-1\r\nm-lap-us-1\r\nm-lap-us-2\r\nm-infer-done\r\nm-results-[0.1,zz]\r\n"},
            "m-results value 1 'zz' is not a number",
        ),
        ({"infer": "m-infer-start-1\r\nm-lap-us-1\r\nm-infer-done\r\nm-results-[0.1]\r\n"}, "m-lap-us-N lines, want 2"),
    ],
)
def test_a_malformed_reply_ends_the_run_in_one_line_with_exit_2(device, model_file, capsys, broken, problem):
    status, err, _ = run_against(device(broken), model_file, capsys)
    assert status == 2, err
    assert len(err) == 1 and err[0].startswith("error: ") and problem in err[0], err


def test_outputs_that_differ_from_tflite_micro_are_exit_1(device, model_file, capsys):
    status, err, out = run_against(device({}), model_file, capsys)  # every output printed as 0.000
    assert status == 1 and err == ["error: MLPerf Tiny firmware outputs differ from tflite-micro"], err
    assert "FAIL: compared" in out and "MISMATCH" in out


def test_a_model_the_api_cannot_feed_is_refused_before_connecting(tmp_path, capsys):
    path = tmp_path / "float.tflite"
    path.write_bytes(single_op_model("FULLY_CONNECTED", "float32"))
    status = main(["run", "--protocol", "mlperf-tiny", "--port", "socket://127.0.0.1:9", "--model", str(path)])
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert status == 2 and "is float32; the MLPerf Tiny driver checks int8 models" in line, line


@pytest.mark.parametrize(
    "args, problem",
    [
        ([], "--board is required"),
        (["--protocol", "mlperf-tiny", "--firmware-project", "."], "--firmware-project does not apply"),
        (
            ["--protocol", "mlperf-tiny", "--board", "nucleo_f746", "--firmware", "/no/such.elf"],
            "/no/such.elf: cannot read firmware ELF file (No such file or directory)",
        ),
        (["--protocol", "mlperf-tiny", "--emulator", "qemu"], "--emulator qemu needs --board"),
        (["--protocol", "mlperf-tiny", "--emulator", "none"], "needs --port"),
        (
            ["--protocol", "mlperf-tiny", "--per-layer", "--port", "socket://127.0.0.1:9"],
            "--per-layer needs the harness protocol",
        ),
    ],
)
def test_options_that_do_not_go_together_are_one_line(model_file, capsys, args, problem):
    """Each refused before any connection (port 9 on loopback would fail differently)."""
    status = main(["run", "--model", str(model_file), *args])
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert status == 2 and problem in line, line


def test_an_input_file_of_the_wrong_type_is_refused_before_connecting(model_file, tmp_path, capsys):
    np.save(tmp_path / "x.npy", np.zeros((1, 4), np.float32))
    status = main(
        [
            "run",
            "--protocol",
            "mlperf-tiny",
            "--port",
            "socket://127.0.0.1:9",
            "--model",
            str(model_file),
            "--input",
            str(tmp_path / "x.npy"),
        ]
    )
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert status == 2 and "x.npy: the array is float32 [1, 4]; the model's input" in line, line


def test_a_scripted_device_computing_as_tflite_micro_passes(device, model_file, capsys):
    """The fake prints what tflite-micro computes from the bytes it was sent, "%0.3f": the driver's
    sending, decoding and verdict agree end to end (the real firmware: tests/device)."""
    model = load_model(model_file)
    source, out = model.tensors[model.inputs[0]], model.tensors[model.outputs[0]]
    with Reference(model) as reference:

        def compute(data: bytes, command: str) -> list[str]:
            x = np.frombuffer(data, np.int8).reshape(source.shape)
            y = dequantized(reference.run([x])[0], float(out.quant.scale[0]), int(out.quant.zero_point[0]))
            drift = 0.5 if command == "infer 10 1" and drifting else 0.0
            return [f"{v + drift:.3f}" for v in y.reshape(-1)]

        drifting = False
        status, err, text = run_against(device({}, compute), model_file, capsys)
        elements = 2 * int(np.prod(out.shape))  # run_against sends --inputs 2
        assert status == 0 and f"PASS: compared {elements} elements of 1 graph outputs, {elements} exact" in text, err
        drifting = True  # the timed run answers otherwise than the same input did before
        status, err, _ = run_against(device({}, compute), model_file, capsys)
        assert status == 1 and "printed other m-results than 'infer 1 0%'" in err[-1], err


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_run_on_a_terminal_shows_a_bar_over_its_inputs(device, model_file):
    """Each input is a `db load` of many commands: a long run shows its count and an estimate."""
    stream = _Terminal()
    progress = Progress(stream)
    progress.refresh_s = 0
    server = device({})
    with MlperfSession.open(model_file, port=f"socket://127.0.0.1:{server.port}", timeout=2, progress=progress) as s:
        s.run(count=3)
    assert "inferences" in stream.getvalue() and "3/3" in stream.getvalue()

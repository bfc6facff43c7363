"""The harness's exceptions. Each carries the exit status the `hil` command uses for it.

Status 1 means "the device computed something else" (a failed check); status 2 means the run
could not be made (bad input, missing board, a board that does not answer).
"""


class HarnessError(Exception):
    """A problem the user can act on; its message names the problem."""

    exit_status = 2


class BoardError(HarnessError):
    """Unknown board or malformed board file."""


class BuildError(HarnessError):
    """The firmware did not build."""


class TargetError(HarnessError):
    """A board (real or emulated) could not be started, reached or flashed."""


class NoBoardFound(TargetError):
    """No real board is attached where one was asked for."""


class LinkError(HarnessError):
    """The serial link carried something the protocol does not allow."""


class TransportClosed(LinkError):
    """The other end closed the connection (an emulator that exited, a board unplugged)."""


class DeviceTimeout(LinkError):
    """The board did not answer within the timeout."""


class DeviceError(LinkError):
    """The firmware answered a request with an error reply."""

    def __init__(self, code: int, code_name: str, message: str):
        super().__init__(f"device error {code_name} ({code}): {message}")
        self.code = code
        self.code_name = code_name
        self.device_message = message


class DeviceFault(LinkError):
    """The firmware took a hard fault and reported its registers."""

    def __init__(self, message: str, registers: dict[str, int]):
        super().__init__(message)
        self.registers = registers


class CheckFailed(HarnessError):
    """The device's results differ from the reference."""

    exit_status = 1

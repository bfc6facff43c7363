"""Progress: bars only on a terminal, nothing at all when quiet (--json)."""

from __future__ import annotations

import io

from harness.progress import Progress


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_a_bar_with_counts_and_an_estimate():
    stream = _Terminal()
    progress = Progress(stream)
    progress.refresh_s = 0
    with progress.bar(4, "inferences", "inference") as bar:
        for _ in range(4):
            bar.update()
    text = stream.getvalue()
    assert progress.bars and "inferences" in text and "4/4" in text and "<" in text  # elapsed<left


def test_a_log_file_gets_step_lines_but_no_bar():
    stream = io.StringIO()
    progress = Progress(stream)
    with progress.step("building"), progress.bar(3, "cases") as bar:
        bar.update(3)
    assert not progress.bars
    assert stream.getvalue().startswith("... building\n    done in ") and "cases" not in stream.getvalue()


def test_json_output_is_quiet():
    progress = Progress.for_command(json_output=True)
    assert progress.stream is None and not progress.bars
    with progress.bar(2, "x") as bar:
        bar.update()
    progress.say("nothing")  # no stream: no output, no error

"""Model commands: hil quantize."""

from __future__ import annotations

from ..model import quantize
from . import command

command("quantize", quantize.HELP, quantize.add_arguments)(quantize.command)

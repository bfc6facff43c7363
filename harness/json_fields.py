"""Checking the fields of JSON data read from files (results records, baselines): each check
names where the field is, so a hand-edited or older file gives one line, not a KeyError."""

from __future__ import annotations

import json
from typing import Any

from .errors import HarnessError

NUMBER = (int, float)


def _type_name(kind: type | tuple) -> str:
    names = {
        str: "a string",
        int: "an integer",
        bool: "true or false",
        dict: "an object",
        list: "a list",
        NUMBER: "a number",
    }
    return names.get(kind, str(kind))


def is_type(value: Any, kind: type | tuple) -> bool:
    if isinstance(value, bool):  # JSON's true is not a number
        return kind is bool
    return isinstance(value, kind)


def check_field(
    data: dict[str, Any],
    name: str,
    kind: type | tuple,
    where: str,
    required: bool = False,
    error: type[HarnessError] = HarnessError,
) -> Any:
    """data[name] if it has JSON type `kind` (or is absent/None and not required); else `error`
    naming `where` and the field."""
    value = data.get(name)
    if value is None:
        if required:
            raise error(f"{where}: field `{name}` is missing (a file from another harness version, or edited by hand?)")
        return None
    if not is_type(value, kind):
        raise error(f"{where}: field `{name}` must be {_type_name(kind)}, not {json.dumps(value)[:40]}")
    return value

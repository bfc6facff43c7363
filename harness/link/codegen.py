"""Writes the firmware's C header from `protocol.yaml`.

    python -m harness.link.codegen            # rewrite firmware/sdk/include/link_protocol.h
    python -m harness.link.codegen --check    # exit 1 if the header is stale
"""
from __future__ import annotations

import argparse
import re
import sys

from ..resources import firmware_dir
from .protocol import SPEC, SPEC_PATH

HEADER_PATH = firmware_dir() / "sdk" / "include" / "link_protocol.h"

_C_TYPES = {"u8": "uint8_t", "u16": "uint16_t", "u32": "uint32_t", "i32": "int32_t", "u64": "uint64_t"}


def _c_field(name: str, kind: str) -> str:
    array = re.match(r"^char\[(\d+)\]$", kind)
    if array:
        return f"    char {name}[{array.group(1)}];"
    if kind in ("str", "bytes"):
        return f"    /* then {name}: the rest of the payload ({kind}) */"
    return f"    {_C_TYPES[kind]} {name};"


def _c_struct(type_name: str, fields: list[dict]) -> list[str]:
    lines = ["typedef struct __attribute__((packed)) {"]
    lines += [_c_field(f["name"], f["type"]) for f in fields]
    lines.append(f"}} {type_name};")
    return lines


def render() -> str:
    frame = SPEC["frame"]
    out = [
        "/* Generated from harness/link/protocol.yaml and harness/link/messages/ (one YAML per service)",
        " * by `python -m harness.link.codegen`.",
        " * Do not edit: change the YAML and regenerate. */",
        "#ifndef LINK_PROTOCOL_H",
        "#define LINK_PROTOCOL_H",
        "",
        "#include <stdint.h>",
        "",
        f"#define LINK_PROTOCOL_VERSION {SPEC['version']}u",
        f"#define LINK_MAGIC0 0x{frame['magic'][0]:02X}u",
        f"#define LINK_MAGIC1 0x{frame['magic'][1]:02X}u",
        f"#define LINK_REPLY_BIT 0x{frame['reply_bit']:02X}u",
        f"#define LINK_INTER_BYTE_TIMEOUT_MS {frame['inter_byte_timeout_ms']}u",
        "#define LINK_CRC_SIZE 4u",
        "",
    ]
    out += _c_struct("link_header_t", frame["header"])
    out.append("")
    for name, flag in frame["flags"].items():
        out.append(f"#define LINK_FLAG_{name} 0x{flag['bit']:02X}u /* {flag['doc']} */")
    out.append("")
    for name, msg in SPEC["messages"].items():
        out.append(f"#define LINK_MSG_{name} 0x{msg['id']:02X}u /* {msg['doc']} */")
    out.append("")
    for name, value in SPEC["constants"].items():
        out.append(f"#define LINK_{name} {value}u")
    out.append("")
    for name, err in SPEC["errors"].items():
        out.append(f"#define LINK_ERR_{name} {err['code']}u /* {err['doc']} */")
    for name, msg in SPEC["messages"].items():
        for part in ("payload", "request", "reply"):
            fixed = [f for f in msg.get(part) or () if f["type"] not in ("str", "bytes")]
            if fixed:
                out.append("")
                out += _c_struct(f"link_{name.lower()}_{part}_t", msg[part])
    out += ["", "#endif /* LINK_PROTOCOL_H */", ""]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the header is stale")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        if not HEADER_PATH.is_file() or HEADER_PATH.read_text() != text:
            print(f"{HEADER_PATH} is stale: run python -m harness.link.codegen", file=sys.stderr)
            return 1
        return 0
    HEADER_PATH.parent.mkdir(parents=True, exist_ok=True)
    HEADER_PATH.write_text(text)
    print(f"wrote {HEADER_PATH} from {SPEC_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

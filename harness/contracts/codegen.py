"""Writes the firmware's C headers from the host-device contracts: the link protocol
(harness/link/protocol.yaml) and every layout in harness/contracts/*.yaml.

    python -m harness.contracts.codegen            # rewrite every generated header
    python -m harness.contracts.codegen --check    # exit 1 if one is stale
    python -m harness.contracts.codegen --spec-dir DIR --out DIR   # from other YAML, elsewhere
"""

from __future__ import annotations

import argparse
import re
import sys
import textwrap
from pathlib import Path

from ..link.protocol import SPEC as LINK_SPEC
from ..resources import firmware_dir
from . import SCALARS, SPEC_DIR, Constant, Record, Spec, load_all

LINK_HEADER = "firmware/sdk/include/link_protocol.h"  # the device SDK's (docs/byo_firmware.md)
MAX_LINE = 100  # generated comments are wrapped to this width

_LINK_C_TYPES = {"u8": "uint8_t", "u16": "uint16_t", "u32": "uint32_t", "i32": "int32_t", "u64": "uint64_t"}


def _banner(source: str, doc: str = "") -> list[str]:
    lines = [f"/* Generated from {source}", " * by `python -m harness.contracts.codegen`."]
    lines += [f" * {line}" for line in textwrap.wrap(doc, MAX_LINE - 6)]
    lines.append(" * Do not edit: change the YAML and regenerate. */")
    return lines + ["/* clang-format off: the generator's layout is the one the staleness test expects */"]


_TRAILING = re.compile(r"^(?P<code>\s*[^\s/*].*?) (?P<comment>/\* .* \*/)$")


def _align_comments(lines: list[str]) -> list[str]:
    """Trailing comments of consecutive lines start in one column (where it fits in MAX_LINE)."""
    out: list[str] = []
    run: list[tuple[str, str]] = []

    def flush() -> None:
        if run:
            column = max(len(code) for code, _ in run) + 1
            out.extend(f"{code:<{column}}{comment}" for code, comment in run)
            run.clear()

    for line in lines:
        match = _TRAILING.match(line)
        if match and len(match["code"]) + 1 + len(match["comment"]) <= MAX_LINE:
            run.append((match["code"], match["comment"]))
            if max(len(code) for code, _ in run) + 1 + max(len(c) for _, c in run) > MAX_LINE:
                last = run.pop()
                flush()
                run.append(last)
            continue
        flush()
        out.append(line)
    flush()
    return out


# ------------------------------------------------------------------------- the link protocol


def _link_field(name: str, kind: str) -> str:
    array = re.match(r"^char\[(\d+)\]$", kind)
    if array:
        return f"    char {name}[{array.group(1)}];"
    if kind in ("str", "bytes"):
        return f"    /* then {name}: the rest of the payload ({kind}) */"
    return f"    {_LINK_C_TYPES[kind]} {name};"


def _link_struct(type_name: str, fields: list[dict]) -> list[str]:
    lines = ["typedef struct __attribute__((packed)) {"]
    lines += [_link_field(f["name"], f["type"]) for f in fields]
    lines.append(f"}} {type_name};")
    return lines


def render_link() -> str:
    frame = LINK_SPEC["frame"]
    out = [
        *_banner("harness/link/protocol.yaml and harness/link/messages/ (one YAML per service)"),
        "#ifndef LINK_PROTOCOL_H",
        "#define LINK_PROTOCOL_H",
        "",
        "#include <stdint.h>",
        "",
        f"#define LINK_PROTOCOL_VERSION {LINK_SPEC['version']}u",
        f"#define LINK_MAGIC0 0x{frame['magic'][0]:02X}u",
        f"#define LINK_MAGIC1 0x{frame['magic'][1]:02X}u",
        f"#define LINK_REPLY_BIT 0x{frame['reply_bit']:02X}u",
        f"#define LINK_INTER_BYTE_TIMEOUT_MS {frame['inter_byte_timeout_ms']}u",
        "#define LINK_CRC_SIZE 4u",
        "",
    ]
    out += _link_struct("link_header_t", frame["header"])
    out.append("")
    for name, flag in frame["flags"].items():
        out.append(f"#define LINK_FLAG_{name} 0x{flag['bit']:02X}u /* {flag['doc']} */")
    out.append("")
    for name, msg in LINK_SPEC["messages"].items():
        out.append(f"#define LINK_MSG_{name} 0x{msg['id']:02X}u /* {msg['doc']} */")
    out.append("")
    for name, value in LINK_SPEC["constants"].items():
        out.append(f"#define LINK_{name} {value}u")
    out.append("")
    for name, err in LINK_SPEC["errors"].items():
        out.append(f"#define LINK_ERR_{name} {err['code']}u /* {err['doc']} */")
    for name, msg in LINK_SPEC["messages"].items():
        for part in ("payload", "request", "reply"):
            fixed = [f for f in msg.get(part) or () if f["type"] not in ("str", "bytes")]
            if fixed:
                out.append("")
                out += _link_struct(f"link_{name.lower()}_{part}_t", msg[part])
    out += ["", "#endif /* LINK_PROTOCOL_H */", ""]
    return "\n".join(_align_comments(out))


# ------------------------------------------------------------------- the contract layouts


def _comment(doc: str) -> str:
    return f" /* {doc} */" if doc else ""


def _literal(c: Constant) -> str:
    text = f"0x{c.value:08X}" if c.hex else str(c.value)
    return text if c.signed else text + "u"


def _block_comment(doc: str, width: int = MAX_LINE) -> list[str]:
    lines = textwrap.wrap(doc, width - 6)
    if len(lines) == 1:
        return [f"/* {lines[0]} */"]
    return [f"/* {lines[0]}", *[f" * {line}" for line in lines[1:-1]], f" * {lines[-1]} */"]


def _constant(prefix: str, c: Constant) -> list[str]:
    define = f"#define {prefix}{c.name} {_literal(c)}"
    if not c.overridable and len(define + _comment(c.doc)) <= MAX_LINE:
        return [define + _comment(c.doc)]
    lines = _block_comment(c.doc) if c.doc else []
    if not c.overridable:
        return lines + [define]
    return lines + [f"#ifndef {prefix}{c.name}", define, "#endif"]


def _enum(prefix: str, name: str, values: dict[str, int], docs: dict[str, str]) -> list[str]:
    lines = ["enum {"]
    for key, value in values.items():
        doc = docs.get(f"{name}_{key}", "")
        if doc:
            lines += ["    " + line for line in _block_comment(doc, MAX_LINE - 4)]
        lines.append(f"    {prefix}{name}_{key} = {value},")
    return lines + ["};"]


def _struct(spec: Spec, record: Record, records: dict[str, Record]) -> list[str]:
    lines = _block_comment(record.doc) if record.doc else []
    lines.append("typedef struct __attribute__((packed)) {" if record.packed else "typedef struct {")
    for f in record.fields:
        if f.record is not None:
            c_type = records[f.kind].c_type
        elif f.text_length is not None:
            c_type = "char"
        else:
            c_type = SCALARS[f.kind][1]
        if f.text_length is not None:
            suffix = f"[{f.text_length}]"
        elif f.count_name:
            suffix = f"[{spec.raw.get('prefix', '')}{f.count_name}]"
        else:
            suffix = f"[{f.count}]" if f.count > 1 else ""
        lines.append(f"    {c_type} {f.name}{suffix};{_comment(f.doc)}")
    lines.append(f"}} {record.c_type};")
    return lines


def render_spec(spec: Spec, records: dict[str, Record], source: str) -> str:
    """The C header of one contract file (`records`: every record, for embedded types)."""
    raw, prefix = spec.raw, spec.raw.get("prefix", "")
    guard = raw["guard"]
    out = [*_banner(source, raw.get("doc", "")), f"#ifndef {guard}", f"#define {guard}", "", "#include <stdint.h>"]
    if raw.get("includes"):
        out += ["", *[f'#include "{include}"' for include in raw["includes"]]]
    if spec.constants or "magic" in raw:
        out.append("")
    for c in spec.constants.values():
        out += _constant(prefix, c)
    if "magic" in raw:
        out.append(f'#define {prefix}MAGIC "{raw["magic"]}"')
    for name, values in spec.enums.items():
        out += ["", *_enum(prefix, name, values, spec.enum_docs)]
    if raw.get("ops"):
        out += ["", "/* TFLite BuiltinOperator codes of the operators the engine executes. */"]
        out += _enum(prefix, "OP", {name: op["code"] for name, op in raw["ops"].items()}, {})
    for record in spec.records.values():
        out += ["", *_struct(spec, record, records)]
    if spec.records:
        out.append("")
    for record in spec.records.values():
        out.append(f'_Static_assert(sizeof({record.c_type}) == {record.size}, "{record.name} layout");')
    out += ["", f"#endif /* {guard} */", ""]
    return "\n".join(_align_comments(out))


def render_all(spec_dir: Path = SPEC_DIR) -> dict[str, str]:
    """Every generated header, by its path relative to the repository root."""
    specs = load_all(spec_dir)
    records = {name: r for spec in specs.values() for name, r in spec.records.items()}
    headers = {LINK_HEADER: render_link()}
    for name, spec in specs.items():
        headers[spec.raw["header"]] = render_spec(spec, records, f"harness/contracts/{name}.yaml")
    return headers


def _target(out: Path | None, relative: str) -> Path:
    """Where a generated header goes: under `out`, or in the firmware folder (firmware/...)."""
    if out is not None:
        return out / relative
    return firmware_dir() / relative.removeprefix("firmware/")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if a generated header is stale")
    parser.add_argument("--spec-dir", type=Path, default=SPEC_DIR, help="the contract YAML files")
    parser.add_argument("--out", type=Path, help="write under this folder instead of the firmware's")
    args = parser.parse_args(argv)
    stale = []
    for relative, text in render_all(args.spec_dir).items():
        path = _target(args.out, relative)
        if args.check:
            if not path.is_file() or path.read_text() != text:
                stale.append(path)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        print(f"wrote {path}")
    for path in stale:
        print(f"{path} is stale: run python -m harness.contracts.codegen", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())

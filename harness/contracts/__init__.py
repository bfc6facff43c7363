"""Binary layouts shared by the host and the device, read from the YAML files in this folder.

Each YAML file defines records (fields by name and type), constants and enums once;
`codegen.py` writes the C header the firmware uses from it, and the host packs and reads
records by field name through `Record`, so the two sides cannot disagree on an offset:

    OPS = load("model_format").records["op"]
    OPS.pack(opcode=3, num_inputs=2, num_outputs=1, type=1, tensors_offset=64, ...)

Field types: u8 u16 u32 i32 f32, `char[N]` (NUL-padded text), or another record's name
(embedded); `count: N` (a number or a constant's name) makes an array. Fields must be naturally
aligned with no padding, so a record has the same layout in C on every target.
"""

from __future__ import annotations

import ctypes
import re
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

SPEC_DIR = Path(__file__).resolve().parent
SPEC_NAMES = ("kernel_params", "model_format", "training_image", "metrics", "constants")

SCALARS: dict[str, tuple[str, str, Any]] = {  # type: (struct code, C type, ctypes type)
    "u8": ("B", "uint8_t", ctypes.c_uint8),
    "u16": ("H", "uint16_t", ctypes.c_uint16),
    "u32": ("I", "uint32_t", ctypes.c_uint32),
    "i32": ("i", "int32_t", ctypes.c_int32),
    "f32": ("f", "float", ctypes.c_float),
    "u64": ("Q", "uint64_t", ctypes.c_uint64),
}
_FIELD_KEYS = {"name", "type", "count", "doc", "default"}
_CONSTANT_KEYS = {"value", "doc", "signed", "hex", "overridable"}


def _check_keys(entry: dict[str, Any], allowed: set[str], where: str) -> None:
    extra = set(entry) - allowed
    if extra:  # a comma in an unquoted flow-style doc splits it into a key
        raise SpecError(f"{where}: unknown keys {sorted(extra)} (quote a doc that has a comma)")


_CHARS = re.compile(r"^char\[(\d+)\]$")


class SpecError(ValueError):
    """A contract YAML that cannot be laid out the same way on the host and the device."""


@dataclass(frozen=True)
class Field:
    """One field of a record: a scalar, text, an array of scalars, or an embedded record."""

    name: str
    kind: str  # a scalar type, "char[N]", or the embedded record's name
    count: int  # array length (1 for a single value)
    offset: int
    size: int
    doc: str = ""
    default: Any = None
    record: Record | None = None  # the embedded record
    count_name: str = ""  # the constant an array's length is given by, if any

    @property
    def text_length(self) -> int | None:
        match = _CHARS.match(self.kind)
        return int(match.group(1)) if match else None


@dataclass(frozen=True)
class Record:
    """A record's layout, packed and read by field name (embedded records' fields are flat)."""

    name: str
    c_type: str
    fields: tuple[Field, ...]
    size: int
    doc: str = ""
    packed: bool = False  # the C struct is packed (read at any alignment); the layout is the same

    def leaves(self) -> list[Field]:
        """The fields the host names: embedded records are replaced by their own fields."""
        out: list[Field] = []
        for f in self.fields:
            if f.record is None:
                out.append(f)
                continue
            out += [
                Field(g.name, g.kind, g.count, f.offset + g.offset, g.size, g.doc, g.default) for g in f.record.leaves()
            ]
        return out

    @property
    def struct(self) -> struct.Struct:
        codes = []
        for f in self.leaves():
            length = f.text_length
            codes.append(f"{length}s" if length is not None else f"{f.count}{SCALARS[f.kind][0]}")
        layout = struct.Struct("<" + "".join(codes))
        assert layout.size == self.size, f"{self.name}: struct {layout.size} != {self.size}"
        return layout

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.leaves()]

    def offset(self, name: str) -> int:
        """Byte offset of a field (embedded records' fields included) from the record's start."""
        for f in self.leaves():
            if f.name == name:
                return f.offset
        raise KeyError(f"{self.name} has no field {name}")

    def field_format(self, name: str) -> str:
        """The struct format of one scalar field (for patching it in place)."""
        for f in self.leaves():
            if f.name == name and f.text_length is None and f.count == 1:
                return "<" + SCALARS[f.kind][0]
        raise KeyError(f"{self.name} has no scalar field {name}")

    def pack(self, **values: Any) -> bytes:
        """Every field by name (a field with a default may be left out); arrays as sequences."""
        unknown = set(values) - set(self.names)
        if unknown:
            raise KeyError(f"{self.name} has no field {', '.join(sorted(unknown))}")
        flat: list[Any] = []
        for f in self.leaves():
            value = values.get(f.name, f.default)
            if value is None:
                raise KeyError(f"{self.name}: field {f.name} is missing")
            if f.text_length is not None:
                flat.append(value.encode() if isinstance(value, str) else bytes(value))
            elif f.count > 1:
                if len(value) != f.count:
                    raise ValueError(f"{self.name}.{f.name}: {len(value)} values, want {f.count}")
                flat += list(value)
            else:
                flat.append(value)
        return self.struct.pack(*flat)

    def unpack(self, data: bytes, offset: int = 0) -> dict[str, Any]:
        """The fields of the record at `offset` of `data`, by name (arrays as tuples)."""
        values = iter(self.struct.unpack_from(data, offset))
        out: dict[str, Any] = {}
        for f in self.leaves():
            if f.text_length is None and f.count > 1:
                out[f.name] = tuple(next(values) for _ in range(f.count))
            else:
                out[f.name] = next(values)
        return out

    def ctype(self) -> type[ctypes.Structure]:
        """A ctypes Structure of this layout (nested records nested), for the kernel tests."""
        return _ctype(self)


@cache
def _ctype(record: Record) -> type[ctypes.Structure]:
    fields: list[tuple[str, Any]] = []
    for f in record.fields:
        if f.record is not None:
            base: Any = _ctype(f.record)
        elif f.text_length is not None:
            base = ctypes.c_char * f.text_length
        else:
            base = SCALARS[f.kind][2]
        fields.append((f.name, base * f.count if f.count > 1 else base))
    return type(record.c_type, (ctypes.Structure,), {"_fields_": fields})


@dataclass(frozen=True)
class Constant:
    name: str
    value: int
    doc: str = ""
    signed: bool = False  # written without the C `u` suffix
    hex: bool = False
    overridable: bool = False  # a build may set it with -D (the header guards it with #ifndef)


@dataclass(frozen=True)
class Spec:
    """One contract file: its records, constants and enums, and where its C header goes."""

    name: str
    path: Path
    raw: dict[str, Any]
    records: dict[str, Record]
    constants: dict[str, Constant]
    enums: dict[str, dict[str, int]]
    enum_docs: dict[str, str]  # "ENUM_NAME" -> doc

    def value(self, name: str) -> int:
        return self.constants[name].value


def _field_size(kind: str, records: Mapping[str, Record]) -> tuple[int, int, Record | None]:
    """(size, alignment, embedded record) of one element of type `kind`."""
    if kind in SCALARS:
        size = struct.calcsize(SCALARS[kind][0])
        return size, size, None
    text = _CHARS.match(kind)
    if text:
        return int(text.group(1)), 1, None
    if kind in records:
        record = records[kind]
        return record.size, max(_field_size(f.kind, records)[1] for f in record.fields), record
    raise SpecError(f"unknown field type {kind!r}")


def _record(
    name: str, entry: dict[str, Any], records: Mapping[str, Record], constants: Mapping[str, Constant], where: str
) -> Record:
    fields, offset = [], 0
    for raw in entry["fields"]:
        _check_keys(raw, _FIELD_KEYS, f"{where}: {name}.{raw.get('name')}")
        size, align, embedded = _field_size(raw["type"], records)
        count_name = raw.get("count", 1)
        count = constants[count_name].value if isinstance(count_name, str) else int(count_name)
        if offset % align:
            raise SpecError(
                f"{where}: {name}.{raw['name']} at offset {offset} is not "
                f"{align}-byte aligned (the C struct would have padding)"
            )
        default = raw.get("default")
        fields.append(
            Field(
                raw["name"],
                raw["type"],
                count,
                offset,
                size * count,
                raw.get("doc", ""),
                tuple(default) if isinstance(default, list) else default,
                embedded,
                count_name if isinstance(count_name, str) else "",
            )
        )
        offset += size * count
    record = Record(
        name, entry["c_type"], tuple(fields), offset, entry.get("doc", ""), bool(entry.get("packed", False))
    )
    widest = max(_field_size(f.kind, records)[1] for f in fields)
    if record.size % widest:
        raise SpecError(
            f"{where}: {name} is {record.size} bytes, not a multiple of {widest} (the C struct would have tail padding)"
        )
    names = record.names
    if len(names) != len(set(names)):
        raise SpecError(f"{where}: {name} has two fields of the same name")
    return record


def load_file(path: Path, shared: Mapping[str, Record] | None = None) -> Spec:
    """One contract YAML; `shared` are records of other files it may embed."""
    raw = yaml.safe_load(path.read_text())
    for name, entry in (raw.get("constants") or {}).items():
        _check_keys(entry, _CONSTANT_KEYS, f"{path.name}: constant {name}")
    for name, values in (raw.get("enums") or {}).items():
        for key, entry in values.items():
            if isinstance(entry, dict):
                _check_keys(entry, {"value", "doc"}, f"{path.name}: {name}_{key}")
    constants = {
        name: Constant(
            name,
            int(entry["value"]),
            entry.get("doc", ""),
            bool(entry.get("signed", False)),
            bool(entry.get("hex", False)),
            bool(entry.get("overridable", False)),
        )
        for name, entry in (raw.get("constants") or {}).items()
    }
    records: dict[str, Record] = dict(shared or {})
    own: dict[str, Record] = {}
    for name, entry in (raw.get("records") or {}).items():
        if name in records:
            raise SpecError(f"{path.name}: record {name} is already defined")
        own[name] = records[name] = _record(name, entry, records, constants, path.name)
    enums: dict[str, dict[str, int]] = {}
    docs: dict[str, str] = {}
    for name, values in (raw.get("enums") or {}).items():  # NAME: value, or NAME: {value:, doc:}
        enums[name] = {}
        for key, entry in values.items():
            enums[name][key] = entry["value"] if isinstance(entry, dict) else int(entry)
            if isinstance(entry, dict) and entry.get("doc"):
                docs[f"{name}_{key}"] = entry["doc"]
    return Spec(path.stem, path, raw, own, constants, enums, docs)


def load_all(spec_dir: Path = SPEC_DIR) -> dict[str, Spec]:
    """Every contract file of `spec_dir`, in SPEC_NAMES order (later files embed earlier records)."""
    specs: dict[str, Spec] = {}
    shared: dict[str, Record] = {}
    for name in SPEC_NAMES:
        spec = load_file(spec_dir / f"{name}.yaml", shared)
        shared.update(spec.records)
        specs[name] = spec
    return specs


@cache
def _specs() -> dict[str, Spec]:
    return load_all()


def load(name: str) -> Spec:
    """One of SPEC_NAMES, from this package's YAML files."""
    return _specs()[name]


def record(name: str) -> Record:
    """A record of any contract file, by name."""
    for spec in _specs().values():
        if name in spec.records:
            return spec.records[name]
    raise KeyError(f"no contract record {name}")

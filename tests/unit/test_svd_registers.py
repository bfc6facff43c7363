"""Every peripheral register, field and value the HALs use, checked against vendor data.

Each HAL keeps its registers in `firmware/src/hal/<hal>/regs.h`, named after the vendor's CMSIS
SVD file (the scheme is described at the top of each regs.h). This test evaluates every macro
there and compares it with the SVD: peripheral base, register address, field position, width
and enumerated values. Cortex-M core registers (SCB, SysTick, NVIC, DWT, DEMCR) are not in
vendor SVDs: they are checked against a table of ARMv7-M architecture addresses below.

SVD files are looked up in a folder named by $HIL_SVD_DIR, then in `../shared/svd` beside the
repository (ST's STM32F7x6.svd: pyOCD bundles no STM32F7 file), then in pyOCD's bundled SVD
archive (the `pyocd` dev dependency: nrf52840.svd, STM32F41x.svd). Under CI ($CI set) a missing
SVD fails the check instead of skipping it.

Some vendor files split a multi-bit field into one field per bit (ST's RCC_CFGR: SW is `SW0`,
`SW1`): the checker joins such runs back into the field they describe.
"""

from __future__ import annotations

import importlib.util
import os
import re
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

HAL_DIR = Path(__file__).resolve().parents[2] / "firmware" / "src" / "hal"
SHARED_SVD_DIR = Path(__file__).resolve().parents[3] / "shared" / "svd"

# hal -> (SVD file, why that file describes the chip)
HAL_SVD = {
    "stm32f4": ("STM32F41x.svd", "STM32F415/417: the F405/407 plus a crypto unit, one register map (RM0090)"),
    "stm32f7": ("STM32F7x6.svd", "STM32F745/746/756 (RM0385)"),
    "nrf52840": ("nrf52840.svd", "Nordic's nRF52840 SVD"),
}

# ARMv7-M architecture (ARM DDI 0403E) addresses of the system registers. Not vendor data:
# the same on every Cortex-M3/M4/M7, so no SVD carries them.
ARMV7M_CORE_REGISTERS = {
    "SYST_CSR": 0xE000E010,
    "SYST_RVR": 0xE000E014,
    "SYST_CVR": 0xE000E018,
    "SCB_ICSR": 0xE000ED04,
    "SCB_VTOR": 0xE000ED08,
    "SCB_AIRCR": 0xE000ED0C,
    "SCB_CCR": 0xE000ED14,
    "SCB_CFSR": 0xE000ED28,
    "SCB_HFSR": 0xE000ED2C,
    "SCB_MMFAR": 0xE000ED34,
    "SCB_BFAR": 0xE000ED38,
    "SCB_CCSIDR": 0xE000ED80,
    "SCB_CSSELR": 0xE000ED84,
    "SCB_CPACR": 0xE000ED88,
    "DEMCR": 0xE000EDFC,
    "SCB_ICIALLU": 0xE000EF50,
    "SCB_DCISW": 0xE000EF60,
    "DWT_CTRL": 0xE0001000,
    "DWT_CYCCNT": 0xE0001004,
    "DWT_LAR": 0xE0001FB0,
}
ARMV7M_NVIC_ARRAYS = {"NVIC_ISER": 0xE000E100, "NVIC_ICPR": 0xE000E280}  # 32-bit words, one per 32 IRQs
# Bits and fields of those registers (ARMv7-M; the cache ones are Cortex-M7's, ARMv7-M B3.2).
ARMV7M_CORE_BITS = {
    "SCB_ICSR_PENDSTCLR": 1 << 25,
    "SCB_AIRCR_SYSRESETREQ": 0x05FA << 16 | 1 << 2,  # VECTKEY written with SYSRESETREQ
    "SCB_CCR_DC": 1 << 16,
    "SCB_CCR_IC": 1 << 17,
    "DEMCR_TRCENA": 1 << 24,
    "SCB_CCSIDR_NUMSETS_Pos": 13,
    "SCB_CCSIDR_NUMSETS_Msk": 0x7FFF << 13,
    "SCB_CCSIDR_ASSOCIATIVITY_Pos": 3,
    "SCB_CCSIDR_ASSOCIATIVITY_Msk": 0x3FF << 3,
    "SCB_CCSIDR_LINESIZE_Msk": 0x7,
    "SCB_DCISW_WAY_Pos": 30,
}
CORE_PREFIXES = ("SCB_", "SYST_", "NVIC_", "DWT_", "DEMCR")


# -- C macros -----------------------------------------------------------------------------------

_DEFINE = re.compile(r"^\s*#define\s+(\w+)(\([^)]*\))?[ \t]*(.*?)\s*(?:/\*.*)?$")
_INT_SUFFIX = re.compile(r"\b(0[xX][0-9a-fA-F]+|\d+)[uUlL]+\b")


def read_macros(path: Path) -> dict[str, str]:
    """Object-like macros of a header: name -> body (include guards and function-like left out)."""
    macros = {}
    for line in path.read_text().splitlines():
        match = _DEFINE.match(line)
        if match and not match.group(2) and match.group(3):
            macros[match.group(1)] = match.group(3)
    return macros


def evaluate(body: str, macros: dict[str, str]) -> int:
    """Value of a macro body: integer arithmetic over other macros; REG32(address) is the address."""

    def substitute(match: re.Match) -> str:
        name = match.group(0)
        if name == "REG32":
            return ""
        if name not in macros:
            raise ValueError(f"unknown name {name} in {body!r}")
        return f"({evaluate(macros[name], macros)})"

    text = _INT_SUFFIX.sub(r"\1", body)
    text = re.sub(r"\b[A-Za-z_]\w*\b", substitute, text)
    if not re.fullmatch(r"[0-9a-fA-FxX()\s|&<>+\-*~]*", text):
        raise ValueError(f"cannot evaluate {body!r}")
    return eval(text, {"__builtins__": {}}) & 0xFFFFFFFF  # noqa: S307 (digits and operators only)


# -- SVD ------------------------------------------------------------------------------------------


@dataclass
class SvdField:
    offset: int
    width: int
    enums: dict[str, int] = field(default_factory=dict)

    @property
    def mask(self) -> int:
        return ((1 << self.width) - 1) << self.offset


@dataclass
class SvdRegister:
    offset: int
    fields: dict[str, SvdField]


@dataclass
class SvdPeripheral:
    base: int
    registers: dict[str, SvdRegister]


def _int(text: str | None) -> int:
    return int(text.strip(), 0) if text else 0


def _fields(register: ET.Element) -> dict[str, SvdField]:
    fields = {}
    for element in register.iter("field"):
        if element.findtext("bitOffset") is not None:
            offset, width = _int(element.findtext("bitOffset")), _int(element.findtext("bitWidth"))
        elif element.findtext("bitRange") is not None:  # [msb:lsb]
            msb, lsb = map(int, element.findtext("bitRange").strip("[]").split(":"))
            offset, width = lsb, msb - lsb + 1
        else:
            offset = _int(element.findtext("lsb"))
            width = _int(element.findtext("msb")) - offset + 1
        enums = {
            value.findtext("name"): _int(value.findtext("value"))
            for value in element.iter("enumeratedValue")
            if value.findtext("value")
        }
        fields[element.findtext("name")] = SvdField(offset, width, enums)
    return {**join_split_fields(fields), **fields}


_BIT_OF_FIELD = re.compile(r"^(\w*?[A-Za-z_])(\d+)$")


def join_split_fields(fields: dict[str, SvdField]) -> dict[str, SvdField]:
    """Fields a vendor split into one field per bit (`SW0`, `SW1`), joined as `SW`.

    A run is joined only when its parts are one bit wide, numbered 0..n-1 (n >= 2) and lie on
    consecutive bits from part 0 upwards, and no field of the joined name exists. The parts'
    enumerated values (if any) describe single bits, so the joined field carries none.
    """
    runs: dict[str, dict[int, SvdField]] = {}
    for name, svd_field in fields.items():
        match = _BIT_OF_FIELD.match(name)
        if match:
            runs.setdefault(match.group(1), {})[int(match.group(2))] = svd_field
    joined = {}
    for stem, parts in runs.items():
        if stem in fields or len(parts) < 2 or sorted(parts) != list(range(len(parts))):
            continue
        first = parts[0].offset
        if all(parts[i].width == 1 and parts[i].offset == first + i for i in parts):
            joined[stem] = SvdField(first, len(parts))
    return joined


def _registers(container: ET.Element, prefix: str = "", base: int = 0) -> dict[str, SvdRegister]:
    """Registers by flat name: clusters become CLUSTER_REGISTER, arrays NAME0, NAME1..."""
    registers = {}
    for element in container:
        if element.tag not in ("register", "cluster"):
            continue
        name, offset = element.findtext("name"), base + _int(element.findtext("addressOffset"))
        count, step = _int(element.findtext("dim")) or 1, _int(element.findtext("dimIncrement"))
        for index in range(count):
            flat = prefix + (name.replace("[%s]", str(index)).replace("%s", str(index)) if count > 1 else name)
            if element.tag == "cluster":
                registers.update(_registers(element, flat + "_", offset + index * step))
            else:
                registers[flat] = SvdRegister(offset + index * step, _fields(element))
    return registers


def load_svd(text: bytes) -> dict[str, SvdPeripheral]:
    root = ET.fromstring(text)
    elements = {p.findtext("name"): p for p in root.iter("peripheral")}
    peripherals = {}
    for name, element in elements.items():
        source = element
        while source.find("registers") is None and source.get("derivedFrom"):
            source = elements[source.get("derivedFrom")]
        registers = _registers(source.find("registers")) if source.find("registers") is not None else {}
        peripherals[name] = SvdPeripheral(_int(element.findtext("baseAddress")), registers)
    return peripherals


def find_svd(filename: str) -> bytes | None:
    for folder in (os.environ.get("HIL_SVD_DIR"), SHARED_SVD_DIR):
        if folder and (Path(folder) / filename).is_file():
            return (Path(folder) / filename).read_bytes()
    spec = importlib.util.find_spec("pyocd")  # located, not imported: pyOCD's import is slow
    if spec and spec.submodule_search_locations:
        archive = Path(next(iter(spec.submodule_search_locations))) / "debug" / "svd" / "svd_data.zip"
        if archive.is_file():
            with zipfile.ZipFile(archive) as bundle:
                if filename in bundle.namelist():
                    return bundle.read(filename)
    return None


# -- checks -----------------------------------------------------------------------------------------


def _longest(prefix_of: str, names: list[str]) -> str | None:
    """The longest name that is `prefix_of` itself or a prefix of it followed by '_'."""
    matches = [n for n in names if prefix_of == n or prefix_of.startswith(n + "_")]
    return max(matches, key=len) if matches else None


def check_against_svd(macros: dict[str, str], svd: dict[str, SvdPeripheral]) -> tuple[list[str], int]:
    """Problems found, and how many macros were checked."""
    problems, checked = [], 0
    bases = [name[:-5] for name in macros if name.endswith("_BASE")]
    for name, body in macros.items():
        if name.startswith(CORE_PREFIXES) or name.endswith("_H"):
            continue
        value = evaluate(body, macros)
        checked += 1
        if name.endswith("_BASE"):
            peripheral = svd.get(name[:-5])
            if peripheral is None:
                problems.append(f"{name}: no peripheral {name[:-5]} in the SVD")
            elif peripheral.base != value:
                problems.append(f"{name} = {value:#x}, SVD base {peripheral.base:#x}")
            continue
        periph_name = _longest(name, bases)
        if periph_name is None or periph_name not in svd:
            problems.append(f"{name}: not named <PERIPHERAL>_... after a peripheral with a _BASE")
            continue
        peripheral = svd[periph_name]
        rest = name[len(periph_name) + 1 :]
        reg_name = _longest(rest, list(peripheral.registers))
        if reg_name is None:
            problems.append(f"{name}: {periph_name} has no register {rest.split('_')[0]}... in the SVD")
            continue
        register = peripheral.registers[reg_name]
        if rest == reg_name:
            if "REG32" not in body or value != peripheral.base + register.offset:
                problems.append(f"{name} = {value:#x}, SVD address {peripheral.base + register.offset:#x}")
            continue
        problems += _check_field(name, rest[len(reg_name) + 1 :], value, register)
    return problems, checked


def _check_field(name: str, rest: str, value: int, register: SvdRegister) -> list[str]:
    for suffix in ("_Pos", "_Msk"):
        if rest.endswith(suffix):
            svd_field = register.fields.get(rest[:-4])
            if svd_field is None:
                return [f"{name}: no field {rest[:-4]} in the SVD"]
            expected = svd_field.offset if suffix == "_Pos" else svd_field.mask
            return [] if value == expected else [f"{name} = {value:#x}, SVD {expected:#x}"]
    field_name = _longest(rest, list(register.fields))
    if field_name is None:
        return [f"{name}: no field {rest} in the SVD"]
    svd_field = register.fields[field_name]
    if rest == field_name:  # a one-bit field
        if svd_field.width != 1:
            return [f"{name}: field {field_name} is {svd_field.width} bits: use _Pos/_Msk or a value name"]
        return [] if value == svd_field.mask else [f"{name} = {value:#x}, SVD bit {svd_field.mask:#x}"]
    value_name = rest[len(field_name) + 1 :]
    if value_name in svd_field.enums:
        expected = svd_field.enums[value_name] << svd_field.offset
        return [] if value == expected else [f"{name} = {value:#x}, SVD value {expected:#x}"]
    if value & ~svd_field.mask:
        return [f"{name} = {value:#x} lies outside field {field_name} (mask {svd_field.mask:#x})"]
    return []


def hal_sources(hal: str) -> list[Path]:
    return sorted((HAL_DIR / hal).glob("*.[ch]"))


@pytest.mark.parametrize("hal", sorted(HAL_SVD))
def test_hal_registers_match_the_vendor_svd(hal):
    filename, why = HAL_SVD[hal]
    text = find_svd(filename)
    if text is None:
        missing = (
            f"{filename} ({why}) is not in $HIL_SVD_DIR, {SHARED_SVD_DIR} or pyOCD's "
            "bundled SVDs; put it in one of them to run this check"
        )
        (pytest.fail if os.environ.get("CI") else pytest.skip)(missing)
    macros = read_macros(HAL_DIR / hal / "regs.h")
    problems, checked = check_against_svd(macros, load_svd(text))
    assert not problems, f"{hal}/regs.h disagrees with {filename}:\n" + "\n".join(problems)
    assert checked >= 10


@pytest.mark.parametrize("hal", sorted(HAL_SVD))
def test_hal_sources_define_no_peripheral_registers_outside_regs_h(hal):
    """Registers defined in the .c files would escape the SVD check."""
    for source in hal_sources(hal):
        if source.name == "regs.h":
            continue
        for name, body in read_macros(source).items():
            if "REG32" in body:
                assert name.startswith(CORE_PREFIXES), f"{source.name}: {name} belongs in regs.h"


def _core_macros() -> list[tuple[Path, str, str, dict[str, str]]]:
    """(file, name, body, macros) of every core-register macro in cortexm.h and the HALs."""
    found = []
    for path in sorted(HAL_DIR.glob("*/*.[ch]")):
        macros = read_macros(path)
        if path.parent.name != "cortexm":
            macros = {**read_macros(HAL_DIR / "cortexm" / "cortexm.h"), **macros}
        for name, body in read_macros(path).items():
            if name.startswith(CORE_PREFIXES):
                found.append((path, name, body, macros))
    return found


def test_core_registers_match_the_armv7m_architecture():
    checked, problems = 0, []
    for path, name, body, macros in _core_macros():
        where = f"{path.parent.name}/{path.name}: {name}"
        value = evaluate(body, macros)
        if name in ARMV7M_CORE_REGISTERS:
            expected = ARMV7M_CORE_REGISTERS[name]
        elif name in ARMV7M_CORE_BITS:
            expected = ARMV7M_CORE_BITS[name]
        else:
            problems.append(f"{where}: not in the ARMv7-M table of this test")
            continue
        checked += 1
        if value != expected:
            problems.append(f"{where} = {value:#x}, ARMv7-M {expected:#x}")
    assert not problems, "\n".join(problems)
    assert checked >= 20


def test_nvic_register_arrays_match_the_armv7m_architecture():
    source = (HAL_DIR / "cortexm" / "cortexm.h").read_text()
    for name, base in ARMV7M_NVIC_ARRAYS.items():
        assert re.search(rf"#define {name}\(n\) REG32\({base:#X}u \+ 4u \* \(n\)\)".replace("0X", "0x"), source), name


def test_the_checker_catches_a_wrong_bit():
    """The check itself: a field one bit off, a wrong base and an unknown register are reported."""
    svd = {
        "UART0": SvdPeripheral(0x40002000, {"ENABLE": SvdRegister(0x500, {"ENABLE": SvdField(0, 4, {"Enabled": 4})})})
    }
    macros = {
        "UART0_BASE": "0x40002000u",
        "UART0_ENABLE": "REG32(UART0_BASE + 0x504u)",
        "UART0_ENABLE_ENABLE_Enabled": "(4u << 1)",
        "UART0_ENABLE_ENABLE_Pos": "0u",
        "UART0_NOPE": "REG32(UART0_BASE)",
    }
    problems, _ = check_against_svd(macros, svd)
    assert len(problems) == 3, problems


def test_the_checker_joins_fields_split_per_bit():
    """ST's style (SW0, SW1): the joined field is checked for position, width and value range."""
    bits = "".join(
        f"<field><name>{name}</name><bitOffset>{offset}</bitOffset><bitWidth>1</bitWidth></field>"
        for name, offset in (("SWS1", 3), ("SWS0", 2), ("SW1", 1), ("SW0", 0))
    )
    svd = load_svd(
        f"""<device><peripherals><peripheral><name>RCC</name><baseAddress>0x40023800</baseAddress>
        <registers><register><name>CFGR</name><addressOffset>0x08</addressOffset><fields>{bits}</fields>
        </register></registers></peripheral></peripherals></device>""".encode()
    )
    good = {
        "RCC_BASE": "0x40023800u",
        "RCC_CFGR": "REG32(RCC_BASE + 0x08u)",
        "RCC_CFGR_SW_Pos": "0u",
        "RCC_CFGR_SW_PLL": "(0x2u << RCC_CFGR_SW_Pos)",
        "RCC_CFGR_SWS_Pos": "2u",
        "RCC_CFGR_SWS_Msk": "(0x3u << RCC_CFGR_SWS_Pos)",
    }
    assert check_against_svd(good, svd)[0] == []
    wrong = {**good, "RCC_CFGR_SWS_Pos": "3u", "RCC_CFGR_SWS_Msk": "(0x7u << 2u)", "RCC_CFGR_SW_PLL": "(0x4u)"}
    assert len(check_against_svd(wrong, svd)[0]) == 3


def test_split_fields_are_joined_only_when_they_form_one_field():
    """Per-pin fields two bits wide (GPIO MODER0, MODER1) or with gaps stay apart."""
    assert join_split_fields({"MODER0": SvdField(0, 2), "MODER1": SvdField(2, 2)}) == {}
    assert join_split_fields({"X0": SvdField(0, 1), "X2": SvdField(2, 1)}) == {}
    assert join_split_fields({"X0": SvdField(4, 1), "X1": SvdField(6, 1)}) == {}
    assert join_split_fields({"X0": SvdField(0, 1), "X1": SvdField(1, 1), "X": SvdField(0, 2)}) == {}
    assert join_split_fields({"ODR0": SvdField(0, 1), "ODR1": SvdField(1, 1)}) == {"ODR": SvdField(0, 2)}

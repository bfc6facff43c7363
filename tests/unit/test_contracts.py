"""Every host-device layout is defined once (harness/contracts/*.yaml, harness/link/protocol.yaml):
the generated C headers are current, and the host's layouts follow the same YAML."""

import ctypes
import re
import shutil

import numpy as np
import pytest
import yaml

from harness import contracts
from harness.contracts import codegen
from harness.engine import format as fmt
from harness.model.tflite import OPCODE_VALUES


def test_every_generated_header_is_up_to_date():
    assert codegen.main(["--check"]) == 0, "run: python -m harness.contracts.codegen"


def test_check_finds_a_stale_header(tmp_path):
    assert codegen.main(["--out", str(tmp_path)]) == 0
    header = tmp_path / "firmware/src/engine/model_format.h"
    header.write_text(header.read_text().replace("uint16_t num_ops;", "uint16_t num_opz;"))
    assert codegen.main(["--check", "--out", str(tmp_path)]) == 1


def _field_names(header: str, c_type: str) -> list[str]:
    body = re.search(r"typedef struct \{\n([^{}]*)\n\} " + c_type + ";", header)
    assert body, c_type
    return [line.split(";")[0].split()[-1] for line in body.group(1).splitlines()]


def test_swapping_two_fields_in_the_spec_moves_them_in_c_and_in_python(tmp_path):
    spec_dir = tmp_path / "spec"
    shutil.copytree(contracts.SPEC_DIR, spec_dir, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    path = spec_dir / "model_format.yaml"
    raw = yaml.safe_load(path.read_text())
    fields = raw["records"]["op"]["fields"]
    names = [f["name"] for f in fields]
    i, j = names.index("tensors_offset"), names.index("params_offset")  # both u32
    fields[i], fields[j] = fields[j], fields[i]
    path.write_text(yaml.safe_dump(raw, sort_keys=False))

    assert codegen.main(["--spec-dir", str(spec_dir), "--out", str(tmp_path / "out")]) == 0
    header = (tmp_path / "out/firmware/src/engine/model_format.h").read_text()
    order = _field_names(header, "engine_op_t")
    assert order.index("params_offset") < order.index("tensors_offset")

    swapped = contracts.load_all(spec_dir)["model_format"].records["op"]
    assert swapped.offset("params_offset") == fmt.OPERATOR.offset("tensors_offset") == 4
    assert swapped.offset("tensors_offset") == fmt.OPERATOR.offset("params_offset") == 8
    values = dict(
        opcode=3, num_inputs=2, num_outputs=1, type=1, tensors_offset=0x111, params_offset=0x222, params_size=56
    )
    assert swapped.pack(**values) != fmt.OPERATOR.pack(**values)
    assert swapped.unpack(swapped.pack(**values)) == fmt.OPERATOR.unpack(fmt.OPERATOR.pack(**values))


@pytest.mark.parametrize("name", sorted(contracts.load("kernel_params").records))
def test_the_kernel_tests_ctypes_structs_follow_the_spec(name):
    record = contracts.record(name)
    ctype = record.ctype()
    assert [field for field, _ in ctype._fields_] == record.names
    assert all(getattr(ctype, field).offset == record.offset(field) for field in record.names)
    assert ctypes.sizeof(ctype) == record.size


def test_a_record_with_padding_is_refused(tmp_path):
    (tmp_path / "bad.yaml").write_text(
        yaml.safe_dump(
            {
                "records": {
                    "bad": {"c_type": "bad_t", "fields": [{"name": "a", "type": "u8"}, {"name": "b", "type": "u32"}]}
                }
            }
        )
    )
    with pytest.raises(contracts.SpecError, match="bad.b at offset 1 is not 4-byte aligned"):
        contracts.load_file(tmp_path / "bad.yaml")


def test_a_doc_split_by_an_unquoted_comma_is_refused(tmp_path):
    (tmp_path / "bad.yaml").write_text(
        "records:\n  bad:\n    c_type: bad_t\n    fields:\n      - {name: a, type: u32, doc: one, two}\n"
    )
    with pytest.raises(contracts.SpecError, match="quote a doc"):
        contracts.load_file(tmp_path / "bad.yaml")


def test_pack_needs_every_field_by_name():
    with pytest.raises(KeyError, match="params_size is missing"):
        fmt.OPERATOR.pack(opcode=3, num_inputs=2, num_outputs=1, type=1, tensors_offset=0, params_offset=0)
    with pytest.raises(KeyError, match="no field params_bytes"):
        fmt.OPERATOR.pack(
            opcode=3,
            num_inputs=2,
            num_outputs=1,
            type=1,
            tensors_offset=0,
            params_offset=0,
            params_size=0,
            params_bytes=0,
        )


def test_operator_codes_are_tflites():
    assert all(OPCODE_VALUES[name] == code for name, code in fmt.OPCODES.items())


def test_sizes_the_firmware_asserts():
    assert (fmt.HEADER.size, fmt.TENSOR.size, fmt.OPERATOR.size) == (48, 44, 16)
    assert fmt.op_params("CONV_2D", np.int8).size == 56 and fmt.op_params("PAD", np.float32).size == 56
    assert fmt.op_params("RESHAPE", np.int8) is None


def test_the_training_image_is_packed_by_field_name():
    from harness.training.setup import KINDS, LAYER_RECORD, MAGIC, SETUP_HEADER, pack, record_offset
    from harness.training.toy import toy_setup

    setup = toy_setup(seed=3)
    image = pack(setup)
    header = SETUP_HEADER.unpack(image)
    assert (header["magic"], header["num_layers"], header["total"]) == (MAGIC, len(setup.layers), len(image))
    for i, layer in enumerate(setup.layers):
        record = LAYER_RECORD.unpack(image, record_offset(i))
        assert record["kind"] == KINDS[layer.kind] and record["out_c"] == layer.out_channels
        assert (record["in_h"], record["in_w"], record["in_c"]) == layer.in_shape

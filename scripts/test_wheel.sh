#!/usr/bin/env bash
# CI: the harness as a user gets it. Builds the sdist and, from it, the wheel; installs the wheel
# in a fresh virtual environment (dependencies from PyPI, nothing from this checkout or the
# system's site-packages); then, from a temporary directory outside the repository, runs the user
# project of examples/user_project under pytest, in one process and with -n 2, and checks its
# JUnit XML. Firmware builds go to $HIL_BUILD_DIR inside the temporary directory; the script
# fails if any build output lands in site-packages. Last, with pytest-embedded installed beside
# the harness, pytest must start (no option clash) and the project pass again, `dut` still the
# harness's (pytest-embedded has one too). Between the two, the wheel's package data is checked
# against the repository's files, and the installed `hil` runs hello_world, a short training run
# and a copy of examples/user_firmware (--firmware-project) from the temporary directory.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/hil-wheel.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
export PLATFORMIO_SETTING_ENABLE_TELEMETRY=no PLATFORMIO_DISABLE_UPGRADE_CHECK=true
export HIL_SHARED_MODELS=${HIL_SHARED_MODELS:-$(cd "$REPO/.." && pwd)/shared/models}
export HIL_BUILD_DIR="$WORK/build"
unset PYTHONPATH HIL_BOARDS_DIR HIL_PROJECT_DIR

echo "== wheel: build"
python3 -m venv "$WORK/venv"
PY="$WORK/venv/bin/python"
"$PY" -m pip install -q build "setuptools>=70.1"   # the backend (bdist_wheel built in), once: no isolated envs
"$PY" -m build -q --no-isolation --outdir "$WORK/dist" "$REPO" >/dev/null
echo "== wheel: install $(cd "$WORK/dist" && ls | tr '\n' ' ')(${SECONDS} s)"
"$PY" -m pip install -q "$WORK"/dist/*.whl pytest-xdist

cp -r "$REPO/examples/user_project" "$WORK/project"
cd "$WORK/project"
SITE=$("$PY" -c 'import harness, pathlib; print(pathlib.Path(harness.__file__).parent)')
case "$SITE" in "$WORK"/venv/*) ;; *) echo "harness imported from $SITE, not the wheel" >&2; exit 1;; esac
"$WORK/venv/bin/hil" boards --json | "$PY" -c 'import json, sys; names = {b["name"] for b in json.load(sys.stdin)}; assert {"nucleo_f746", "uno"} <= names, names'
# the device SDK ships in the wheel, as a PlatformIO library and a CMake target (docs/byo_firmware.md)
"$PY" -c 'from harness.resources import firmware_dir; sdk = firmware_dir() / "sdk"; assert "_data" in str(sdk) and all((sdk / n).is_file() for n in ("library.json", "CMakeLists.txt", "include/hil_sdk.h", "src/hil_link.c")), sdk'

echo "== wheel: user project, one process and -n 2 (${SECONDS} s)"
"$PY" -m pytest -q -W error -p no:cacheprovider --board=nucleo_f746 --emulator=qemu --junitxml=junit.xml
"$PY" -m pytest -q -W error -p no:cacheprovider --board=nucleo_f746 --emulator=qemu -n 2 --junitxml=junit-n2.xml
check_junit() {
"$PY" - "$@" <<'PYTHON'
"""Every test case carries board, emulator and build id; run_model's also the model's sha256."""
import hashlib, os, sys, xml.etree.ElementTree as ET
from pathlib import Path

model = Path(os.environ["HIL_SHARED_MODELS"]) / "tflm_examples" / "hello_world_int8.tflite"
sha = hashlib.sha256(model.read_bytes()).hexdigest()
for report in sys.argv[1:]:
    cases = ET.parse(report).getroot().iter("testcase")
    checked = 0
    for case in cases:
        props = {p.get("name"): p.get("value") for p in case.iter("property")}
        assert props.get("hil_board") == "nucleo_f746" and props.get("hil_emulator") == "qemu", (report, props)
        assert props.get("hil_firmware_build_id"), (report, case.get("name"), props)
        if "hello_world" in case.get("name"):
            assert props.get("hil_model_sha256") == sha, (report, props)
            assert int(props["hil_elements_exact"]) == int(props["hil_elements_compared"]) > 0, props
        checked += 1
    assert checked == 2, (report, checked)
    print(f"{report}: {checked} test cases with board, emulator, build id (and model sha256)")
PYTHON
}
check_junit junit.xml junit-n2.xml

echo "== wheel: package data, hil run, hil train, --firmware-project (${SECONDS} s)"
# every file of the folders setup.py packs, and every non-Python file of harness/ (the YAML the
# code reads at run time), is in the wheel
"$PY" - "$REPO" "$WORK"/dist/*.whl <<'PYTHON'
import subprocess, sys, zipfile
repo, wheel = sys.argv[1:]
folders = {"boards": "boards", "firmware": "firmware", "qemu_plugin": "tools/qemu_plugin", "models": "models"}
tracked = subprocess.run(["git", "-C", repo, "ls-files"], capture_output=True, text=True, check=True).stdout.split()
want = {p for p in tracked if p.startswith("harness/") and not p.endswith((".py", ".keep"))}
for name, folder in folders.items():
    want |= {f"harness/_data/{name}/{p[len(folder) + 1:]}" for p in tracked if p.startswith(folder + "/")}
missing = sorted(want - set(zipfile.ZipFile(wheel).namelist()))
assert not missing, f"not in the wheel: {missing[:10]}"
print(f"{len(want)} data files in the wheel")
PYTHON
find "$SITE" -type f ! -name '*.pyc' | sort > "$WORK/site-before.txt"
HELLO="$HIL_SHARED_MODELS/tflm_examples/hello_world_int8.tflite"
HIL="$WORK/venv/bin/hil"
"$HIL" run --board nucleo_f746 --emulator qemu --model "$HELLO" --inputs 2 --json |
    "$PY" -c 'import json, sys; r = json.load(sys.stdin); assert r["passed"] and r["compared_elements"] == r["exact_elements"] > 0, r'
"$HIL" train --board nucleo_f746 --emulator qemu --task toy --steps 3 --json |
    "$PY" -c 'import json, sys; r = json.load(sys.stdin); assert r["losses_bit_exact"] == r["steps"] == 3, r'
cp -r "$REPO/examples/user_firmware" "$WORK/my_firmware"   # a user's project, outside the repository
"$HIL" run --board nucleo_f746 --emulator qemu --firmware-project "$WORK/my_firmware" --model "$HELLO" --json |
    "$PY" -c 'import json, sys; r = json.load(sys.stdin); assert r["passed"] and r["compared_elements"] == r["exact_elements"] > 0, r'
if [ -e "$WORK/my_firmware/.pio" ]; then echo "the user firmware build wrote into its project" >&2; exit 1; fi
find "$SITE" -type f ! -name '*.pyc' | sort | diff "$WORK/site-before.txt" - >&2 ||
    { echo "the runs above wrote into site-packages ($SITE)" >&2; exit 1; }
if find "$SITE" -name .pio -o -name firmware.elf | grep -q .; then
    echo "a firmware build landed in site-packages ($SITE)" >&2; exit 1
fi
ls "$HIL_BUILD_DIR"/firmware/*/nucleo_f746_qemu/.pio/build/nucleo_f746_qemu/firmware.elf >/dev/null
ls "$HIL_BUILD_DIR"/projects/my_firmware-*/build/nucleo_f746_qemu/firmware.elf >/dev/null

echo "== wheel: beside pytest-embedded (${SECONDS} s)"
"$PY" -m pip install -q pytest-embedded pytest-embedded-serial
"$PY" -m pytest --help > help.txt
grep -q -- "--hil-port" help.txt && grep -q -- "--embedded-services" help.txt && grep -q -- "--port=PORT" help.txt
# no -W error here: pytest-embedded's own autouse fixture calls record_xml_attribute, which warns
"$PY" -m pytest -q -p no:cacheprovider --board=nucleo_f746 --emulator=qemu --junitxml=junit-embedded.xml
check_junit junit-embedded.xml
echo "== wheel: ok (${SECONDS} s)"

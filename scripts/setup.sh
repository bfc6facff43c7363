#!/usr/bin/env bash
# Installs what the harness needs on a Debian/Ubuntu machine; safe to run again (it skips what
# is there). System packages: the ARM and AVR toolchains, QEMU, socat and ser2net (the loopback
# labgrid farm), Chromium (checks that the HTML report renders), clang-format (scripts/lint.sh). Python: the harness itself,
# editable, with its test extras, into the active Python environment.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(gcc gcc-arm-none-eabi libnewlib-arm-none-eabi gcc-avr avr-libc qemu-system-arm qemu-system-misc socat ser2net chromium clang-format)

missing=()
for package in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

python3 -m pip install -q --disable-pip-version-check -e '.[dev]'
# pyserial and labgrid's fork of it (pyserial-labgrid) both install the `serial` package; the fork
# must win: its RFC 2217 client does not renegotiate the port at every timeout change.
python3 -c 'import importlib.metadata as m, serial, sys; sys.exit(serial.__version__ != m.version("pyserial-labgrid"))' 2>/dev/null \
    || python3 -m pip install -q --disable-pip-version-check --no-deps --force-reinstall pyserial-labgrid
echo "setup: done"

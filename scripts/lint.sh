#!/usr/bin/env bash
# Style and type checks, as CI runs them (.ci/run): ruff (lint and format, pyproject.toml),
# mypy on harness/ ([tool.mypy]) and clang-format on the firmware's C (firmware/.clang-format).
# Checks only; scripts/format.sh applies the formatters. Exit status non-zero when any check fails.
set -uo pipefail
cd "$(dirname "$0")/.."
status=0
step() {  # step LABEL COMMAND...: runs COMMAND, remembers a failure, goes on
    echo "== $1"
    shift
    "$@" || status=1
}
# The firmware's C sources, without generated headers (they say "Do not edit": their generator's
# output is what the staleness tests compare).
c_sources() {
    git ls-files 'firmware/*.c' 'firmware/*.h' | while read -r file; do
        head -5 "$file" | grep -q "Do not edit" || echo "$file"
    done
}
step "ruff check" python3 -m ruff check .
step "ruff format --check" python3 -m ruff format --check .
step "mypy harness" python3 -m mypy harness
mapfile -t sources < <(c_sources)
step "clang-format --dry-run (${#sources[@]} firmware files)" clang-format --dry-run -Werror "${sources[@]}"
exit $status

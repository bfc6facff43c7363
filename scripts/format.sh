#!/usr/bin/env bash
# Applies the formatters whose checks scripts/lint.sh runs: ruff format on the Python,
# clang-format on the firmware's C (generated headers excepted). Rewrites files in place.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m ruff format .
git ls-files 'firmware/*.c' 'firmware/*.h' | while read -r file; do
    head -5 "$file" | grep -q "Do not edit" || echo "$file"
done | xargs clang-format -i

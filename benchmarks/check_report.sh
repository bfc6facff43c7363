#!/usr/bin/env bash
# Renders a `hil report` HTML file in headless Chromium and checks the screenshot is non-blank
# and shows the SVG charts. Usage: benchmarks/check_report.sh REPORT.html [SCREENSHOT.png]
# Exit 0: fine; 1: blank or no charts; 77: Chromium not installed (skipped; apt-get install chromium).
set -euo pipefail
report=${1:?usage: $0 REPORT.html [SCREENSHOT.png]}
screenshot=${2:-${report%.html}.png}
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [[ -z "$browser" ]]; then
    echo "skipped: no chromium on PATH (apt-get install chromium)" >&2
    exit 77
fi
[[ -f "$report" ]] || { echo "no such report: $report" >&2; exit 2; }
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
"$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$profile" \
    --window-size=1100,2400 --screenshot="$screenshot" "file://$(realpath "$report")" >/dev/null 2>&1
cd "$(dirname "$0")/.."
python -m tests.support.png_check "$screenshot"

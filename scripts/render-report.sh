#!/bin/sh
# Renders a bug-report bundle's report.html to a PNG with headless Chromium, to look at the design
# (ladder diagrams, print layout) the way a browser shows it. Not needed by the test suite.
#
#   scripts/render-report.sh BUNDLE_DIR|report.html [out.png] [width] [height]
#   PRINT=1 scripts/render-report.sh BUNDLE_DIR out.pdf      # print to PDF instead (checks the print CSS)
#
# Install once on Debian/Ubuntu: apt-get install -y chromium
set -eu
input=${1:?usage: scripts/render-report.sh BUNDLE_DIR|report.html [out.png] [width] [height]}
[ -d "$input" ] && input="$input/report.html"
[ -f "$input" ] || { echo "render-report: no such file: $input" >&2; exit 2; }
out=${2:-${input%.html}.png}
width=${3:-1100}
height=${4:-2400}
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$browser" ]; then
    echo "render-report: chromium is not installed (apt-get install -y chromium); skipping" >&2
    exit 0
fi
abs=$(cd "$(dirname "$input")" && pwd)/$(basename "$input")
case "$out" in /*) ;; *) out=$(pwd)/$out ;; esac
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
common="--headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir=$profile --no-first-run"
if [ "${PRINT:-0}" = 1 ]; then
    # shellcheck disable=SC2086
    "$browser" $common --no-pdf-header-footer --print-to-pdf="$out" "file://$abs" >/dev/null 2>&1
else
    # shellcheck disable=SC2086
    "$browser" $common --window-size="$width,$height" --screenshot="$out" "file://$abs" >/dev/null 2>&1
fi
[ -s "$out" ] || { echo "render-report: $browser wrote nothing" >&2; exit 1; }
echo "$out"

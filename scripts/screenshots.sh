#!/usr/bin/env bash
# Screenshots of the sample portals, desktop (1280 px) and phone (390 px), for people
# to look at: scripts/screenshots.sh [site dir] [out dir]. Needs Debian's chromium.
# Output goes to target/screenshots/ (not committed).
set -euo pipefail
site=$(realpath "${1:-site}")
out=${2:-target/screenshots}
mkdir -p "$out"
out=$(realpath "$out")
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
pages=(
  clients/brightwater/index.html
  clients/brightwater/2026-09/index.html
  clients/brightwater/2026-09/invoice.html
  clients/brightwater/2026-09/account.html
  clients/brightwater/2026-09/checklist.html
  clients/brightwater/2026-08/lines/bw-display-cpm.html
  clients/helios/2026-09/lines/hel-social-cpm.html
  agency/index.html
  agency/2026-10/index.html
)
for page in "${pages[@]}"; do
  name=$(echo "$page" | tr '/' '_' | sed 's/\.html$//')
  for width in 1280 390; do
    chromium --headless --no-sandbox --disable-gpu --no-first-run \
      --disable-background-networking --disable-component-update --disable-sync \
      --hide-scrollbars --user-data-dir="$profile" --window-size="$width,2600" \
      --screenshot="$out/$name-$width.png" "file://$site/$page" >/dev/null 2>&1
  done
done
echo "screenshots in $out"

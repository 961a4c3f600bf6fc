#!/usr/bin/env bash
# Incremental builds (issue 10/10, item 4): a `small`-sized agency over 12 periods with
# the first 11 sealed, against the same agency's open period alone. Prints the median
# of N builds of each (alternating) and their ratio; the target is <= 1.2x. The times
# of every pair are kept in target/bench-incremental/times.
#
#   bench/incremental.sh [runs]        (default 3)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
cargo build -q --release --bin tallyseal --example synth
bin=target/release/tallyseal
work=target/bench-incremental
rm -rf "$work" && mkdir -p "$work"
target/release/examples/synth --size small --periods 12 --out "$work/twelve" >/dev/null
periods=$(ls "$work/twelve/periods")
last=$(echo "$periods" | tail -1)
for p in $(echo "$periods" | head -11); do
  "$bin" seal "$work/twelve" "$p" >/dev/null
done
# The open period alone: the same project without the sealed periods.
cp -r "$work/twelve" "$work/alone"
for p in $(echo "$periods" | head -11); do rm -rf "$work/alone/periods/$p"; done
rm -rf "$work/alone/.tallyseal"
# Fill the cache: the first build stamps the stores and the site's copies of their
# bundles; a stamp is trusted only of what was over a second old when it was taken, so
# a second build a second later stamps the site's copies again, for good.
"$bin" build "$work/twelve" --out "$work/site" --quiet >/dev/null
sleep 1.1
"$bin" build "$work/twelve" --out "$work/site" --quiet >/dev/null
"$bin" build "$work/alone" --out "$work/site-alone" --quiet >/dev/null
# Flush what generating and sealing wrote, and give this VM's disk half a minute to
# settle, so that their write-back does not land in the runs.
sync
sleep 30
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# Each build starts on a written-back disk (`sync`, untimed): otherwise a build's time
# includes writing back the site the build before it wrote.
total() {
  sync
  "$bin" build "$1" --out "$2" --quiet --timings 2>&1 >/dev/null \
    | awk '$1 == "timing" && $2 == "total" {print $3}'
}
# The two builds alternate, each into its own site, so that a slow spell of this
# machine's disk lands on both alike; the first two pairs, while the disk still writes
# back what generating and sealing wrote, are not timed.
for _ in 1 2; do total "$work/twelve" "$work/site"; total "$work/alone" "$work/site-alone"; done >/dev/null
for _ in $(seq "$runs"); do
  echo "twelve $(total "$work/twelve" "$work/site")"
  echo "alone $(total "$work/alone" "$work/site-alone")"
done >"$work/times"
twelve=$(awk '$1 == "twelve" {print $2}' "$work/times" | median)
alone=$(awk '$1 == "alone" {print $2}' "$work/times" | median)
# The ratio is the median of each pair's own ratio: a pair's two builds ran under the
# same conditions, which medians taken apart do not ensure.
ratio=$(paste - - <"$work/times" | awk '{printf "%.4f\n", $2 / $4}' | median)
echo "periods: 11 sealed + 1 open ($last); rows per period: 100,000; median of $runs"
echo "11 sealed + 1 open: ${twelve} s"
echo "open period alone:  ${alone} s"
awk -v r="$ratio" 'BEGIN {printf "ratio: %.2fx (median of the pairs; target <= 1.2x)\n", r}'

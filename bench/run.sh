#!/usr/bin/env bash
# tallyseal benchmark: bench/run.sh [small|large] [runs]
#
# Generates a synthetic agency (examples/synth.rs) once per size and row order, cached
# under target/bench-data/<size>-<order>, builds tallyseal in release, then times, on the
# same exports and in each run:
#   (a) tallyseal build <project> --out <tmp> --timings --quiet
#   (b) sha256sum over every export           (hashing the bytes, as sealing does)
#   (c) DuckDB reading every export and grouping by (campaign, date) with sums
#   (d) cat of every export to /dev/null      (the floor: reading the bytes)
# and prints a Markdown table of medians (also written to bench/last-run.md).
# See bench/README.md for what each figure means.
#
# Environment: BENCH_ORDERS (default "grouped date"), BENCH_DUCKDB_THREADS (default 0:
# DuckDB's default, every core; 1 for one), BENCH_SEED (default: the preset's), TALLYSEAL (a
# tallyseal binary to measure instead of this tree's release build).
set -euo pipefail

size=${1:-small}
runs=${2:-3}
case $size in small | large) ;; *)
    echo "usage: bench/run.sh [small|large] [runs]" >&2
    exit 2
    ;;
esac
[[ $runs =~ ^[1-9][0-9]*$ ]] || {
    echo "runs must be a positive whole number, not '$runs'" >&2
    exit 2
}
orders=${BENCH_ORDERS:-grouped date}
duck_threads=${BENCH_DUCKDB_THREADS:-0}

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
target=${CARGO_TARGET_DIR:-$root/target}
data_root=$target/bench-data
out_root=$target/bench-out
venv=$target/bench-venv
work=$(mktemp -d "${TMPDIR:-/tmp}/tallyseal-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$data_root" "$out_root"
say() { printf '%s\n' "$*" >&2; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
timed() { # stdout-file stderr-file|- command... -> wall seconds on stdout; fails as the command
    local out=$1 err=$2 t0 t1
    shift 2
    t0=$(date +%s.%N)
    if [[ $err == - ]]; then "$@" >"$out" || return; else "$@" >"$out" 2>"$err" || return; fi
    t1=$(date +%s.%N)
    elapsed "$t0" "$t1"
}

# --- tools ------------------------------------------------------------------------
say "== building tallyseal and the generator (release)"
cargo build --release --quiet --bin tallyseal --example synth
tallyseal=${TALLYSEAL:-$target/release/tallyseal}
synth=$target/release/examples/synth

if [[ ! -x /usr/bin/time ]]; then
    say "== installing GNU time (for peak RSS)"
    if [[ $(id -u) == 0 ]]; then apt-get install -y -qq time >&2 || true; else sudo apt-get install -y -qq time >&2 || true; fi
fi
have_time=0
[[ -x /usr/bin/time ]] && have_time=1

if [[ ! -x $venv/bin/python ]] || ! "$venv/bin/python" -c 'import duckdb' 2>/dev/null; then
    say "== installing DuckDB into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check duckdb
fi
duckdb_version=$("$venv/bin/python" -c 'import duckdb; print(duckdb.__version__)')

# `build --timings --quiet` is being added; use whatever this binary supports.
build_help=$("$tallyseal" build --help)
build_flags=()
grep -q -- '--timings' <<<"$build_help" && build_flags+=(--timings)
grep -q -- '--quiet' <<<"$build_help" && build_flags+=(--quiet)

# --- data ---------------------------------------------------------------------------
generator_hash=$(sha256sum examples/synth.rs | cut -c1-16)
declare -A project gen_seconds
for order in $orders; do
    dir=$data_root/$size-$order
    args=(--size "$size" --order "$order")
    [[ -n ${BENCH_SEED:-} ]] && args+=(--seed "$BENCH_SEED")
    stamp="synth $generator_hash ${args[*]}"
    if [[ -d $dir && -f $dir.done && $(cat "$dir.done") == "$stamp" ]]; then
        say "== data: $dir (cached)"
        gen_seconds[$order]="$(cat "$dir.seconds" 2>/dev/null || echo '?') (cached)"
    else
        say "== generating $dir"
        rm -rf "$dir" "$dir.done" "$dir.seconds" # ours: made by an earlier run of this script
        gen_seconds[$order]=$(timed "$work/synth-$order.txt" - "$synth" "${args[@]}" --out "$dir")
        echo "${gen_seconds[$order]}" >"$dir.seconds"
        echo "$stamp" >"$dir.done"
    fi
    project[$order]=$dir
done

# --- runs ---------------------------------------------------------------------------
raw=$work/raw.tsv # order, metric, run, value
: >"$raw"
sites=() # every run's site, deleted at the end (see "Each run writes a site of its own")
rm -rf "$out_root/$size"-* # ours: sites an interrupted earlier run left

for order in $orders; do
    dir=${project[$order]}
    mapfile -t exports < <(find "$dir/periods" -path '*/exports/*' -type f | LC_ALL=C sort)
    bytes=$(cat "${exports[@]}" | wc -c)
    rows=$(awk -F'|' '$2 ~ /^ all / { gsub(/ /, "", $4); print $4 }' "$dir/README.md")
    printf '%s\tbytes\t0\t%s\n%s\trows\t0\t%s\n%s\texports\t0\t%s\n' \
        "$order" "$bytes" "$order" "$rows" "$order" "${#exports[@]}" >>"$raw"
    printf '%s\tgen_seconds\t0\t%s\n' "$order" "${gen_seconds[$order]}" >>"$raw"
    cat "${exports[@]}" >/dev/null # warm the page cache once: every run reads warm
    for run in $(seq 1 "$runs"); do
        say "== $size/$order: run $run of $runs"
        sync
        s=$(timed /dev/null - cat "${exports[@]}")
        printf '%s\tcat\t%s\t%s\n' "$order" "$run" "$s" >>"$raw"
        s=$(timed /dev/null - sha256sum "${exports[@]}")
        printf '%s\tsha256sum\t%s\t%s\n' "$order" "$run" "$s" >>"$raw"
        read -r _ s duck_rows duck_groups used < <("$venv/bin/python" bench/duckdb_baseline.py "$dir" "$duck_threads")
        printf '%s\tduckdb\t%s\t%s\n%s\tduckdb_groups\t%s\t%s\n%s\tduckdb_threads\t%s\t%s\n' \
            "$order" "$run" "$s" "$order" "$run" "$duck_groups" "$order" "$run" "$used" >>"$raw"

        # Each run writes a site of its own, and all are deleted at the end: on ext4
        # without a journal (this reference machine's disk), a file is not given an
        # inode deleted in the last 1–6 minutes, and each file creation scans past them
        # all, so deleting the previous run's 21,000 files just before made this run's
        # file creations seconds slower (see bench/README.md, "Fairness").
        site=$out_root/$size-$order-$run
        sites+=("$site")
        sync # the previous run's site written back, as every measurement starts
        cmd=("$tallyseal" build "$dir" --out "$site" "${build_flags[@]}")
        if ((have_time)); then cmd=(/usr/bin/time -v -o "$work/time.txt" "${cmd[@]}"); fi
        if ! s=$(timed "$work/build.out" "$work/build.err" "${cmd[@]}"); then
            say "tallyseal build failed:"
            tail -n 20 "$work/build.err" >&2
            exit 1
        fi
        printf '%s\ttallyseal\t%s\t%s\n' "$order" "$run" "$s" >>"$raw"
        if ((have_time)); then
            rss=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$work/time.txt")
            printf '%s\trss_kb\t%s\t%s\n' "$order" "$run" "$rss" >>"$raw"
        fi
        awk -v o="$order" -v r="$run" '$1 == "timing" && NF == 3 { printf "%s\tstage_%s\t%s\t%s\n", o, $2, r, $3 }' \
            "$work/build.err" >>"$raw"
        pages=$(find "$site" -name '*.html' | wc -l)
        proof=$(find "$site/clients" -name '*.proof.json' -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
        clients=$(find "$site/clients" -mindepth 1 -maxdepth 1 -type d | wc -l)
        files=$(find "$site" -type f | wc -l)
        site_bytes=$(du -sb "$site" | cut -f1)
        printf '%s\tpages\t%s\t%s\n%s\tproof_bytes\t%s\t%s\n%s\tclients\t%s\t%s\n%s\tsite_files\t%s\t%s\n%s\tsite_bytes\t%s\t%s\n' \
            "$order" "$run" "$pages" "$order" "$run" "$proof" "$order" "$run" "$clients" \
            "$order" "$run" "$files" "$order" "$run" "$site_bytes" >>"$raw"
    done
done
rm -rf "${sites[@]}"

cpu=$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)
python3 bench/report.py "$raw" \
    --size "$size" --runs "$runs" --flags "${build_flags[*]:-none}" \
    --machine "$(nproc) cores, ${cpu:-unknown CPU}, $(awk '/MemTotal/ { printf "%.0f GB", $2 / 1048576 }' /proc/meminfo)" \
    --duckdb "$duckdb_version" --commit "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" |
    tee bench/last-run.md

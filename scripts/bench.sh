#!/usr/bin/env bash
# make bench: time coroner's full analysis of a generated capture against libpcap's own speed (a C
# read-and-parse loop with a flow table, Benchmarks/floor/floor.c) and, when installed, tshark and
# tcptrace; print medians, ratios and peak memory; check coroner's verdict counts against the counts
# the generator promised. Captures go to /tmp (never committed).
#
#   scripts/bench.sh                 200k connections, 5k concurrent (~450 MB)
#   BIG=1 scripts/bench.sh           also 2M connections, 5k concurrent (~4.5 GB)
#   RUNS=5 SCRATCH=/tmp/b scripts/bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-3}
SCRATCH=${SCRATCH:-.build}
OUT=${OUT:-/tmp}
TSHARK_RUNS=${TSHARK_RUNS:-1}

command -v /usr/bin/time >/dev/null || { echo "installing GNU time"; apt-get install -y time >/dev/null; }

echo "== building (release)"
for product in coroner coroner-gen; do
    swift build -c release --scratch-path "$SCRATCH" --product $product >"$OUT/coroner-bench-build.log" 2>&1 \
        || { cat "$OUT/coroner-bench-build.log"; exit 1; }
done
CORONER="$SCRATCH/release/coroner"
GEN="$SCRATCH/release/coroner-gen"
FLOOR="$OUT/coroner-floor"
cc -O2 -o "$FLOOR" Benchmarks/floor/floor.c -lpcap

echo "== machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), $(free -g | awk '/Mem:/{print $2}') GiB"
echo "   load now: $(cut -d' ' -f1-3 /proc/loadavg)"

# measure RUNS COMMAND...: RUNS runs, prints "median_seconds peak_kib" (peak = max over runs). A run that
# fails (a crash is fast) stops the benchmark: its time is not a figure.
measure() {
    local runs=$1; shift
    local times=() peak=0
    for _ in $(seq "$runs"); do
        if ! /usr/bin/time -f "%e %M" -o "$OUT/coroner-bench.time" "$@" >/dev/null 2>"$OUT/coroner-bench.stderr"; then
            echo "bench: '$*' failed; its stderr (first lines):" >&2
            head -20 "$OUT/coroner-bench.stderr" >&2
            kill -TERM $$  # measure runs in a subshell: stop the script itself
            exit 1
        fi
        read -r t m < <(tail -1 "$OUT/coroner-bench.time")
        times+=("$t")
        (( m > peak )) && peak=$m
    done
    local median
    median=$(printf '%s\n' "${times[@]}" | sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}')
    echo "$median $peak"
}

bench_one() {
    local connections=$1 concurrency=$2
    local capture="$OUT/coroner-bench-$connections.pcap" expected="$OUT/coroner-bench-$connections.expected.json"
    if [[ ! -s $capture || ! -s $expected ]]; then
        echo "== generating $connections connections, $concurrency concurrent -> $capture"
        "$GEN" --connections "$connections" --concurrency "$concurrency" --seed 1 -o "$capture" >"$expected"
    fi
    local packets size
    packets=$(python3 -c "import json;print(json.load(open('$expected'))['packets'])")
    size=$(stat -c %s "$capture")
    echo
    echo "== $capture: $connections connections, $packets packets, $((size / 1048576)) MiB; median of $RUNS runs"

    read -r floor_t floor_m < <(measure "$RUNS" "$FLOOR" "$capture")
    read -r cor_t cor_m < <(measure "$RUNS" "$CORONER" analyze --format json --quiet "$capture")
    read -r cor1_t cor1_m < <(measure "$RUNS" taskset -c 0 "$CORONER" analyze --format json --quiet "$capture")
    rows=("C floor (libpcap + parse + flow table)|$floor_t|$floor_m"
          "coroner analyze --format json (all cores)|$cor_t|$cor_m"
          "coroner analyze --format json (taskset 1 core)|$cor1_t|$cor1_m")
    if command -v tshark >/dev/null && [[ ${SKIP_TSHARK:-0} != 1 ]]; then
        read -r ts_t ts_m < <(measure "$TSHARK_RUNS" tshark -n -q -z conv,tcp -r "$capture")
        rows+=("tshark -q -z conv,tcp|$ts_t|$ts_m")
    fi
    if command -v tcptrace >/dev/null; then
        read -r tt_t tt_m < <(measure "$TSHARK_RUNS" tcptrace -n "$capture")
        rows+=("tcptrace -n|$tt_t|$tt_m")
    else
        rows+=("tcptrace|not installed|")
    fi
    printf '| %-48s | %9s | %14s | %12s | %10s |\n' tool "wall s" "x C floor" "x coroner" "peak MiB"
    printf '|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..50})" "-----------" "----------------" "--------------" "------------"
    for row in "${rows[@]}"; do
        IFS='|' read -r name t m <<<"$row"
        if [[ -z $m ]]; then
            printf '| %-48s | %9s | %14s | %12s | %10s |\n' "$name" "$t" "" "" ""
            continue
        fi
        printf '| %-48s | %9.2f | %14.2f | %12.2f | %10.0f |\n' "$name" "$t" \
            "$(echo "$t / $floor_t" | bc -l)" "$(echo "$t / $cor_t" | bc -l)" "$(echo "$m / 1024" | bc -l)"
    done

    echo
    echo "== verdict counts (coroner vs generator)"
    "$CORONER" analyze --format json --quiet "$capture" >"$OUT/coroner-bench-$connections.json"
    python3 - "$OUT/coroner-bench-$connections.json" "$expected" <<'PY'
import json, sys
got = json.load(open(sys.argv[1]))["summary"]
want = json.load(open(sys.argv[2]))
ok = True
for key in ("by_cause", "by_ending"):
    for name in sorted(set(got[key]) | set(want[key])):
        g, w = got[key].get(name, 0), want[key].get(name, 0)
        flag = "ok" if g == w else "MISMATCH"
        ok &= g == w
        print(f"  {key[3:]:7} {name:24} expected {w:8}  coroner {g:8}  {flag}")
print("verdict counts: " + ("all equal" if ok else "DIFFERENT"))
sys.exit(0 if ok else 1)
PY
}

bench_one 200000 5000
if [[ ${BIG:-0} == 1 ]]; then
    bench_one 2000000 5000
fi

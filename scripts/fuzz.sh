#!/usr/bin/env bash
# Builds and runs coroner's libFuzzer targets (Fuzz/, a nested package) with AddressSanitizer.
#
#   scripts/fuzz.sh --ci                 build, replay the regression inputs, fuzz each target 25 s (CI)
#   scripts/fuzz.sh                      long run: each target until stopped (Ctrl-C), or see --time/--runs
#   scripts/fuzz.sh --time 3600          each target for an hour (targets run side by side)
#   scripts/fuzz.sh --runs 5000000       each target for that many executions
#   scripts/fuzz.sh --target FrameFuzzer -- -jobs=4   one target, extra libFuzzer flags after --
#   scripts/fuzz.sh --no-asan --runs 5000000   without AddressSanitizer: ~4x the executions per second
#       (Swift's own traps still fire); replay the grown corpus with ASan afterwards: --replay
#   scripts/fuzz.sh --replay             run every corpus input once under ASan (no fuzzing)
#
# Targets: FrameFuzzer (bytes -> frames -> decode, track, diagnose, render) and CaptureFileFuzzer
# (bytes -> capture file -> CaptureFileReader -> the same pipeline). Seeds come from captures/ and
# ../shared/corpus/ (scripts/extract-seeds); the corpus grows in Fuzz/corpus/<target>/ and crashing
# inputs land in Fuzz/artifacts/. A crash makes this script exit 1 and print the input's path: copy it
# to Tests/RobustnessTests/Regressions/<target>/ (the tests replay it) and fix the code.
# Environment: FUZZ_SCRATCH (build dir, default /tmp/build-fuzz), FUZZ_WORK (default Fuzz/).
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
scratch=${FUZZ_SCRATCH:-/tmp/build-fuzz}
work=${FUZZ_WORK:-$root/Fuzz}
targets=(FrameFuzzer CaptureFileFuzzer)
time=0
runs=-1
ci=0
sanitizers=fuzzer,address
replay=0
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --ci) ci=1; time=25 ;;
    --time) time=$2; shift ;;
    --runs) runs=$2; shift ;;
    --target) targets=("$2"); shift ;;
    --no-asan) sanitizers=fuzzer; scratch=${FUZZ_SCRATCH:-/tmp/build-fuzz-noasan} ;;
    --replay) replay=1 ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "fuzz.sh: unknown option $1 (see --help)" >&2; exit 64 ;;
  esac
  shift
done

echo "fuzz.sh: building the fuzzers (release, -sanitize=$sanitizers) in $scratch" >&2
if ! swift build -c release --package-path Fuzz --scratch-path "$scratch" --sanitize=fuzzer \
    -Xswiftc -sanitize=$sanitizers -Xswiftc -parse-as-library 2>&1 | grep -v "Cannot export local symbol" >&2; then
  true
fi
bin=$(swift build -c release --package-path Fuzz --scratch-path "$scratch" --show-bin-path)
for target in "${targets[@]}"; do
  [ -x "$bin/$target" ] || { echo "fuzz.sh: build failed ($bin/$target missing)" >&2; exit 2; }
done

python3 scripts/extract-seeds --out "$work/seeds" >&2 || exit 2
declare -A seeds=([FrameFuzzer]=frames [CaptureFileFuzzer]=capture-files)
declare -A maxlen=([FrameFuzzer]=4096 [CaptureFileFuzzer]=8192)
# malloc_context_size=0: no stack per allocation (2x faster; reports still name the faulting access).
export ASAN_OPTIONS=${ASAN_OPTIONS:-malloc_context_size=0:detect_leaks=0}
# Swift's backtracer would catch a trap (SIGILL) first and exit before libFuzzer saves the input.
export SWIFT_BACKTRACE=enable=no
status=0
pids=()
for target in "${targets[@]}"; do
  corpus="$work/corpus/$target"
  mkdir -p "$corpus" "$work/artifacts"
  regressions="$root/Tests/RobustnessTests/Regressions/$target"
  if [ -d "$regressions" ] && [ -n "$(ls -A "$regressions")" ]; then
    echo "fuzz.sh: $target: replaying $regressions" >&2
    "$bin/$target" -runs=1 "$regressions"/* >"$work/artifacts/$target-replay.log" 2>&1 || {
      echo "fuzz.sh: $target crashed on a regression input; see $work/artifacts/$target-replay.log" >&2
      status=1
    }
  fi
  flags=(-print_final_stats=1 -max_len="${maxlen[$target]}" -timeout=10 -rss_limit_mb=3072
    -artifact_prefix="$work/artifacts/$target-")
  [ "$replay" = 1 ] && flags+=(-runs=0)
  [ "$time" -gt 0 ] && flags+=(-max_total_time="$time")
  [ "$runs" -ge 0 ] && flags+=(-runs="$runs")
  log="$work/artifacts/$target.log"
  echo "fuzz.sh: $target: fuzzing (log: $log)" >&2
  "$bin/$target" "${flags[@]}" "${extra[@]}" "$corpus" "$work/seeds/${seeds[$target]}" >"$log" 2>&1 &
  pids+=($!)
done
total=0
for i in "${!targets[@]}"; do
  target=${targets[$i]}
  log="$work/artifacts/$target.log"
  if ! wait "${pids[$i]}"; then
    status=1
    echo "fuzz.sh: $target FOUND A CRASH:" >&2
    grep -E "ERROR|Fatal error|SUMMARY|Test unit written to" "$log" | head -10 >&2
  fi
  count=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
  echo "fuzz.sh: $target: ${count:-0} executions" >&2
  total=$((total + ${count:-0}))
done
echo "fuzz.sh: total executions: $total" >&2
exit $status

#!/usr/bin/env bash
# The main job: builds qk (Release) and runs the benchmark suite, then prints a table of GOPS
# (median of the repetitions) per layer of bench/conv-shapes.tsv and per ISA, with geometric
# means. Installs what it needs with apt-get (Debian 12) on first use.
# Usage: ci/bench.sh [--quick] [--filter REGEX] [--repetitions N] [--out DIR]
#   --quick          one short repetition per benchmark (about a minute)
#   --filter REGEX   Google Benchmark filter on conv/<shape>/<isa>, e.g. 'conv/r18.*/generic'
#   --repetitions N  repetitions per benchmark (default 5; the table shows the median)
#   --out DIR        where to write the JSON and the table (default bench/results/<date>-<cpu>)
set -euo pipefail
cd "$(dirname "$0")/.."
source ci/common.sh

reps=5 min_time=0.5 filter="." out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) reps=1 min_time=0.1 ;;
    --filter) filter=${2:?--filter needs a regex}; shift ;;
    --repetitions) reps=${2:?--repetitions needs a number}; shift ;;
    --out) out=${2:?--out needs a directory}; shift ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "ci/bench.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

qk_ensure_packages "${QK_BUILD_PACKAGES[@]}" python3
qk_log "Release build"
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DQK_BUILD_TESTS=OFF >/dev/null
cmake --build build-bench -j"$(qk_jobs)" --target qk-bench

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1 | tr -c 'A-Za-z0-9' '-' |
      tr -s '-' | sed 's/-$//')
[ -n "$out" ] || out="bench/results/$(date +%Y-%m-%d)-${cpu:-unknown-cpu}"
mkdir -p "$out"
qk_log "running qk-bench ($reps repetitions, filter '$filter'); results in $out"
./build-bench/bench/qk-bench --benchmark_filter="$filter" \
  --benchmark_repetitions="$reps" --benchmark_min_time="$min_time" \
  --benchmark_report_aggregates_only="$([ "$reps" -gt 1 ] && echo true || echo false)" \
  --benchmark_out="$out/qk-bench.json" --benchmark_out_format=json \
  --benchmark_counters_tabular=true
python3 tools/bench_table.py "$out/qk-bench.json" | tee "$out/table.md"

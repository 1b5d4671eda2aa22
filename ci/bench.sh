#!/usr/bin/env bash
# qk's benchmark suite in one command: builds qk-bench (Release), sets up the peers (oneDNN,
# XNNPACK, ONNX Runtime), runs qk's conv2d on every layer of bench/conv-shapes.tsv for every ISA
# this CPU runs, the peers on the same data, the GEMM microkernels and each ISA's peak, and prints
# the table. Writes qk-bench.json (Google Benchmark), table.md and plot.png into
# bench/results/<date>-<cpu>/ and, after a full run, the table into docs/performance.md.
# Installs what it needs with apt-get (Debian 12) and npm; a peer that cannot be set up is shown
# as n/a with the reason. docs/performance.md explains everything.
#
# Usage: ci/bench.sh [options]
#   --quick             about a minute: 1 repetition, 1 thread, default numerics mode, 2 GEMM sizes
#   --compare OLD.json  after the run, per-benchmark change against OLD.json (regressions > 5 %)
#   --filter REGEX      Google Benchmark regex on names: conv/<shape>/<impl>[/mode:..], gemm/<MxNxK>/<isa>, peak/<isa>
#   --shape REGEX       only layers matching (e.g. 'r18_l1|mv2_dw')   } combined with each other,
#   --impl REGEX        only these qk ISAs / peers (e.g. 'avx512vnni|onednn|ort')   } not with --filter
#   --peers LIST        all (default), none, or e.g. onednn,xnnpack,ort (also skips their setup)
#   --threads LIST      e.g. 1 (default: 1,2 once qk has threads and the machine 2 CPUs, else 1)
#   --repetitions N     repetitions per benchmark, the table shows the median (default 5)
#   --min-time S        minimum seconds per repetition (default 0.05)
#   --out DIR           results directory (default bench/results/<date>-<cpu>[-quick|-partial])
#   --build-dir DIR     build directory (default build-bench, or $QK_BENCH_BUILD_DIR)
#   --no-docs           do not update docs/performance.md
# Environment: QK_BENCH_NO_INSTALL=1 never runs apt-get/npm (missing peers are shown as n/a);
# QK_BENCH_CMAKE_ARGS="..." extra CMake arguments (e.g. -DCMAKE_PREFIX_PATH=...).
set -euo pipefail
cd "$(dirname "$0")/.."
source ci/common.sh

t_start=$(date +%s)
reps=5 min_time=0.05 quick=0 filter="" shape="" impl="" peers=all threads="" out="" compare=""
build_dir=${QK_BENCH_BUILD_DIR:-build-bench} docs=1
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --compare) compare=${2:?--compare needs a JSON file}; shift ;;
    --filter) filter=${2:?--filter needs a regex}; shift ;;
    --shape) shape=${2:?--shape needs a regex}; shift ;;
    --impl) impl=${2:?--impl needs a regex}; shift ;;
    --peers) peers=${2:?--peers needs a list}; shift ;;
    --threads) threads=${2:?--threads needs a list}; shift ;;
    --repetitions) reps=${2:?--repetitions needs a number}; shift ;;
    --min-time) min_time=${2:?--min-time needs seconds}; shift ;;
    --out) out=${2:?--out needs a directory}; shift ;;
    --build-dir) build_dir=${2:?--build-dir needs a directory}; shift ;;
    --no-docs) docs=0 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "ci/bench.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
if [ -n "$compare" ] && [ ! -f "$compare" ]; then
  echo "ci/bench.sh: --compare: no such file $compare" >&2
  exit 2
fi
if [ "$quick" = 1 ]; then
  reps=1 min_time=0.05
fi
if [ -n "$filter" ] && { [ -n "$shape" ] || [ -n "$impl" ]; }; then
  echo "ci/bench.sh: use either --filter or --shape/--impl" >&2
  exit 2
fi
if [ -z "$filter" ] && { [ -n "$shape" ] || [ -n "$impl" ]; }; then
  # --shape matches anywhere in the layer name, --impl at the start of the implementation name
  # ('onednn' = every oneDNN cap, 'avx2' = qk avx2 only).
  s="[^/]*(${shape:-.})[^/]*" i="(${impl:-.})[^/]*"
  filter="^conv/${s}/${i}(/|\$)"
  # GEMM microkernels and peaks follow the ISA part of --impl, and only when no --shape is given.
  [ -z "$shape" ] && filter="${filter}|^(gemm/[^/]+|peak)/${i}(/|\$)"
fi
peer_on() { [ "$peers" = all ] || [[ ",$peers," == *",$1,"* ]]; }

# ---- packages: the build, then each peer (best effort: a peer that cannot be installed is n/a) ----
apt_updated=0
declare -A unavailable=()
install_missing() {  # install_missing PEER pkg...: 0 when everything is installed afterwards
  local peer=$1; shift
  local missing=() pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" ||
      missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "${QK_BENCH_NO_INSTALL:-0}" = 1 ]; then
    qk_log "not installing for $peer (QK_BENCH_NO_INSTALL=1): ${missing[*]}"
    unavailable[$peer]="not installed: ${missing[*]}"
    return 0
  fi
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  if [ "$apt_updated" = 0 ]; then
    qk_log "apt-get update"
    $sudo apt-get update -qq || true
    apt_updated=1
  fi
  qk_log "installing for $peer: ${missing[*]}"
  if ! $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; then
    unavailable[$peer]="could not apt-get install ${missing[*]}"
    return 1
  fi
}
install_missing qk "${QK_BUILD_PACKAGES[@]}" python3 python3-numpy ||
  { echo "ci/bench.sh: ${unavailable[qk]}" >&2; exit 1; }
install_missing plot python3-matplotlib || true
if peer_on onednn; then install_missing oneDNN libdnnl-dev || true; fi
if peer_on xnnpack; then install_missing XNNPACK libxnnpack-dev libpthreadpool-dev || true; fi

# ONNX Runtime: the CPU library of the npm package onnxruntime-node (lockfile: bench/ort/),
# models made with Debian's python3-onnx. Node and npm: whatever is installed (e.g. nodesource's),
# else Debian's nodejs 18 + npm 9.
ort_reason=""
if peer_on ort; then
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    install_missing "ONNX Runtime" nodejs npm || true
  fi
  install_missing "ONNX Runtime" python3-onnx || true
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    ort_reason="node/npm not available (${unavailable["ONNX Runtime"]:-apt-get install nodejs npm})"
  elif ! /usr/bin/python3 -c "import onnx" 2>/dev/null; then
    ort_reason="python3-onnx not available (${unavailable["ONNX Runtime"]:-apt-get install python3-onnx})"
  else
    want=$(sed -n 's/.*"onnxruntime-node": "\(.*\)".*/\1/p' bench/ort/package.json | head -1)
    have=$(cd bench/ort && node -p "require('onnxruntime-node/package.json').version" 2>/dev/null || true)
    if [ "$have" != "$want" ] && [ "${QK_BENCH_NO_INSTALL:-0}" = 1 ]; then
      ort_reason="onnxruntime-node $want not installed in bench/ort (QK_BENCH_NO_INSTALL=1)"
    elif [ "$have" != "$want" ]; then
      qk_log "npm ci onnxruntime-node@$want (bench/ort, ~290 MB, once)"
      if ! (cd bench/ort && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error); then
        ort_reason="npm ci of onnxruntime-node $want failed in bench/ort"
      fi
    fi
    if [ -z "$ort_reason" ] &&
       ! err=$(cd bench/ort && node -e "require('onnxruntime-node')" 2>&1 | tail -1); then
      ort_reason="onnxruntime-node does not load with node $(node --version): $err"
    fi
  fi
  [ -n "$ort_reason" ] && qk_log "ONNX Runtime unavailable: $ort_reason"
fi

# ---- build ----
qk_log "Release build of qk-bench in $build_dir"
# shellcheck disable=SC2086  # QK_BENCH_CMAKE_ARGS is a list of arguments
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DQK_BUILD_TESTS=OFF -DQK_BUILD_CLI=OFF \
  ${QK_BENCH_CMAKE_ARGS:-} >"$build_dir.cmake.log" 2>&1 || { cat "$build_dir.cmake.log"; exit 1; }
grep -E "qk: ISA|qk-bench:" "$build_dir.cmake.log" | sed 's/^-- /   /' >&2 || true
rm -f "$build_dir.cmake.log"
cmake --build "$build_dir" -j"$(qk_jobs)" --target qk-bench 2>&1 |
  grep -vE "^\[ *[0-9]+%\] (Building|Linking|Built target)|^(make|gmake)(\[[0-9]+\])?: " || true
bench="$build_dir/bench/qk-bench"
[ -x "$bench" ] || { echo "ci/bench.sh: build failed" >&2; exit 1; }

ort_models="$build_dir/ort-models"
if peer_on ort && [ -z "$ort_reason" ]; then
  rm -rf "$ort_models"
  if ! "$bench" --export_ort="$ort_models" >/dev/null ||
     ! err=$(/usr/bin/python3 tools/bench_ort_models.py "$ort_models" 2>&1); then
    ort_reason="could not build the ONNX models: $(echo "$err" | tail -1)"
  fi
fi

# ---- run ----
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
[ -n "$cpu" ] || cpu=$(lscpu 2>/dev/null | sed -n 's/^Model name:[[:space:]]*//p' | head -1)
slug=$(echo "${cpu:-unknown-cpu}" | tr -c 'A-Za-z0-9' '-' | tr -s '-' | sed 's/^-//; s/-$//')
suffix=""
[ "$quick" = 1 ] && suffix="-quick"
[ -z "$suffix" ] && { [ -n "$filter" ] || [ "$peers" != all ] || [ -n "$threads" ]; } && suffix="-partial"
[ -n "$out" ] || out="bench/results/$(date +%Y-%m-%d)-${slug}${suffix}"
mkdir -p "$out"
args=(--peers="$peers" --ort_models="$ort_models"
      --ort_worker="$PWD/bench/ort/ort_worker.js" --tmp_dir="${TMPDIR:-/tmp}"
      --context=cpu_model="${cpu:-unknown}"
      --context=git_commit="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(
        git diff --quiet HEAD -- 2>/dev/null || echo ' (with uncommitted changes)')"
      --context=onednn_package="$(dpkg-query -W -f='${Version}' libdnnl-dev 2>/dev/null || echo none)"
      --context=xnnpack_package="$(dpkg-query -W -f='${Version}' libxnnpack-dev 2>/dev/null || echo none)"
      --context=node="$(node --version 2>/dev/null || echo none)"
      --context=load_avg_at_start="$(cut -d' ' -f1-3 /proc/loadavg)")
[ -n "$threads" ] && args+=(--threads="$threads")
[ -n "$ort_reason" ] && args+=(--ort_unavailable="$ort_reason")
[ "$quick" = 1 ] && args+=(--quick --modes=0)
[ "$quick" = 1 ] && [ -z "$threads" ] && args+=(--threads=1)
qk_log "cpu: ${cpu:-unknown} ($(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg))"
qk_log "running qk-bench: $reps repetition(s) x ${min_time}s, filter '${filter:-all}'; results in $out"
"$bench" "${args[@]}" --benchmark_filter="${filter:-.}" \
  --benchmark_repetitions="$reps" --benchmark_min_time="$min_time" \
  --benchmark_report_aggregates_only="$([ "$reps" -gt 1 ] && echo true || echo false)" \
  --benchmark_out="$out/qk-bench.json" --benchmark_out_format=json

# ---- report ----
python3 tools/bench_table.py "$out/qk-bench.json" >"$out/table.md"
if /usr/bin/python3 -c "import matplotlib" 2>/dev/null; then
  /usr/bin/python3 tools/bench_plot.py "$out/qk-bench.json" "$out/plot.png" >/dev/null
else
  echo "(no plot: python3-matplotlib not available)" >&2
fi
echo
cat "$out/table.md"
echo
if [ "$docs" = 1 ] && [ -z "$suffix" ] && [ "$reps" -ge 5 ]; then
  python3 tools/bench_docs.py docs/performance.md "$out"
fi
if [ -n "$compare" ]; then
  qk_log "change against $compare"
  python3 tools/bench_compare.py "$compare" "$out/qk-bench.json"
fi
qk_log "done in $(( $(date +%s) - t_start )) s: $out/{qk-bench.json,table.md,plot.png}"

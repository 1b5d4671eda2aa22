# Shared by ci/test.sh and ci/bench.sh: install what is missing with apt-get, once.
# Usage: qk_ensure_packages pkg...   (checks dpkg first; apt-get update only when something is missing)

qk_log() { printf '\033[1m== %s\033[0m\n' "$*" >&2; }

qk_ensure_packages() {
  local missing=()
  for pkg in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$pkg")
    fi
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  qk_log "installing: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Packages every build needs.
QK_BUILD_PACKAGES=(build-essential cmake pkg-config libcpuinfo-dev libcjson-dev libgtest-dev
                   libgmock-dev libbenchmark-dev)

qk_jobs() { nproc 2>/dev/null || echo 2; }

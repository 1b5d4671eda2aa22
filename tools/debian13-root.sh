#!/usr/bin/env bash
# Makes (once) and enters a Debian 13 ("trixie") root beside this Debian 12 machine, with the
# frameworks users run today: PyTorch 2.6 (onednn engine = oneDNN 3.7, qnnpack), torchvision 0.21,
# ONNX Runtime 1.21, oneDNN 3.7 and XNNPACK 2024-11 development packages. Golden-data generators
# (tools/golden/) and the current benchmark peers (ci/bench.sh --peers current) run inside it.
#
# Usage: tools/debian13-root.sh [--print-root] [-- COMMAND...]
#   (no command)     make the root if needed and print its path
#   -- COMMAND...    run COMMAND inside the root (bash -c), with the project mounted at /qk
# Environment: QK_DEBIAN13_ROOT (default /var/cache/qk/debian13). Needs root (debootstrap, chroot,
# mount). The root is outside the repository and reused once complete (marker file .qk-complete);
# nothing in CI depends on it: the golden files it produces are committed.
set -euo pipefail
root=${QK_DEBIAN13_ROOT:-/var/cache/qk/debian13}
project=$(cd "$(dirname "$0")/.." && pwd)
packages=(python3-torch python3-torchvision python3-numpy python3-onnxruntime python3-onnx
          libdnnl-dev libxnnpack-dev libpthreadpool-dev libcpuinfo-dev build-essential cmake
          pkg-config)

log() { printf '\033[1m== %s\033[0m\n' "$*" >&2; }

make_root() {
  [ -f "$root/.qk-complete" ] && return 0
  [ "$(id -u)" -eq 0 ] || { echo "tools/debian13-root.sh: making the root needs root" >&2; exit 1; }
  command -v debootstrap >/dev/null || {
    log "installing debootstrap"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null ||
      { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null; }
  }
  # The mirror apt already uses on this machine: never a hard-coded host.
  local mirror
  mirror=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
  [ -n "$mirror" ] || mirror=$(awk '/^deb /{print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
  [ -n "$mirror" ] || { echo "tools/debian13-root.sh: no apt mirror configured" >&2; exit 1; }
  log "debootstrap trixie into $root (mirror $mirror; 2-3 GB, a few minutes)"
  mkdir -p "$root"
  if [ ! -x "$root/bin/bash" ]; then
    debootstrap --variant=minbase trixie "$root" "$mirror" >"$root.debootstrap.log" 2>&1 ||
      { echo "debootstrap failed, see $root.debootstrap.log" >&2; exit 1; }
  fi
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  log "installing PyTorch 2.6, ONNX Runtime 1.21, oneDNN 3.7, XNNPACK in the root"
  with_mounts chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
    DEBIAN_FRONTEND=noninteractive /bin/bash -c \
    "apt-get update -qq && apt-get install -y -qq --no-install-recommends ${packages[*]} >/dev/null"
  touch "$root/.qk-complete"
}

mounted=()
unmount_all() {
  local i
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount "${mounted[$i]}" 2>/dev/null || true; done
}
trap unmount_all EXIT

# torch and oneDNN read /proc/cpuinfo; the project is bind-mounted at /qk.
with_mounts() {
  if ! mountpoint -q "$root/proc"; then mount -t proc proc "$root/proc"; mounted+=("$root/proc"); fi
  if ! mountpoint -q "$root/dev"; then mount --bind /dev "$root/dev"; mounted+=("$root/dev"); fi
  if [ -d /dev/pts ] && ! mountpoint -q "$root/dev/pts"; then
    mount --bind /dev/pts "$root/dev/pts" && mounted+=("$root/dev/pts")
  fi
  mkdir -p "$root/qk"
  if ! mountpoint -q "$root/qk"; then mount --bind "$project" "$root/qk"; mounted+=("$root/qk"); fi
  "$@"
}

if [ "${1:-}" = "--" ]; then
  shift
  make_root
  with_mounts chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
    OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}" /bin/bash -c "cd /qk && $*"
else
  make_root
  echo "$root"
fi

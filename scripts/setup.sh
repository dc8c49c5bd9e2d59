#!/usr/bin/env bash
# Installs what the project needs on Debian 12 (only the packages that are
# missing) and builds it into ./build.  Idempotent: a second run only
# rebuilds what changed.  Set MOBILECLIP_BUILD_DIR to build elsewhere.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${MOBILECLIP_BUILD_DIR:-$here/build}

packages=(
  gcc pkg-config meson ninja-build
  libglib2.0-dev libcjson-dev zlib1g-dev
  liborc-0.4-dev liborc-0.4-dev-bin
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-tools gstreamer1.0-libav
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
fi

if [ ! -f "$build/build.ninja" ]; then
  meson setup "$build" "$here" --buildtype=release >&2
fi
ninja -C "$build" >&2

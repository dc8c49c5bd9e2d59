#!/usr/bin/env bash
# Fetches the real test video (cockatoo.mp4, H.264 footage that Debian's
# python3-imageio package ships) into a test data folder without installing
# the package: `apt-get download` + `dpkg -x`.  Idempotent.
#   scripts/fetch-test-media.sh [DEST]     (default: tests/data)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dest=${1:-$here/tests/data}
video=$dest/cockatoo.mp4

if [ -s "$video" ]; then
  exit 0
fi
mkdir -p "$dest"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# apt's sandbox user must be able to write the download folder
chmod 755 "$work"
if ! (cd "$work" && apt-get download python3-imageio >&2); then
  # no package lists yet (a machine that never ran apt-get update)
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -q >&2
  (cd "$work" && apt-get download python3-imageio >&2)
fi
deb=$(ls "$work"/python3-imageio_*.deb)
dpkg -x "$deb" "$work/root"
found=$(find "$work/root" -name cockatoo.mp4 -print -quit)
if [ -z "$found" ]; then
  echo "fetch-test-media: cockatoo.mp4 not found in $(basename "$deb")" >&2
  exit 1
fi
cp "$found" "$video.part"
mv "$video.part" "$video"
echo "fetch-test-media: $video ($(stat -c %s "$video") bytes, from $(basename "$deb"))" >&2

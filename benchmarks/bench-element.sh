#!/usr/bin/env bash
# mobileclipfilter's overhead over the bare encoder on real video
# (cockatoo.mp4, fetched by scripts/fetch-test-media.sh), with the plugin of
# this build.  Prints one JSON object per model (see bench_element.c).
#   benchmarks/bench-element.sh [BUILD_DIR] [MODEL [CONFIG]]
# Default models: the golden tiny_s0, then MobileCLIP-S0's image tower with
# random weights at full size (made once with make-random-weights from the
# real key table in ../shared/real), when that table is there.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-${MOBILECLIP_BUILD_DIR:-$here/build}}
"$here/scripts/fetch-test-media.sh" "$here/tests/data"
video=$here/tests/data/cockatoo.mp4
export GST_PLUGIN_PATH=$build/gst
export XDG_CACHE_HOME=${XDG_CACHE_HOME:-$build/benchmarks/cache}
bench=$build/benchmarks/bench-element
frames=${FRAMES:-60}
threads=${THREADS:-2}

if [ $# -ge 2 ]; then
  exec "$bench" "$video" "$2" ${3:+--config "$3"} --frames "$frames" --threads "$threads"
fi
golden=${MOBILECLIP_GOLDEN_DIR:-$here/../shared/golden}
"$bench" "$video" "$golden/tiny_s0" --frames "$frames" --threads "$threads"
keys=$here/../shared/real/mobileclip_s0.keys.tsv
s0=$build/benchmarks/random_s0_image.safetensors
if [ -f "$keys" ]; then
  [ -f "$s0" ] || "$build/benchmarks/make-random-weights" "$keys" image_encoder "$s0"
  "$bench" "$video" "$s0" --config mobileclip_s0 --frames "$frames" --threads "$threads" --repeat 2
fi

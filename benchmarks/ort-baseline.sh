#!/usr/bin/env bash
# Same-run ONNX Runtime baseline (issue 5 compares against ONNX Runtime):
# exports the folded graphs of torch_baseline.py as ONNX models (MCi0 image
# 256×256, the S0 text tower as the engine runs it and with its last block
# over every position, MCi2 image) and times each in ONNX Runtime's CPU
# provider on 1 and 2 threads with ort-bench (ort_bench.c, built with the
# engine).  Prints JSON lines: the
# MACs of each graph, its op histogram as exported and after ONNX Runtime's
# graph passes, and the timings.  Nothing here is a test.
#   benchmarks/ort-baseline.sh [BUILD_DIR]
# ITER (default 30) sets the iterations per measurement.
#
# ONNX Runtime is not packaged for Debian; it comes from the npm registry as
# onnxruntime-node (pinned in benchmarks/ort/package.json), installed under
# BUILD_DIR/ort-baseline/node, never in the source tree; only its CPU
# library, libonnxruntime.so.1, is used (ort-bench opens it; node runs only
# npm).  --ignore-scripts: the postinstall only fetches GPU provider
# libraries from outside the npm registry (it fails here).  The
# models are written under BUILD_DIR/ort-baseline too (45-170 MB each).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-${MOBILECLIP_BUILD_DIR:-$here/build}}
iter=${ITER:-30}
work=$build/ort-baseline
bench=$here/benchmarks

skip () {
  echo "# ONNX Runtime baseline skipped: $*"
  exit 0
}

command -v node >/dev/null && command -v npm >/dev/null \
  || skip "node and npm are not installed (apt-get install nodejs npm)"
/usr/bin/python3 -c 'import torch' 2>/dev/null \
  || skip "Debian's python3-torch is not installed (apt-get install python3-torch); it exports the ONNX models"

mkdir -p "$work/node"
if ! cmp -s "$bench/ort/package.json" "$work/node/package.json" \
    || [ ! -d "$work/node/node_modules/onnxruntime-node" ]; then
  cp "$bench/ort/package.json" "$work/node/package.json"
  (cd "$work/node" && npm install --ignore-scripts --no-audit --no-fund --loglevel=error >&2) \
    || skip "npm install of onnxruntime-node failed (is the npm registry reachable?)"
fi
lib=$work/node/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1
[ -f "$lib" ] || skip "onnxruntime-node has no $(basename "$lib") for linux/x64 at the expected place"
[ -x "$build/benchmarks/ort-bench" ] || skip "$build/benchmarks/ort-bench is not built (ninja -C $build)"

# export MODEL.onnx CONFIG [torch_baseline.py options]: again only when the
# model is older than the scripts or config that make it; the exporter's
# lines (MACs, op histogram) are kept beside the model and printed each run
export_model () {
  local out=$work/$1 config=$here/configs/$2.json
  shift 2
  if [ ! -s "$out" ] || [ ! -s "$out.json" ] || [ "$bench/torch_baseline.py" -nt "$out" ] \
      || [ "$bench/torch_text_graph.py" -nt "$out" ] || [ "$config" -nt "$out" ]; then
    rm -f "$out" "$out.json"
    /usr/bin/python3 "$bench/torch_baseline.py" "$config" "$@" --iterations 0 \
      --export-onnx "$out.part" > "$out.json.part"
    sed -i "s|$out.part|$out|" "$out.json.part"
    mv "$out.part" "$out"
    mv "$out.json.part" "$out.json"
  fi
  cat "$out.json"
}

# time MODEL.onnx NAME: one JSON line per thread count, and the op histogram
# of the graph ONNX Runtime runs (first thread count's session)
time_model () {
  local model=$1 name=$2
  shift 2
  "$build/benchmarks/ort-bench" "$lib" "$work/$model" --name "$name" "$@" --threads 1 2 \
    --iterations "$iter" --save-optimized "$work/${model%.onnx}.optimized.onnx"
  /usr/bin/python3 "$bench/onnx_ops.py" "$work/${model%.onnx}.optimized.onnx"
  rm -f "$work/${model%.onnx}.optimized.onnx"
}

echo "# ONNX Runtime baseline: load $(cut -d' ' -f1-3 /proc/loadavg)"
export_model s0_image.onnx mobileclip_s0
export_model s0_text.onnx mobileclip_s0 --text
export_model s0_text_full.onnx mobileclip_s0 --text --full-last-block
export_model s2_image.onnx mobileclip_s2
time_model s0_image.onnx "mci0 image 256" --input image --shape 1,3,256,256
time_model s0_text.onnx "mct text" --input tokens --int64 --shape 1,77
time_model s0_text_full.onnx "mct text full last block" --input tokens --int64 --shape 1,77
time_model s2_image.onnx "mci2 image 256" --input image --shape 1,3,256,256

#!/usr/bin/env bash
# The engine against ONNX Runtime, head to head: ROUNDS rounds (default 3),
# each timing the same work with `mobileclip bench` and with ort-bench, one
# right after the other, on 1 and 2 threads: MCi0 image 256×256 and the S0
# text tower on one 77-token prompt (fp32, batch 1), and the engine's int8
# image path.  On this shared VM the spread between runs reaches 25 %, so
# only measurements taken side by side compare; the last lines give, per
# case, the median over rounds of each engine's median and their ratio.
# Needs what benchmarks/ort-baseline.sh sets up (ONNX Runtime from npm, the
# exported graphs under BUILD_DIR/ort-baseline): run that once first.
# Nothing here is a test.
#   benchmarks/versus-ort.sh [BUILD_DIR]
# ITER (default 30) sets the timed passes per measurement.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-${MOBILECLIP_BUILD_DIR:-$here/build}}
iter=${ITER:-30}
rounds=${ROUNDS:-3}
work=$build/ort-baseline
lib=$work/node/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1
mc=$build/tools/mobileclip
s0=$build/benchmarks/random_s0_full.safetensors
keys=$here/../shared/real/mobileclip_s0.keys.tsv

for f in "$lib" "$work/s0_image.onnx" "$work/s0_text.onnx"; do
  [ -f "$f" ] || { echo "# versus-ort skipped: $f is missing (run benchmarks/ort-baseline.sh $build first)"; exit 0; }
done
[ -f "$s0" ] || "$build/benchmarks/make-random-weights" "$keys" "" "$s0"

median_of () { sed -n 's/.*"median_ms": \([0-9.]*\).*/\1/p'; }

echo "# machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) CPUs"
results=$(mktemp)
trap 'rm -f "$results"' EXIT
for r in $(seq 1 "$rounds"); do
  echo "# round $r, load $(cut -d' ' -f1-3 /proc/loadavg)"
  for t in 1 2; do
    m=$("$mc" bench --model "$s0" --config mobileclip_s0 --threads "$t" --iterations "$iter" | tr -d '\n' | median_of)
    echo "engine image $t $m" >> "$results"
    o=$("$build/benchmarks/ort-bench" "$lib" "$work/s0_image.onnx" --input image --shape 1,3,256,256 \
        --threads "$t" --iterations "$iter" | median_of)
    echo "onnxruntime image $t $o" >> "$results"
    m=$("$mc" bench --model "$s0" --config mobileclip_s0 --threads "$t" --iterations "$iter" --text \
        | tr -d '\n' | median_of)
    echo "engine text $t $m" >> "$results"
    o=$("$build/benchmarks/ort-bench" "$lib" "$work/s0_text.onnx" --input tokens --int64 --shape 1,77 \
        --threads "$t" --iterations "$iter" | median_of)
    echo "onnxruntime text $t $o" >> "$results"
    m=$("$mc" bench --model "$s0" --config mobileclip_s0 --threads "$t" --iterations "$iter" \
        --precision int8 | tr -d '\n' | median_of)
    echo "engine-int8 image $t $m" >> "$results"
  done
  sed -n "$(( (r - 1) * 10 + 1 )),$(( r * 10 ))p" "$results" | sed 's/^/  /'
done
# per case: the median of the rounds' medians, and engine / ONNX Runtime
awk '
  { v[$1 " " $2 " " $3] = v[$1 " " $2 " " $3] " " $4 }
  function med(s,   a, n, i, j, t) {
    n = split(s, a, " ")
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  END {
    split("image text", what, " ")
    for (w = 1; w <= 2; w++) for (t = 1; t <= 2; t++) {
      e = med(v["engine " what[w] " " t]); o = med(v["onnxruntime " what[w] " " t])
      printf "{\"case\": \"%s\", \"threads\": %d, \"engine_ms\": %.2f, \"onnxruntime_ms\": %.2f, \"engine_over_onnxruntime\": %.3f", what[w], t, e, o, e / o
      if (what[w] == "image") printf ", \"engine_int8_ms\": %.2f", med(v["engine-int8 image " t])
      printf "}\n"
    }
  }' "$results"

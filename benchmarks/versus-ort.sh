#!/usr/bin/env bash
# The engine against ONNX Runtime, head to head: ROUNDS rounds (default 3),
# each timing the same work with `mobileclip bench` and with ort-bench, one
# right after the other, on 1 and 2 threads.  CASES (default "image text
# int8") picks from: image (MCi0 256×256, fp32, batch 1), text (the S0 text
# tower on one 77-token prompt), int8 (the engine's int8 MCi0, no ONNX
# Runtime counterpart), mci2 (MCi2 256×256).  On this shared VM the spread
# between runs reaches 25 %, so only measurements taken side by side
# compare; the last lines give, per case, the median over rounds of each
# side's median and their ratio.  Needs what benchmarks/ort-baseline.sh sets
# up (ONNX Runtime from npm, the exported graphs under BUILD_DIR/ort-baseline):
# run that once first.  Nothing here is a test.
#   benchmarks/versus-ort.sh [BUILD_DIR]
# ITER (default 30) sets the timed passes per measurement.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-${MOBILECLIP_BUILD_DIR:-$here/build}}
iter=${ITER:-30}
rounds=${ROUNDS:-3}
cases=${CASES:-image text int8}
work=$build/ort-baseline
lib=$work/node/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1
mc=$build/tools/mobileclip
s0=$build/benchmarks/random_s0_full.safetensors
s2=$build/benchmarks/random_s2_image.safetensors
keys=$here/../shared/real/mobileclip_s0.keys.tsv

skip () { echo "# versus-ort skipped: $*"; exit 0; }
[ -f "$lib" ] || skip "$lib is missing (run benchmarks/ort-baseline.sh $build first)"
for c in $cases; do
  case $c in
    image|int8) graph=s0_image.onnx ;;
    text) graph=s0_text.onnx ;;
    mci2) graph=s2_image.onnx ;;
    *) echo "versus-ort: unknown case '$c' (image, text, int8, mci2)" >&2; exit 2 ;;
  esac
  [ -f "$work/$graph" ] || skip "$work/$graph is missing (run benchmarks/ort-baseline.sh $build first)"
done
[ -f "$s0" ] || "$build/benchmarks/make-random-weights" "$keys" "" "$s0"
case " $cases " in
  *" mci2 "*) [ -f "$s2" ] || "$build/benchmarks/make-random-weights" --config mobileclip_s2 image_encoder. "$s2" ;;
esac

median_of () { tr -d '\n' | sed -n 's/.*"median_ms": \([0-9.]*\).*/\1/p'; }

# one measurement: "SIDE CASE THREADS MEDIAN_MS"
measure () {
  local c=$1 t=$2
  case $c in
    image)
      echo "engine image $t $("$mc" bench --model "$s0" --config mobileclip_s0 --threads "$t" \
          --iterations "$iter" | median_of)"
      echo "onnxruntime image $t $("$build/benchmarks/ort-bench" "$lib" "$work/s0_image.onnx" \
          --input image --shape 1,3,256,256 --threads "$t" --iterations "$iter" | median_of)" ;;
    text)
      echo "engine text $t $("$mc" bench --model "$s0" --config mobileclip_s0 --threads "$t" \
          --iterations "$iter" --text | median_of)"
      echo "onnxruntime text $t $("$build/benchmarks/ort-bench" "$lib" "$work/s0_text.onnx" \
          --input tokens --int64 --shape 1,77 --threads "$t" --iterations "$iter" | median_of)" ;;
    int8)
      echo "engine int8 $t $("$mc" bench --model "$s0" --config mobileclip_s0 --threads "$t" \
          --iterations "$iter" --precision int8 | median_of)" ;;
    mci2)
      echo "engine mci2 $t $("$mc" bench --model "$s2" --config mobileclip_s2 --threads "$t" \
          --iterations "$iter" | median_of)"
      echo "onnxruntime mci2 $t $("$build/benchmarks/ort-bench" "$lib" "$work/s2_image.onnx" \
          --input image --shape 1,3,256,256 --threads "$t" --iterations "$iter" | median_of)" ;;
  esac
}

echo "# machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) CPUs"
results=$(mktemp)
trap 'rm -f "$results"' EXIT
for r in $(seq 1 "$rounds"); do
  echo "# round $r, load $(cut -d' ' -f1-3 /proc/loadavg)"
  for t in 1 2; do
    for c in $cases; do
      measure "$c" "$t" | tee -a "$results" | sed 's/^/  /'
    done
  done
done
# per case and thread count: the median of the rounds' medians, and
# engine / ONNX Runtime where both ran
awk '
  { v[$2 " " $3 " " $1] = v[$2 " " $3 " " $1] " " $4; seen[$2 " " $3] = 1 }
  function med(s,   a, n, i, j, t) {
    n = split(s, a, " ")
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  END {
    for (k in seen) {
      split(k, p, " ")
      e = med(v[k " engine"])
      printf "{\"case\": \"%s\", \"threads\": %d, \"engine_ms\": %.2f", p[1], p[2], e
      if (v[k " onnxruntime"] != "") {
        o = med(v[k " onnxruntime"])
        printf ", \"onnxruntime_ms\": %.2f, \"engine_over_onnxruntime\": %.3f", o, e / o
      }
      printf "}\n"
    }
  }' "$results" | sort

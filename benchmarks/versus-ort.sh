#!/usr/bin/env bash
# The engine against ONNX Runtime, side by side in one process
# (bench-versus-ort): for each case and thread count (1 and 2), PAIRS pairs
# (default 6) of BLOCK passes on each side (default 5), the sides alternating
# within a second or so; and that ROUNDS times (default 3) to see the spread
# between phases of the machine.  CASES (default "image text int8") picks
# from: image (MCi0 256×256, fp32, batch 1), text (the S0 text tower on one
# 77-token prompt), int8 and bf16 (the engine's int8 or bf16 MCi0 against
# ONNX Runtime's fp32 graph: ONNX Runtime's own int8 needs Python tools that
# cannot be installed here; bf16 is emulated, and slow, on CPUs without
# AVX512-BF16), mci2 (MCi2 256×256).  Each round prints one JSON line per
# measurement; the last lines give, per case and thread count, the median over
# rounds of each side's median and of the ratio within pairs (the figure to
# read: this VM's speed drifts by tens of percent between minutes, which the
# ratio within a pair does not see).  Needs what benchmarks/ort-baseline.sh
# sets up (ONNX Runtime from npm, the exported graphs under
# BUILD_DIR/ort-baseline): run that once first.  Nothing here is a test.
#   benchmarks/versus-ort.sh [BUILD_DIR]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-${MOBILECLIP_BUILD_DIR:-$here/build}}
pairs=${PAIRS:-6}
block=${BLOCK:-5}
rounds=${ROUNDS:-3}
cases=${CASES:-image text int8}
work=$build/ort-baseline
lib=$work/node/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1
versus=$build/benchmarks/bench-versus-ort
s0=$build/benchmarks/random_s0_full.safetensors
s2=$build/benchmarks/random_s2_image.safetensors
keys=$here/../shared/real/mobileclip_s0.keys.tsv

skip () { echo "# versus-ort skipped: $*"; exit 0; }
[ -f "$lib" ] || skip "$lib is missing (run benchmarks/ort-baseline.sh $build first)"
[ -x "$versus" ] || skip "$versus is not built (ninja -C $build)"
for c in $cases; do
  case $c in
    image|int8|bf16) graph=s0_image.onnx ;;
    text) graph=s0_text.onnx ;;
    mci2) graph=s2_image.onnx ;;
    *) echo "versus-ort: unknown case '$c' (image, text, int8, bf16, mci2)" >&2; exit 2 ;;
  esac
  [ -f "$work/$graph" ] || skip "$work/$graph is missing (run benchmarks/ort-baseline.sh $build first)"
done
[ -f "$s0" ] || "$build/benchmarks/make-random-weights" "$keys" "" "$s0"
case " $cases " in
  *" mci2 "*) [ -f "$s2" ] || "$build/benchmarks/make-random-weights" --config mobileclip_s2 image_encoder. "$s2" ;;
esac

# one measurement: a JSON line, with "label" (the case's name) added
measure () {
  local c=$1 t=$2 args
  case $c in
    image) args=("$s0" "$work/s0_image.onnx" --config mobileclip_s0) ;;
    text) args=("$s0" "$work/s0_text.onnx" --config mobileclip_s0 --text) ;;
    int8|bf16) args=("$s0" "$work/s0_image.onnx" --config mobileclip_s0 --precision "$c") ;;
    mci2) args=("$s2" "$work/s2_image.onnx" --config mobileclip_s2) ;;
  esac
  "$versus" "$lib" "${args[@]}" --threads "$t" --pairs "$pairs" --block "$block" \
    | sed "s/^{/{\"label\": \"$c\", /"
}

echo "# machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) CPUs"
results=$(mktemp)
trap 'rm -f "$results"' EXIT
for r in $(seq 1 "$rounds"); do
  echo "# round $r, load $(cut -d' ' -f1-3 /proc/loadavg)"
  for t in 1 2; do
    for c in $cases; do
      measure "$c" "$t" | tee -a "$results"
    done
  done
done
# per case and thread count: medians over the rounds
/usr/bin/python3 - "$results" <<'PY'
import collections, json, statistics, sys
rows = collections.defaultdict(list)
for line in open(sys.argv[1]):
    d = json.loads(line)
    rows[(d["label"], d["threads"])].append(d)
for (label, threads), rs in sorted(rows.items()):
    med = lambda k: statistics.median(r[k] for r in rs)
    print(json.dumps({"case": label, "threads": threads, "rounds": len(rs),
                      "engine_ms": round(med("engine_median_ms"), 2),
                      "onnxruntime_ms": round(med("onnxruntime_median_ms"), 2),
                      "engine_over_onnxruntime": round(med("engine_over_onnxruntime"), 3),
                      "round_ratios": [r["engine_over_onnxruntime"] for r in rs],
                      "engine_faster_pairs": "%d of %d" % (sum(r["engine_faster_pairs"] for r in rs),
                                                           sum(r["pairs"] for r in rs))}))
PY

#!/usr/bin/env bash
# The engine's GEMM against ONNX Runtime's (MLAS SGEMM, weight prepacked),
# shape by shape, side by side (bench-gemm-versus-ort, ONNX Runtime in a
# child process), on 1 and 2 threads: the tool's shapes (the ConvFFN
# products of MCi0 and MCi2, the S0 text MLP; bench-gemm-versus-ort
# --list-shapes), or SHAPES="MxKxN ...".  Shows whether the products
# themselves, where 80-90 % of a forward pass goes, are as fast as MLAS's on
# this CPU (on AVX-512 machines: our 14×32 kernel against MLAS's AVX-512
# one).  Needs ONNX Runtime from benchmarks/ort-baseline.sh (run that once
# first) and Debian's python3-torch for the one-product models
# (benchmarks/gemm_onnx.py, written once under BUILD_DIR/ort-baseline/gemm).
# Nothing here is a test.
#   benchmarks/gemm-versus-ort.sh [BUILD_DIR]
# PAIRS (default 8) and BLOCK (default 5) as in bench-gemm-versus-ort.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-${MOBILECLIP_BUILD_DIR:-$here/build}}
lib=$build/ort-baseline/node/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1
tool=$build/benchmarks/bench-gemm-versus-ort
dir=$build/ort-baseline/gemm

skip () { echo "# gemm-versus-ort skipped: $*"; exit 0; }
[ -f "$lib" ] || skip "$lib is missing (run benchmarks/ort-baseline.sh $build first)"
[ -x "$tool" ] || skip "$tool is not built (ninja -C $build)"
shapes=${SHAPES:-$("$tool" --list-shapes | tr '\n' ' ')}
/usr/bin/python3 -c 'import torch' 2>/dev/null \
  || skip "Debian's python3-torch is not installed (apt-get install python3-torch); it writes the models"
# shellcheck disable=SC2086
/usr/bin/python3 "$here/benchmarks/gemm_onnx.py" "$dir" 1x16x16 $shapes
args=()
for s in $shapes; do args+=(--shape "$s"); done
echo "# machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) CPUs"
# On 1 thread both sides (the tool and ONNX Runtime's child) run on one CPU:
# left to the scheduler they may land on two vCPUs of different speeds, which
# made shapes look 1.5x apart that are equal on one (docs/performance.md,
# fifteenth session).
first_cpu=$(taskset -pc $$ 2>/dev/null | sed 's/.*: *//; s/[-,].*//')
for t in 1 2; do
  pin=()
  [ "$t" = 1 ] && [ -n "$first_cpu" ] && pin=(taskset -c "$first_cpu")
  echo "# $t thread(s)${pin:+, pinned to CPU $first_cpu}"
  "${pin[@]}" "$tool" "$lib" "$dir" "${args[@]}" --threads "$t" --pairs "${PAIRS:-8}" --block "${BLOCK:-5}"
done

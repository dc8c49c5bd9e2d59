#!/usr/bin/env bash
# The figures of docs/performance.md in one run, on this machine: the engine
# with full-size MobileCLIP-S0 weights (random values with the real tensor
# names and shapes from ../shared/real; the real checkpoint cannot be
# downloaded here), next to the baselines measured in the same run.  Prints
# JSON lines; nothing here is a test.
#   benchmarks/run-all.sh [BUILD_DIR]
# ITER (default 30) sets the iterations per measurement.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-${MOBILECLIP_BUILD_DIR:-$here/build}}
iter=${ITER:-30}
keys=$here/../shared/real/mobileclip_s0.keys.tsv
s0=$build/benchmarks/random_s0_full.safetensors
mc=$build/tools/mobileclip

echo "# machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
[ -f "$s0" ] || "$build/benchmarks/make-random-weights" "$keys" "" "$s0"

json () { tr -d '\n' | sed 's/  */ /g'; echo; }

# the machine as it is now (multiply-add peak a thread, a 64 MiB read), and
# what a slow forward coincides with on it (PHASE_SECONDS, default 60)
"$build/benchmarks/bench-peak"
"$build/benchmarks/bench-phase" --model "$s0" --config mobileclip_s0 --seconds "${PHASE_SECONDS:-60}"

for t in 1 2; do
  "$mc" bench --model "$s0" --config mobileclip_s0 --threads "$t" --iterations "$iter" | json
done
"$mc" bench --model "$s0" --config mobileclip_s0 --threads 2 --batch 4 --iterations "$iter" | json
for t in 1 2; do
  "$mc" bench --model "$s0" --config mobileclip_s0 --threads "$t" --text --iterations "$iter" | json
done
s2=$build/benchmarks/random_s2_image.safetensors
[ -f "$s2" ] || "$build/benchmarks/make-random-weights" --config mobileclip_s2 image_encoder. "$s2"
for t in 1 2; do
  "$mc" bench --model "$s2" --config mobileclip_s2 --threads "$t" --iterations "$iter" | json
done
# int8 against fp32, interleaved (docs/performance.md, "int8")
for t in 1 2; do
  "$build/benchmarks/bench-precision" --model "$s0" --config mobileclip_s0 --threads "$t" \
    --iterations "$iter" --precision int8 | json
  "$build/benchmarks/bench-precision" --model "$s0" --config mobileclip_s0 --threads "$t" \
    --iterations "$iter" --precision int8 --text | json
done
for v in portable avx2 avx-vnni avx512; do "$build/benchmarks/bench-preprocess" --variant "$v" || true; done
# the machine's kernels against the plain AVX2 ones, in pairs within one process
"$build/benchmarks/bench-preprocess" --versus avx2 --runs 200 || true
if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  /usr/bin/python3 "$here/benchmarks/torch_baseline.py" "$here/configs/mobileclip_s0.json" --iterations "$iter"
  /usr/bin/python3 "$here/benchmarks/torch_baseline.py" "$here/configs/mobileclip_s0.json" --text --iterations "$iter"
else
  echo "# PyTorch baseline skipped: Debian's python3-torch is not installed"
fi
ITER=$iter "$here/benchmarks/ort-baseline.sh" "$build"
"$here/benchmarks/versus-ort.sh" "$build"
"$here/benchmarks/gemm-versus-ort.sh" "$build"
# issue 5's targets on this machine, met or not (docs/performance.md)
/usr/bin/python3 "$here/benchmarks/targets.py" "$build"

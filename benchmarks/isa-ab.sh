#!/usr/bin/env bash
# What each instruction-set path buys on this CPU, measured side by side: for
# every fast path the CPU runs, the engine with it and with the path it
# replaces, one right after the other, ROUNDS rounds (default 3), on 1 and 2
# threads.  The pairs, where the CPU has them:
#   fp32 image and text: the default GEMM variant against the next lower one
#     (avx512 against avx2, or avx2 against portable), via MC_GEMM_VARIANT;
#   and in one process (bench-ab, PAIRS pairs, default 20, after the rest),
#     with avx512 its K blocks of 2048 (MC_GEMM_KC=2048, as on AVX2)
#     against its own 256; on any CPU the float tiles prefetching the next
#     block of B against not (MC_GEMM_PREFETCH=0), on x86 the full tiles'
#     k loop in assembly against the C one (MC_GEMM_ASM=0), and on 2
#     threads the pool's chunks sized by the threads' speeds against equal
#     ones (MC_POOL_BALANCE=0); with AMX, bf16 and int8 image, the AMX
#     kernels' 32-row form against their 16-row one (MC_GEMM_AMX_ROWS=32);
#   bf16 image: the AMX kernel against VDPBF16PS (MC_GEMM_AMX=0), when bf16
#     is native; and bf16 (native) against fp32;
#   int8 image: the AMX kernel against the 512-bit VPDPBUSD one
#     (MC_GEMM_AMX=0), the VNNI kernel against the AVX2 one
#     (MC_GEMM_VNNI=0), and int8 against bf16 where bf16 is native.
# The kernel names come from `mobileclip bench`'s own JSON, so a line says
# what ran, not what was asked for.  Per pair: the median over rounds of each
# side's median and their ratio (fast / replaced: below 1 is a gain).  Written
# for the first run on an AVX-512 / AMX machine (docs/performance.md, "On a
# machine with AVX-512 ..."); nothing here is a test.
#   benchmarks/isa-ab.sh [BUILD_DIR]
# ITER (default 20) sets the timed passes per measurement.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-${MOBILECLIP_BUILD_DIR:-$here/build}}
iter=${ITER:-20}
rounds=${ROUNDS:-3}
mc=$build/tools/mobileclip
s0=$build/benchmarks/random_s0_full.safetensors
keys=$here/../shared/real/mobileclip_s0.keys.tsv

[ -f "$s0" ] || "$build/benchmarks/make-random-weights" "$keys" "" "$s0"

field () { tr -d '\n' | sed -n "s/.*\"$1\": \"\\{0,1\\}\\([^,\"}]*\\).*/\\1/p"; }

# bench ENV... -- ARGS: prints "KERNEL MEDIAN_MS"
bench () {
  local envs=()
  while [ "$1" != -- ]; do envs+=("$1"); shift; done
  shift
  local out
  out=$(env "${envs[@]}" "$mc" bench --model "$s0" --config mobileclip_s0 --iterations "$iter" "$@")
  echo "$(echo "$out" | field gemm_kernel) $(echo "$out" | field median_ms)"
}

probe () { bench "$@" | cut -d' ' -f1; }

# the pairs this CPU has: "NAME|ENV_A|ARGS_A|ENV_B|ARGS_B" (ENV '-' for none)
pairs=()
fp32=$(probe -- --threads 1 --iterations 1)
case $fp32 in
  avx512) lower=avx2 ;;
  avx2) lower=portable ;;
  *) lower= ;;
esac
if [ -n "$lower" ]; then
  pairs+=("fp32 image|-||MC_GEMM_VARIANT=$lower|")
  pairs+=("fp32 text|-|--text|MC_GEMM_VARIANT=$lower|--text")
fi
# The GEMM timing experiments that can change between products run in one
# process instead (bench-ab, at the end): two processes a few seconds apart
# differed by more than these experiments do.  "NAME|A|B|CONDITION|PRECISION"
# (no precision: fp32, image and text; bf16 or int8: image)
ab_pairs=("B prefetched vs not||MC_GEMM_PREFETCH=0|any|")
ab_pairs+=("tile k loop asm vs C||MC_GEMM_ASM=0|x86|")
ab_pairs+=("avx512 K blocks 2048 vs 256|MC_GEMM_KC=2048||avx512|")
ab_pairs+=("pool chunks by speed vs equal||MC_POOL_BALANCE=0|threads|")
bf16_native=$("$mc" bench --model "$s0" --config mobileclip_s0 --iterations 1 --threads 1 --precision bf16 \
    | field bf16_native)
if [ "$bf16_native" = true ]; then
  case $(probe -- --threads 1 --iterations 1 --precision bf16) in
    *amx*) pairs+=("bf16 image, AMX vs VDPBF16PS|-|--precision bf16|MC_GEMM_AMX=0|--precision bf16")
           ab_pairs+=("AMX 32-row vs 16-row strips|MC_GEMM_AMX_ROWS=32|MC_GEMM_AMX_ROWS=16|any|bf16") ;;
  esac
  pairs+=("bf16 vs fp32 image|-|--precision bf16|-|--precision fp32")
fi
case $(probe -- --threads 1 --iterations 1 --precision int8) in
  *amx*) pairs+=("int8 image, AMX vs VPDPBUSD|-|--precision int8|MC_GEMM_AMX=0|--precision int8")
         ab_pairs+=("AMX 32-row vs 16-row strips|MC_GEMM_AMX_ROWS=32|MC_GEMM_AMX_ROWS=16|any|int8") ;;
esac
# (MC_GEMM_AMX=0 on both sides: with AMX, MC_GEMM_VNNI=0 alone would still
# run the AMX kernel)
case $(probe MC_GEMM_AMX=0 -- --threads 1 --iterations 1 --precision int8) in
  *vnni*) pairs+=("int8 image, VNNI vs AVX2|MC_GEMM_AMX=0|--precision int8|MC_GEMM_AMX=0 MC_GEMM_VNNI=0|--precision int8") ;;
esac
# which reduced precision is faster, where both run on their instructions
if [ "$bf16_native" = true ]; then
  pairs+=("int8 vs bf16 image|-|--precision int8|-|--precision bf16")
fi

echo "# machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) CPUs"
echo "# flags: $(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -E '^(avx2|fma|avx512f|avx512_bf16|avx512_vnni|avx_vnni|amx_bf16|amx_int8)$' | tr '\n' ' ')"
# (a CPU with only the portable kernels has no process pairs, but still the
# prefetching experiment in one process at the end)

results=$(mktemp)
trap 'rm -f "$results"' EXIT
for r in $(seq 1 "$rounds"); do
  echo "# round $r, load $(cut -d' ' -f1-3 /proc/loadavg)"
  for t in 1 2; do
    for p in "${pairs[@]}"; do
      IFS='|' read -r name env_a args_a env_b args_b <<< "$p"
      [ "$env_a" = - ] && env_a=
      [ "$env_b" = - ] && env_b=
      # shellcheck disable=SC2086 # ARGS are word lists
      a=$(bench $env_a -- --threads "$t" $args_a)
      # shellcheck disable=SC2086
      b=$(bench $env_b -- --threads "$t" $args_b)
      echo "$name|$t|$a|$b" | tee -a "$results" | sed 's/^/  /'
    done
  done
done

# per pair and thread count: median of each side's round medians, ratio a/b
awk -F'|' '
  { key = $1 "|" $2; split($3, a, " "); split($4, b, " ");
    if (!(key in n)) names[++keys] = key;
    ka[key] = a[1]; kb[key] = b[1]; n[key]++;
    va[key, n[key]] = a[2]; vb[key, n[key]] = b[2] }
  function median(arr, key, cnt,   i, j, t, v) {
    for (i = 1; i <= cnt; i++) v[i] = arr[key, i];
    for (i = 1; i <= cnt; i++) for (j = i + 1; j <= cnt; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
    return cnt % 2 ? v[(cnt + 1) / 2] : (v[cnt / 2] + v[cnt / 2 + 1]) / 2 }
  END {
    for (o = 1; o <= keys; o++) {
      key = names[o]; split(key, kk, "|");
      ma = median(va, key, n[key]); mb = median(vb, key, n[key]);
      printf "{\"pair\": \"%s\", \"threads\": %s, \"a_kernel\": \"%s\", \"a_ms\": %.2f, \"b_kernel\": \"%s\", \"b_ms\": %.2f, \"a_over_b\": %.3f, \"rounds\": %d}\n",
        kk[1], kk[2], ka[key], ma, kb[key], mb, ma / mb, n[key] } }' "$results"

# the GEMM experiments in one process: bench-ab alternates the two settings
# pair by pair (its JSON: each side's median, the pairs' ratios a/b)
for t in 1 2; do
  for p in "${ab_pairs[@]}"; do
    IFS='|' read -r name set_a set_b cond prec <<< "$p"
    case $cond in
      x86) [ "$fp32" = avx512 ] || [ "$fp32" = avx2 ] || continue ;;
      avx512) [ "$fp32" = avx512 ] || continue ;;
      threads) [ "$t" -gt 1 ] || continue ;;
    esac
    encoders=(image text)
    [ -n "$prec" ] && encoders=(image)
    for enc in "${encoders[@]}"; do
      text=()
      [ "$enc" = text ] && text=(--text)
      echo "# in one process: ${prec:-fp32} $enc, $name, $t thread(s)"
      "$build/benchmarks/bench-ab" --model "$s0" --config mobileclip_s0 --threads "$t" \
          --precision "${prec:-fp32}" "${text[@]}" --pairs "${PAIRS:-20}" --a "$set_a" \
          --b "$set_b" | tr -d '\n'
      echo
    done
  done
done

#!/usr/bin/env bash
# The engine's AVX-512 code run for real on an emulated CPU (Bochs,
# tigerlake model: AVX-512 F/DQ/BW/VL and VNNI): isa_kernels.c with the GEMM
# driver and kernels linked from the engine archive meson built, booted
# bare metal (see README.md).  Skips (77) when Bochs is missing
# (scripts/test installs Debian's bochs, bochs-term, bochsbios, vgabios).
#   isa-kernels.sh CC ENGINE_ARCHIVE WORK_DIR
set -euo pipefail
[ $# -eq 3 ] || { echo "usage: $0 CC ENGINE_ARCHIVE WORK_DIR" >&2; exit 2; }
cc=$1 archive=$2 work=$3
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/../.." && pwd)

if ! command -v "${MC_BOCHS:-bochs-bin}" >/dev/null; then
  echo "SKIP: ${MC_BOCHS:-bochs-bin} not found (Debian packages bochs, bochs-term, bochsbios, vgabios; scripts/test installs them)"
  exit 77
fi
# MC_BOCHS_CPU: another model of that Bochs (bochs-common.sh), e.g.
# sapphire_rapids, whose AMX and AVX512-BF16 the test then checks too
model=${MC_BOCHS_CPU:-tigerlake}
mkdir -p "$work"
flags=(-ffreestanding -fno-pic -fno-pie -mno-red-zone -fno-stack-protector
  -fno-asynchronous-unwind-tables -O2 -g -Wall -Wextra
  -I"$here" -I"$src/inference" -I"$src/inference/ops" -I"$src/inference/include")
# the avx512 preprocessing pass, where the archive has it
pp=()
if nm "$archive" 2>/dev/null | grep ' T mc_hpass_row_avx512$' >/dev/null; then
  pp=(-DMC_TEST_PREPROCESS_AVX512)
fi
"$cc" "${flags[@]}" "${pp[@]}" -c "$here/isa_kernels.c" -o "$work/isa_kernels.o"
# the AMX kernels' code on the C model of the tiles, as tests/ops builds it
for f in amx_tile_model gemm_int8_amx_emulated gemm_bf16_amx_emulated; do
  "$cc" "${flags[@]}" -mavx2 -mfma -Wno-psabi -I"$src/tests/ops" \
      -c "$src/tests/ops/$f.c" -o "$work/$f.o"
done
# nearbyintf is ROUNDSS (SSE4.1, which every AVX-512 CPU has)
"$cc" "${flags[@]}" -msse4.1 -c "$here/engine_shims.c" -o "$work/engine_shims.o"
CC=$cc "$here/build-image.sh" "$work/isa-kernels.img" "$work/isa_kernels.o" \
    "$work/amx_tile_model.o" "$work/gemm_int8_amx_emulated.o" \
    "$work/gemm_bf16_amx_emulated.o" "$work/engine_shims.o" "$archive"
echo "Bochs CPU model: $model"
exec "$here/run-bochs.sh" "$work/isa-kernels.img" "$model" 600

#!/bin/sh
# build-image.sh OUT_IMAGE OBJ... — link boot.S, emu_runtime.c and the given
# test objects (one of them defines kmain) into a raw disk image for
# run-bochs.sh.  OUT_IMAGE.elf is kept for addr2line on exception addresses.
# Env: CC (default gcc).  Test objects should be compiled with
#   -ffreestanding -fno-pic -fno-pie -mno-red-zone -fno-stack-protector
#   -fno-asynchronous-unwind-tables -O2 -I<this dir>
set -eu

if [ $# -lt 2 ]; then
  echo "usage: $0 OUT_IMAGE OBJ..." >&2
  exit 2
fi
out=$1
shift
here=$(cd "$(dirname "$0")" && pwd)
CC=${CC:-gcc}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

$CC -c -o "$tmp/boot.o" "$here/boot.S"
$CC -ffreestanding -fno-pic -fno-pie -mno-red-zone -fno-stack-protector \
  -fno-asynchronous-unwind-tables -O2 -Wall -Wextra \
  -c -o "$tmp/emu_runtime.o" "$here/emu_runtime.c"
# libgcc for the helpers gcc may call (e.g. 128-bit division).
$CC -nostdlib -static -no-pie -Wl,-T,"$here/emu.ld" -Wl,--build-id=none \
  -Wl,--no-warn-rwx-segments -Wl,--orphan-handling=warn \
  -o "$out.elf" "$tmp/boot.o" "$tmp/emu_runtime.o" "$@" -lgcc
objcopy -O binary "$out.elf" "$tmp/raw"

# Bochs takes a flat disk image as whole cylinders of 16 heads x 63 sectors.
cyl_bytes=$((16 * 63 * 512))
size=$(stat -c %s "$tmp/raw")
truncate -s $(((size + cyl_bytes - 1) / cyl_bytes * cyl_bytes)) "$tmp/raw"
mv "$tmp/raw" "$out"

#!/usr/bin/env bash
# Tests of the suite, as built, under Linux on an emulated AVX-512 CPU: Bochs's
# corei7_skylake_x model (AVX-512 F/CD/DQ/BW/VL, no VNNI, no BF16), booted from
# an ISO with Debian's kernel and an initramfs of busybox, the test programs,
# the libraries they load and the golden data.  There the engine picks its
# AVX-512 variant by itself, so the golden tests run the AVX-512 path end to
# end (isa-kernels.sh checks the kernels alone, AVX512-VNNI included).
#
#   linux-suite.sh BUILD_DIR WORK_DIR [TEST [ARGS]]...
#
# TEST is a path under BUILD_DIR/tests (e.g. model/test-image-golden) with
# its arguments as one word ("model/test-precision-golden int8"); the default
# list is below.  Exit 0 when every test exited 0 or 77 (skip), 1 when one
# failed, 4 when the guest did not report (boot, timeout), 77 when a tool is
# missing.  The kernel package is fetched once into WORK_DIR with
# `apt-get download`.
#
# Two things keep Linux from turning AVX-512 off under Bochs 2.7:
# - Bochs reports the standard XSAVE size for the compacted format, so the
#   kernel's consistency check fails and it disables XSAVE (and AVX) unless
#   XSAVES and XSAVEC are hidden (clearcpuid=xsaves,xsavec: standard format);
# - the tigerlake and icelake models list PKRU among XCR0's features without
#   a size or offset for it, which the kernel rejects ("misordered xstate");
#   skylake_x has no PKRU.
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 BUILD_DIR WORK_DIR [TEST [ARGS]]..." >&2; exit 2; }
build=$(cd "$1" && pwd)
work=$2
shift 2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/../.." && pwd)
. "$here/bochs-common.sh"
golden=${MOBILECLIP_GOLDEN_DIR:-$src/../shared/golden}
vocab=${MOBILECLIP_VOCAB_DIR:-$src/../shared/vocab}
limit=${LINUX_SUITE_TIMEOUT:-3600}
# Another Bochs and model (bochs-common.sh: MC_BOCHS ...; MC_BOCHS_CPU, e.g.
# sapphire_rapids with Bochs 3), and what the kernel must hide for it
# (LINUX_SUITE_CLEARCPUID, a clearcpuid= list, empty for none).
model=${MC_BOCHS_CPU:-corei7_skylake_x}
clearcpuid=${LINUX_SUITE_CLEARCPUID-xsaves,xsavec}

# The default: the golden tests on every precision path and the op tests,
# about 10 minutes with the boot (ops/test-gemm alone takes longer than all
# of these; isa-kernels.sh covers its AVX-512 kernels bit for bit).
if [ $# -eq 0 ]; then
  set -- model/test-image-golden model/test-text-golden "model/test-precision-golden int8" \
    "model/test-precision-golden bf16" model/test-mci-batch ops/test-conv ops/test-attention \
    ops/test-gemm-int8
fi

missing=
for tool in "$bochs_bin" xorriso cpio apt-get dpkg-deb; do
  command -v "$tool" >/dev/null || missing="$missing $tool"
done
isolinux=/usr/lib/ISOLINUX/isolinux.bin
ldlinux=/usr/lib/syslinux/modules/bios/ldlinux.c32
[ -f "$isolinux" ] || missing="$missing isolinux"
[ -f "$ldlinux" ] || missing="$missing syslinux-common"
if [ -n "$missing" ]; then
  echo "SKIP: missing$missing (Debian packages bochs bochs-term bochsbios vgabios xorriso cpio busybox-static isolinux syslinux-common)"
  exit 77
fi
# the initramfs has no libc for busybox: Debian's busybox-static
busybox=/bin/busybox
if [ ! -x "$busybox" ] || ! { ldd "$busybox" 2>&1 || true; } | grep -q "not a dynamic"; then
  echo "SKIP: /bin/busybox is not a static busybox (Debian package busybox-static)"
  exit 77
fi

mkdir -p "$work"
# Debian's kernel, fetched once
vmlinuz=$(ls "$work"/kernel/boot/vmlinuz-* 2>/dev/null | head -n 1 || true)
if [ -z "$vmlinuz" ]; then
  pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
  [ -n "$pkg" ] || { echo "SKIP: apt-cache knows no linux-image-amd64"; exit 77; }
  (cd "$work" && apt-get download -q "$pkg" >/dev/null 2>"$work/apt.log") \
    || { echo "SKIP: could not download $pkg: $(tail -n 1 "$work/apt.log")"; exit 77; }
  dpkg-deb -x "$work"/"$pkg"_*.deb "$work/kernel"
  rm -f "$work"/"$pkg"_*.deb
  vmlinuz=$(ls "$work"/kernel/boot/vmlinuz-* | head -n 1)
fi

# the initramfs: busybox, the tests and what they load, the data
root=$work/root
rm -rf "$root" "$work/iso"
mkdir -p "$root"/{bin,t,g,v,configs,proc,sys,dev,tmp} "$work/iso/isolinux"
cp "$busybox" "$root/bin/busybox"
copy_with_libs () {
  cp "$1" "$root/t/"
  ldd "$1" | awk '/=>/ {print $3} /^\t\/lib/ {print $1}' | while read -r lib; do
    [ -n "$lib" ] && [ ! -e "$root$lib" ] || continue
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done
}
: > "$root/tests"
for t in "$@"; do
  read -r path args <<< "$t"
  [ -x "$build/tests/$path" ] || { echo "linux-suite: no test $build/tests/$path" >&2; exit 2; }
  copy_with_libs "$build/tests/$path"
  echo "$(basename "$path") $args" >> "$root/tests"
done
for d in "$golden"/tiny_*; do
  [ -d "$d" ] && cp -r "$d" "$root/g/"
done
[ -d "$vocab" ] && cp "$vocab"/* "$root/v/" 2>/dev/null || true
cp "$src"/configs/* "$root/configs/"
cat > "$root/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
exec > /dev/ttyS0 2>&1
export MOBILECLIP_GOLDEN_DIR=/g MOBILECLIP_VOCAB_DIR=/v MOBILECLIP_CONFIG_DIR=/configs
export MOBILECLIP_PRECISION=fp32
echo "=== cpu: $(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -E '^(avx|fma|amx)' | tr '\n' ' ')"
cd /t
while read -r t args; do
  echo "=== start $t $args"
  ./$t $args
  echo "=== rc $? $t $args"
done < /tests
echo "=== done"
poweroff -f
EOF
chmod +x "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet) > "$work/iso/initrd"
cp "$vmlinuz" "$work/iso/vmlinuz"
cp "$isolinux" "$ldlinux" "$work/iso/isolinux/"
cat > "$work/iso/isolinux/isolinux.cfg" <<EOF
SERIAL 0 115200
DEFAULT linux
PROMPT 0
TIMEOUT 0
LABEL linux
  KERNEL /vmlinuz
  APPEND initrd=/initrd console=ttyS0,115200 loglevel=${LINUX_SUITE_LOGLEVEL:-4} ${clearcpuid:+clearcpuid=$clearcpuid} panic=-1 reboot=t mitigations=off tsc=reliable clocksource=tsc
EOF
xorriso -as mkisofs -quiet -o "$work/suite.iso" -b isolinux/isolinux.bin \
  -c isolinux/boot.cat -no-emul-boot -boot-load-size 4 -boot-info-table "$work/iso" \
  2> "$work/xorriso.log" || { cat "$work/xorriso.log" >&2; exit 1; }

# Bochs as in run-bochs.sh (bochs-common.sh), the guest's serial console to
# a file
cat > "$work/bochsrc" <<EOF
$(bochs_common_config)
megs: 1024
cpu: model=$model, count=1, ips=50000000, reset_on_triple_fault=0
ata0-master: type=cdrom, path="$work/suite.iso", status=inserted
boot: cdrom
com1: enabled=1, mode=file, dev="$work/serial.txt"
log: $work/bochs.log
info: action=ignore
clock: sync=none, time0=1
EOF
rm -f "$work/serial.txt"
(bochs_exec "$limit" "$work/bochsrc") > "$work/bochs.out" 2>&1 || true

# the guest's console from the first marker on
sed -n '/^=== cpu:/,$p' "$work/serial.txt" 2>/dev/null | grep -v '^\[ *[0-9.]*\] ' || true
if ! grep -q '^=== done' "$work/serial.txt" 2>/dev/null; then
  echo "linux-suite: the guest did not finish (see $work/serial.txt, $work/bochs.log)" >&2
  exit 4
fi
grep -q '^=== cpu:.*avx512f' "$work/serial.txt" \
  || { echo "linux-suite: the guest kernel did not enable AVX-512" >&2; exit 1; }
failed=$(awk '$1 == "===" && $2 == "rc" && $3 != 0 && $3 != 77' "$work/serial.txt")
if [ -n "$failed" ]; then
  echo "linux-suite: failed:"
  echo "$failed"
  exit 1
fi
echo "linux-suite: every test passed or skipped"

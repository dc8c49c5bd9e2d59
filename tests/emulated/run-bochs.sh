#!/bin/sh
# run-bochs.sh IMAGE [CPU_MODEL] [TIMEOUT_S] — boot an image made by
# build-image.sh in Bochs, headless and without reading stdin; print what
# the guest wrote to port 0xE9 and exit with:
#   the status given to emu_exit()  ("EMU-EXIT <n>" marker),
#   3 if the guest took an exception ("EXCEPTION ..." marker),
#   4 on timeout or when no marker appeared (Bochs's error lines go to
#     stderr then).
# CPU_MODEL is one of `bochs -help cpu` (default tigerlake), TIMEOUT_S
# defaults to 600.
set -u
. "$(dirname "$0")/bochs-common.sh"

if [ $# -lt 1 ] || [ $# -gt 3 ]; then
  echo "usage: $0 IMAGE [CPU_MODEL] [TIMEOUT_S]" >&2
  exit 2
fi
image=$1
model=${2:-tigerlake}
limit=${3:-600}
[ -f "$image" ] || { echo "$0: no such image: $1" >&2; exit 2; }

cyl_bytes=$((16 * 63 * 512))
size=$(stat -c %s "$image")
if [ $((size % cyl_bytes)) -ne 0 ]; then
  echo "$0: image size must be a multiple of $cyl_bytes (use build-image.sh)" >&2
  exit 2
fi

tmp=$(mktemp -d)
pid=
# $pid is timeout(1): it passes TERM on to Bochs and KILLs it 5 s later.
cleanup () {
  if [ -n "$pid" ]; then
    kill -TERM "$pid" 2>/dev/null
    wait "$pid"
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cat > "$tmp/bochsrc" <<EOF
$(bochs_common_config)
cpu: model=$model, count=1, ips=50000000, reset_on_triple_fault=0
memory: guest=512, host=512
ata0-master: type=disk, path="$tmp/disk.img", mode=flat, cylinders=$((size / cyl_bytes)), heads=16, spt=63
boot: disk
clock: sync=none, time0=local
port_e9_hack: enabled=1
log: $tmp/bochs.log
info: action=report
EOF
# Bochs locks the image (IMAGE.lock) and leaves the lock behind when it is
# killed; booting a private copy keeps that, and any guest writes, in $tmp.
cp "$image" "$tmp/disk.img"

# $pid is timeout(1) (bochs_exec replaces the subshell)
(bochs_exec "$limit" "$tmp/bochsrc") > "$tmp/stdout" 2> "$tmp/stderr" &
pid=$!
wait "$pid"
rc=$?
pid=

# Bochs's stdout is its banner, the debugger's stop at the reset vector
# (0xfffffff0), the guest's port 0xE9 bytes, and the debugger's line
# "(0).[ticks] [addr] ..." at the end.  Keep the guest's bytes.  (Bochs 3
# prints no stop line there: the guest's bytes follow the banner.)
if grep -q '^(0) \[0x0000fffffff0\]' "$tmp/stdout"; then
  sed -e '1,/^(0) \[0x0000fffffff0\]/d' "$tmp/stdout"
else   # from the line after the banner's closing rule
  awk 'f { print } /Bochs x86 Emulator/ { b = 1 } b && !f && /^=====/ { f = 1 }' "$tmp/stdout"
fi | sed -e '/^(0)\.\[[0-9]*\] \[0x/d' -e 's/(0)\.\[[0-9]*\] \[0x.*$//' > "$tmp/guest"
cat "$tmp/guest"

status=$(sed -n 's/^EMU-EXIT \(-\{0,1\}[0-9][0-9]*\)$/\1/p' "$tmp/guest" | tail -n 1)
if grep -q '^EXCEPTION ' "$tmp/guest"; then
  exit 3
elif [ -n "$status" ]; then
  exit "$status"
fi
if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
  echo "$0: timeout after ${limit}s" >&2
else
  echo "$0: no EMU-EXIT marker (bochs exit status $rc)" >&2
fi
# Bochs's error and panic lines say what went wrong (e.g. a triple fault);
# without a log, Bochs stopped at its configuration and said why on stderr.
if [ -f "$tmp/bochs.log" ]; then
  grep -E '^[0-9]+[ep]\[' "$tmp/bochs.log" | tail -n 10 >&2
else
  tail -n 3 "$tmp/stderr" >&2
fi
exit 4

#!/usr/bin/env bash
# Runs a test executable (and its arguments) as on an x86-64 CPU without AVX:
# user-mode QEMU emulating a Nehalem (SSE4.2, no AVX, AVX2, FMA or AVX-512).
# cpuid then reports none of them, so the engine must dispatch to its
# portable kernels, and any AVX instruction that leaks into code run before
# the cpuid checks dies with SIGILL.  Skips when qemu-x86_64 is missing
# (scripts/test installs Debian's qemu-user).
set -u
q=$(command -v qemu-x86_64 || command -v qemu-x86_64-static || true)
if [ -z "$q" ]; then
  echo "SKIP: qemu-x86_64 not found (Debian package qemu-user; scripts/test installs it)"
  exit 77
fi
exec "$q" -cpu Nehalem "$@"

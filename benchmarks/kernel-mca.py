#!/usr/bin/python3
"""Static throughput of the GEMM kernels' inner loops on a CPU model (llvm-mca).

    benchmarks/kernel-mca.py [BUILD_DIR] [--mcpu sapphirerapids]

For CPUs this project cannot time on: compiles each x86 GEMM kernel file with
the flags of BUILD_DIR's compile_commands.json to assembly, finds the register
tile's k loop (the smallest loop with exactly the tile's multiply-add count
per pass; the fp32 tiles' loops are inline assembly doing 8 k steps a pass),
and prints per k step its multiply-add instructions, the stack accesses in it
(spills or reloads), and the cycles llvm-mca's model of --mcpu predicts, next
to the bound of two vector multiply-add ports.  A model, not a measurement: it
tells whether the loop is bound by the multiply-add ports or by something the
compiler added, nothing about caches or clocks.  Needs llvm-mca (Debian's
llvm-14); without it, says so and exits 0.  Standard library only.
"""
import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# file, kernel, multiply-add mnemonic, vector register, multiply-adds per k
# step (rows × vectors of the register tile), k steps per loop pass, and what
# the loop must not hold (gemm_avx2.c also has the bf16 emulation's 6×16
# tile, with shifts, and the C loop that finishes the full tile's last steps)
KERNELS = [
    ("ops/x86/gemm_avx512.c", "avx512 fp32 14×32", "vfmadd", "zmm", 28, 8, ()),
    ("ops/x86/gemm_avx512bf16.c", "avx512bf16 14×32 (k pairs)", "vdpbf16ps", "zmm", 28, 1, ()),
    ("ops/x86/gemm_int8_vnni512.c", "avx512-vnni512-int8 8×32 (k quads)", "vpdpbusd", "zmm", 16, 1, ()),
    ("ops/x86/gemm_avx2.c", "avx2 fp32 6×16", "vfmadd", "ymm", 12, 8, ("vpslld",)),
]


def loops(asm, mnemonic, reg):
    """(label, body lines, multiply-adds) of every loop: the lines from a label
    to a jump back to it (the body may hold branches of its own).  Labels are
    the compiler's (.L12) or inline assembly's numbered ones (1:, jumped to
    as 1b)."""
    lines = asm.split("\n")
    where = {}
    found = []
    label = re.compile(r"^\s*(\.L\w+|\d+):")
    for i, line in enumerate(lines):
        m = label.match(line)
        if m:
            where[m.group(1)] = i
            continue
        m = re.match(r"\s+j\w+\s+(\.L\w+|\d+b)$", line)
        target = m and m.group(1).rstrip("b")
        if m and target in where:
            body = [l for l in lines[where[target] + 1:i + 1]
                    if not l.startswith("\t.") and not label.match(l) and not l.startswith("#")]
            n = sum(1 for l in body if mnemonic in l and reg in l)
            found.append((m.group(1), body, n))
    return found


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("build", nargs="?",
                    default=os.environ.get("MOBILECLIP_BUILD_DIR", os.path.join(HERE, "build")))
    ap.add_argument("--mcpu", default="sapphirerapids")
    a = ap.parse_args()
    mca = shutil.which("llvm-mca") or shutil.which("llvm-mca-14")
    if not mca:
        print("# kernel-mca skipped: llvm-mca is missing (apt-get install llvm-14)")
        return 0
    commands = json.load(open(os.path.join(a.build, "compile_commands.json")))
    tmp = tempfile.mkdtemp()
    print("| kernel | multiply-adds per k step | stack accesses per step | llvm-mca cycles per step (%s) "
          "| two-port bound |\n|---|---|---|---|---|" % a.mcpu)
    for src, name, mnemonic, reg, want, steps, exclude in KERNELS:
        entry = next((e for e in commands if e["file"].endswith(src)), None)
        if entry is None:
            print("| %s | not built | | | |" % name)
            continue
        args = shlex.split(entry["command"])
        i = args.index("-o")
        args[i + 1] = os.path.join(tmp, os.path.basename(src) + ".s")
        args = [x for j, x in enumerate(args)
                if x not in ("-MD", "-c") and args[j - 1] not in ("-MQ", "-MF") and x not in ("-MQ", "-MF")]
        subprocess.run(args + ["-S"], check=True, cwd=entry["directory"])
        asm = open(args[args.index("-o") + 1]).read()
        match = [(lab, body) for lab, body, n in loops(asm, mnemonic, reg)
                 if n == want * steps and not any(x in l for l in body for x in exclude)]
        if not match:
            print("| %s | no loop with %d %s | | | |" % (name, want * steps, mnemonic))
            continue
        label, body = min(match, key=lambda t: len(t[1]))
        stack = sum(1 for l in body if "(%rsp)" in l or "(%rbp)" in l)
        loop = os.path.join(tmp, "loop.s")
        with open(loop, "w") as f:
            f.write("\n".join(body) + "\n")
        iters = 1000
        p = subprocess.run([mca, "-mcpu=" + a.mcpu, "-iterations=%d" % iters, loop],
                           capture_output=True, text=True)
        m = re.search(r"Total Cycles:\s+(\d+)", p.stdout)
        cycles = "%.2f" % (int(m.group(1)) / iters / steps) if m else "llvm-mca: " + p.stderr.strip()[:60]
        print("| %s | %d | %.2g | %s | %.1f |" % (name, want, stack / steps, cycles, want / 2))
    shutil.rmtree(tmp)
    return 0


if __name__ == "__main__":
    sys.exit(main())

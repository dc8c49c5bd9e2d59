#!/usr/bin/python3
"""Sums an ONNX Runtime profile (ort-bench --profile) by the engine's op families.

    benchmarks/ort-profile.py PROFILE.json [--skip-runs W]

ONNX Runtime's profiler writes a Chrome trace: one "Node" event per node and
pass (its "_kernel_time" event carries the op type and the shapes of the
inputs) and one "model_run" event per pass.  To compare with the per-family
breakdown of `mobileclip bench`, nodes are put in the families the engine
uses: a Conv whose weight is 1×1 is a product ("gemm"), one with a single
input channel per group is "depthwise", any other Conv is "conv"; MatMul and
Gemm are "gemm"; Softmax goes with the attention; the rest are named by op
type.  Prints, per family, milliseconds per pass (the mean over the passes
after the first W, which are the warm-up) and the share of the pass.
"""
import argparse
import collections
import json
import sys


def family(op, shapes):
    if op in ("Conv", "FusedConv"):
        w = shapes[1].get("float", []) if len(shapes) > 1 else []
        if len(w) == 4 and w[2] == 1 and w[3] == 1:
            return "gemm (1x1 conv)"
        if len(w) == 4 and w[1] == 1:
            return "depthwise"
        return "conv"
    if op in ("MatMul", "Gemm", "FusedMatMul", "FusedGemm"):
        return "gemm (matmul)"
    if op == "Softmax":
        return "attention (softmax)"
    return op


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("profile")
    ap.add_argument("--skip-runs", type=int, default=3,
                    help="warm-up passes to leave out (ort-bench's --warmup, default 3)")
    a = ap.parse_args()
    with open(a.profile) as f:
        events = json.load(f)

    runs = sorted(e["ts"] for e in events if e.get("name") == "model_run")
    if len(runs) <= a.skip_runs:
        sys.exit("ort-profile: %d passes in the profile, none after the %d warm-up ones"
                 % (len(runs), a.skip_runs))
    first = runs[a.skip_runs]
    kept = [e for e in events if e.get("name") == "model_run" and e["ts"] >= first]
    sums = collections.Counter()
    for e in events:
        if e.get("cat") != "Node" or not e.get("name", "").endswith("_kernel_time"):
            continue
        if e["ts"] < first:
            continue
        args = e.get("args", {})
        sums[family(args.get("op_name", "?"), args.get("input_type_shape", []))] += e["dur"]
    n = len(kept)
    total = sum(e["dur"] for e in kept) / n / 1000.0
    print("# %s: %d passes, %.2f ms per pass (model_run)" % (a.profile, n, total))
    for fam, us in sums.most_common():
        ms = us / n / 1000.0
        print("%-22s %8.2f ms  %5.1f %%" % (fam, ms, 100.0 * ms / total))
    nodes = sum(sums.values()) / n / 1000.0
    print("%-22s %8.2f ms  %5.1f %%" % ("(all nodes)", nodes, 100.0 * nodes / total))


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Writes one-product ONNX models for bench-gemm-versus-ort.

    benchmarks/gemm_onnx.py OUTDIR MxKxN [MxKxN ...]

Each OUTDIR/matmul_MxKxN.onnx is a linear layer (x[M, K] times a constant
K×N weight, plus a bias), input "x", output "embedding": ONNX Runtime runs it
as one MLAS SGEMM with the weight packed at session creation, the work of
the engine's mc_gemm with packed panels.  Weights are seeded random values
(values do not change the work).  Existing files are kept.  Needs Debian's
python3-torch (run with /usr/bin/python3).
"""
import os
import sys

import torch


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    for spec in sys.argv[2:]:
        m, k, n = (int(v) for v in spec.split("x"))
        path = os.path.join(out, "matmul_%dx%dx%d.onnx" % (m, k, n))
        if os.path.exists(path):
            continue
        layer = torch.nn.Linear(k, n).eval()
        torch.onnx.export(layer, (torch.randn(m, k),), path + ".part", input_names=["x"],
                          output_names=["embedding"], opset_version=17)
        os.replace(path + ".part", path)


if __name__ == "__main__":
    main()

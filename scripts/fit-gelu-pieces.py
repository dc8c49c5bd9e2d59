#!/usr/bin/python3
"""Fits the piecewise erf of the exact vectorized GELU (inference/ops/gelu_template.h).

With a = |x|·S, k = round(a) and t = a - k in [-1/2, 1/2]:

    erf(|x|/sqrt(2)) ~ c0[k] + c1[k]·t + ... + cD[k]·t^D,   k = 0 .. PIECES-1,

one polynomial per piece, its coefficients picked per lane by an 8-entry permute.  S is chosen so that
the last piece reaches |x| = 5.5, beyond which the kernel returns x or 0.  Piece 0 is centred on 0,
where erf is odd: it keeps only the odd powers, so that GELU(x) = x/2 + O(x^2) holds exactly.

Each piece is a minimax fit (least squares reweighted by Lawson's rule) in double; the coefficients are
then rounded to float and the error of the polynomial evaluated as the kernel does (Horner with fused
multiply-adds, emulated in double: the product exact, the sum rounded to double and then to float, which
differs from one rounding only in rare ties) is printed next to the double fit's.  The kernel looks the
coefficients up with an 8-entry permute, so only PIECES = 8 fits it; other values are for exploring.

Usage: /usr/bin/python3 scripts/fit-gelu-pieces.py [S [DEGREE [PIECES]]]
       (defaults 1.36 6 8; needs python3-numpy)
"""
import math
import sys

import numpy as np


def fit_piece(k, scale, degree, points=4000, iterations=300):
    t = 0.5 * np.cos(np.linspace(0, np.pi, points))     # Chebyshev nodes: the error peaks at the ends
    f = np.array([math.erf((k + v) / (scale * math.sqrt(2))) for v in t])
    powers = [i for i in range(degree + 1) if k > 0 or i % 2 == 1]
    basis = np.stack([t**i for i in powers], 1)
    weight = np.full(points, 1.0 / points)
    best = None
    for _ in range(iterations):
        root = np.sqrt(weight)
        sol, *_ = np.linalg.lstsq(basis * root[:, None], f * root, rcond=None)
        err = basis @ sol - f
        worst = np.abs(err).max()
        if best is None or worst < best[0]:
            best = (worst, sol.copy())
        weight = np.maximum(weight * np.abs(err), 1e-300)
        weight /= weight.sum()
        weight = np.maximum(weight, 1e-14)
    coef = [0.0] * (degree + 1)
    for i, c in zip(powers, best[1]):
        coef[i] = c
    return best[0], coef


def fma32(a, b, c):
    """a·b + c rounded once to float (the product of two floats is exact in double)."""
    return np.float32(np.float64(a) * np.float64(b) + np.float64(c))


def float_error(k, scale, coef32, samples=4001):
    worst = 0.0
    for t in np.linspace(-0.5, 0.5, samples).astype(np.float32):
        p = coef32[-1]
        for c in reversed(coef32[:-1]):
            p = fma32(p, t, c)
        worst = max(worst, abs(float(p) - math.erf((k + float(t)) / (scale * math.sqrt(2)))))
    return worst


def main():
    scale = float(sys.argv[1]) if len(sys.argv) > 1 else 1.36
    degree = int(sys.argv[2]) if len(sys.argv) > 2 else 6
    pieces = int(sys.argv[3]) if len(sys.argv) > 3 else 8
    if (pieces - 0.5) / scale < 5.5:
        sys.exit("the last piece must reach |x| = 5.5: S <= %.4f" % ((pieces - 0.5) / 5.5))
    table = []
    for k in range(pieces):
        worst, coef = fit_piece(k, scale, degree)
        coef32 = [np.float32(c) for c in coef]
        table.append(coef32)
        print("/* piece %d: |x| in [%.4f, %.4f]: fit %.3g, in float %.3g */"
              % (k, max(k - 0.5, 0) / scale, (k + 0.5) / scale, worst,
                 float_error(k, scale, coef32)))
    print("static const float gelu_erf_pieces[%d][%d] __attribute__ ((aligned (32))) = {"
          % (degree + 1, pieces))
    for i in range(degree + 1):
        print("  { %s }," % ", ".join("%.9e" % table[k][i] for k in range(pieces)))
    print("};")


if __name__ == "__main__":
    main()

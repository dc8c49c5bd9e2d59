#!/usr/bin/python3
"""Fits the rational erf of the vectorized GELUs (inference/ops/gelu_template.h): the exact GELU of the
portable kernel (the AVX2 and AVX-512 kernels use scripts/fit-gelu-pieces.py's pieces) and the coarse GELU
after bf16 and int8 products.

    erf(z) ~ z * P(z^2) / Q(z^2)   on 0 <= z <= Z,
    P of degree p with P(0) = 2/sqrt(pi) (so that small z keep their relative accuracy),
    Q of degree q with Q(0) = 1.

Sanathanan-Koerner iteration (linearized z*P - erf*Q = 0, reweighted by the last 1/Q) with Lawson's
weights, which push the least-squares fit toward the minimax one; the best iterate is kept.  The fit is
done in s = z^2 / Z^2 (a well-conditioned basis) and printed for w = z^2, as the kernel evaluates it.

Usage: /usr/bin/python3 scripts/fit-gelu-erf.py [p q Z]      (defaults 6 4 3.9; needs python3-numpy)
"""
import math
import sys

import numpy as np


def fit(p, q, zmax, points=8000, iterations=3000):
    # Chebyshev-like spacing: the error of a near-minimax fit peaks near both ends
    z = zmax * (1 - np.cos(np.linspace(0, np.pi, points))) / 2
    f = np.array([math.erf(v) for v in z])
    s = z * z / (zmax * zmax)
    a0 = 2 / math.sqrt(math.pi)
    lawson = np.full(points, 1.0 / points)
    q_last = np.ones(points)
    best = None
    for _ in range(iterations):
        basis = np.hstack([np.stack([z * s**i for i in range(1, p + 1)], 1),
                           np.stack([-f * s**j for j in range(1, q + 1)], 1)])
        row_weight = np.sqrt(lawson) / q_last
        sol, *_ = np.linalg.lstsq(basis * row_weight[:, None], (f - a0 * z) * row_weight, rcond=None)
        a = np.concatenate([[a0], sol[:p]])
        b = np.concatenate([[1.0], sol[p:]])
        num = np.polyval(a[::-1], s)
        den = np.polyval(b[::-1], s)
        err = z * num / den - f
        worst = np.abs(err).max()
        if best is None or worst < best[0]:
            best = (worst, a.copy(), b.copy())
        q_last = den
        lawson = np.maximum(lawson * np.abs(err), 1e-300)
        lawson /= lawson.sum()
        lawson = np.maximum(lawson, 1e-14)
    worst, a, b = best
    scale = zmax * zmax
    return worst, [a[i] / scale**i for i in range(p + 1)], [b[j] / scale**j for j in range(q + 1)]


def main():
    p, q, zmax = (int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])) if len(sys.argv) == 4 else (6, 4, 3.9)
    worst, a, b = fit(p, q, zmax)
    print("erf(z) = z*P(z^2)/Q(z^2) on [0, %g]: max |error| %.3g in double; 1 - erf(%g) = %.3g"
          % (zmax, worst, zmax, 1 - math.erf(zmax)))
    print("P, highest degree first: " + ", ".join("%.9e" % c for c in reversed(a)))
    print("Q, highest degree first: " + ", ".join("%.9e" % c for c in reversed(b)))


if __name__ == "__main__":
    main()

/* gelu_template.h — the vectorized GELUs, written once for every vector
 * width: the exact one (gelu_group) and the coarse one after reduced-precision
 * products (gelu_coarse_group).  Included by gemm_kernel_template.h (the
 * float kernels' finish) and gemm_bf16_amx_template.h (the AMX kernel's
 * epilogue), so that both compute a GELU with the same operations, in the
 * same order: the same bits whichever of them runs it.
 *
 * The includer defines vf, v_set1, v_fma, v_div, v_max, v_min and
 * v_select_gt as gemm_kernel_template.h describes them. */
#ifndef MC_OPS_GELU_TEMPLATE_H
#define MC_OPS_GELU_TEMPLATE_H

#define MC_GELU_INLINE static inline __attribute__ ((always_inline))

/* GELU(x) = x·Φ(x) = h + h·erf(x/√2), h = x/2, as torch.nn.GELU() defines
 * it, with a rational erf on |z| ≤ 3.9, z = x/√2:
 *   erf(z) = z·P(z²)/Q(z²),  P of degree 6 with P(0) = 2/√π, Q of degree 4,
 * fitted by scripts/fit-gelu-erf.py (Lawson-weighted least squares, error
 * 4.5e-8 in double; 1 - erf(3.9) = 3.5e-8).  The error is absolute, as in
 * the reference: 1 + erf cancels for x < 0 in both.  Measured over a dense
 * sweep (test-gemm): within 3.1·2⁻²⁴·|x| with FMA (within 3 ulp of the
 * result for x > 0), where PyTorch's own float GELU, 0.5·x·(1 + erf(x/√2))
 * with its vectorized erf (Abramowitz and Stegun 7.1.26, 1.5e-7), is within
 * 4.6·2⁻²⁴·|x|.  Beyond x ≥ 5.5 the result is x itself (x·Φ(-5.5) is under
 * half an ulp of x), below x < -5.5 it is 0 (|GELU| < 2e-8·|x| there, and
 * the reference's float formula gives 0 too).  z is not clamped: |x| ≤ 5.5
 * keeps |z| ≤ 3.89, inside the fit, and beyond it the selects replace
 * whatever the rational gave (∞/∞ = NaN included).  Dropping the clamp (a
 * min and a max) kept every bit (2²⁴ floats over all exponents, ±∞, NaN,
 * ±5.5, each variant) and took the AVX-512 GELU from 0.249–0.277 to
 * 0.241–0.249 ms per 655 360 values.  About 20 operations a vector, against
 * about 50 for the earlier erfc/exp form that kept relative accuracy in the
 * negative tail (1.1 → 0.45 ns/element on Zen 3, AVX2). */
/* Each vector is a ~50-cycle dependency chain (two Horner polynomials and a
 * division): gelu_group runs `ways` vectors in lock step so that the
 * out-of-order window fills the FMA ports; four keep every value in a
 * register on AVX2 (16 ymm), and a 6×16 tile is three such groups (six,
 * with spills, ran ~5 % faster in a tile loop on Zen 3: ~0.25 % of MCi0). */
#define MC_GELU_WAYS 4
#define MC_EACH _Pragma ("GCC unroll 4") for (int w = 0; w < ways; w++)
MC_GELU_INLINE void
gelu_group (vf *xs, const int ways)
{
  vf z[MC_GELU_WAYS], z2[MC_GELU_WAYS], p[MC_GELU_WAYS], q[MC_GELU_WAYS];

  MC_EACH z[w] = xs[w] * v_set1 (0.707106781186547524f);
  MC_EACH z2[w] = z[w] * z[w];
  MC_EACH p[w] = v_fma (v_set1 (2.010446884e-08f), z2[w],
      v_set1 (-1.973508989e-06f));
  MC_EACH p[w] = v_fma (p[w], z2[w], v_set1 (1.430912804e-04f));
  MC_EACH p[w] = v_fma (p[w], z2[w], v_set1 (3.732633449e-03f));
  MC_EACH p[w] = v_fma (p[w], z2[w], v_set1 (5.065840481e-02f));
  MC_EACH p[w] = v_fma (p[w], z2[w], v_set1 (2.005000407e-01f));
  MC_EACH p[w] = v_fma (p[w], z2[w], v_set1 (1.128379167e+00f));
  MC_EACH q[w] = v_fma (v_set1 (9.651984886e-04f), z2[w],
      v_set1 (1.440992266e-02f));
  MC_EACH q[w] = v_fma (q[w], z2[w], v_set1 (1.152449165e-01f));
  MC_EACH q[w] = v_fma (q[w], z2[w], v_set1 (5.110200356e-01f));
  MC_EACH q[w] = v_fma (q[w], z2[w], v_set1 (1.0f));
  MC_EACH {
    const vf x = xs[w], h = x * v_set1 (0.5f);
    const vf r = v_fma (h, v_div (z[w] * p[w], q[w]), h);
    xs[w] = v_select_gt (v_set1 (-5.5f), x, v_set1 (0.0f),
        v_select_gt (v_set1 (5.5f), x, r, x));
  }
}
#undef MC_EACH

/* GELU after a reduced-precision product (bf16 or int8: gemm.c), whose
 * inputs were rounded to 2⁻⁹ (bf16) or coarser, so that its output is off
 * by ~10⁻³ relative already: erf(z) = z·P(z²)/Q(z²) on |z| ≤ 3.3 with P
 * and Q of degree 3 (scripts/fit-gelu-erf.py 3 3 3.3: error 2.2e-6 in
 * double, 1 − erf(3.3) = 3.1e-6), so GELU is within ~1.3e-6·|x| (test-gemm
 * measures it).  Above x = 4.7 the result is x·(1 − 1.5e-6) (+∞ stays +∞);
 * x below −5.5 is taken as −5.5, whose result −8e-6 is within the bound
 * (and −∞ does not make NaN).  About 15 operations a vector against the
 * exact GELU's 22. */
#define MC_EACH _Pragma ("GCC unroll 4") for (int w = 0; w < ways; w++)
MC_GELU_INLINE void
gelu_coarse_group (vf *xs, const int ways)
{
  vf z[MC_GELU_WAYS], z2[MC_GELU_WAYS], p[MC_GELU_WAYS], q[MC_GELU_WAYS];

  MC_EACH {
    /* NaN stays NaN: v_max and v_min return their second operand then */
    xs[w] = v_max (v_set1 (-5.5f), xs[w]);
    const vf zx = xs[w] * v_set1 (0.707106781186547524f);
    z[w] = v_max (v_set1 (-3.3f), v_min (v_set1 (3.3f), zx));
  }
  MC_EACH z2[w] = z[w] * z[w];
  MC_EACH p[w] = v_fma (v_set1 (7.442609654e-04f), z2[w],
      v_set1 (4.312179877e-02f));
  MC_EACH p[w] = v_fma (p[w], z2[w], v_set1 (1.548054443e-01f));
  MC_EACH p[w] = v_fma (p[w], z2[w], v_set1 (1.128379167e+00f));
  MC_EACH q[w] = v_fma (v_set1 (9.251810784e-03f), z2[w],
      v_set1 (9.496532452e-02f));
  MC_EACH q[w] = v_fma (q[w], z2[w], v_set1 (4.705395389e-01f));
  MC_EACH q[w] = v_fma (q[w], z2[w], v_set1 (1.0f));
  MC_EACH {
    const vf h = xs[w] * v_set1 (0.5f);
    xs[w] = v_fma (h, v_div (z[w] * p[w], q[w]), h);
  }
}
#undef MC_EACH

#endif

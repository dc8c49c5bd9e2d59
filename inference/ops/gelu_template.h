/* gelu_template.h — the vectorized GELUs, written once for every vector
 * width: the exact one (gelu_group) and the coarse one after reduced-precision
 * products (gelu_coarse_group).  Included by gemm_kernel_template.h (the
 * float kernels' finish) and gemm_bf16_amx_template.h (the AMX kernel's
 * epilogue), so that both compute a GELU with the same operations, in the
 * same order: the same bits whichever of them runs it.
 *
 * The includer defines vf, vi, v_set1, v_fma, v_div, v_max, v_min and
 * v_select_gt as gemm_kernel_template.h describes them, and MC_GELU_PIECES
 * with v_lut8 where it has a one-instruction lookup. */
#ifndef MC_OPS_GELU_TEMPLATE_H
#define MC_OPS_GELU_TEMPLATE_H

#define MC_GELU_INLINE static inline __attribute__ ((always_inline))

/* GELU(x) = x·Φ(x) = h + h·erf(x/√2), h = x/2, as torch.nn.GELU() defines
 * it.  The error is absolute, as in the reference: 1 + erf cancels for
 * x < 0 in both.  Beyond x > 5.5 the result is x itself (x·Φ(-5.5) is under
 * half an ulp of x), below x < -5.5 it is 0 (|GELU| < 2e-8·|x| there, and
 * the reference's float formula gives 0 too).  PyTorch's own float GELU,
 * 0.5·x·(1 + erf(x/√2)) with its vectorized erf (Abramowitz and Stegun
 * 7.1.26, 1.5e-7), is within 4.6·2⁻²⁴·|x|.
 *
 * Two forms of erf(|x|/√2), each checked over every float (2³² inputs):
 *
 * - Where the includer has a one-instruction 8-entry lookup (MC_GELU_PIECES:
 *   VPERMPS on AVX2 and AVX-512), a polynomial of degree 6 on each of 8
 *   pieces: a = min(|x|, 5.5)·1.36, k = round(a), t = a − k in [−½, ½],
 *   erf = Σ c_i[k]·tⁱ (scripts/fit-gelu-pieces.py: minimax in double, 3.3e-8
 *   on piece 0, which keeps only odd powers so that GELU(x) = x/2 + O(x²),
 *   under 1.7e-8 on the others).  Within 1.52·2⁻²⁴·|x|, 1.36 ulp of the
 *   result for x > 0; AVX2 and AVX-512 give the same bits for every input.
 *   Above 5.5 the clamped piece already gives x (checked for every float),
 *   so only the lower tail needs a select.  No division: mc_gelu_inplace on
 *   Zen 5, 4096 values in L1, 0.202 → 0.178 ns a value on AVX-512 and
 *   0.397 → 0.311 on AVX2 against the rational form, which it replaced there
 *   (that was within 3.33·2⁻²⁴·|x| and 2.88 ulp).
 * - Elsewhere (the portable kernel, whose lookups would be lane by lane: its
 *   MCi0 forward took 4 % longer with the pieces), a rational form on
 *   |z| ≤ 3.9, z = x/√2: erf(z) = z·P(z²)/Q(z²), P of degree 6 with P(0) =
 *   2/√π, Q of degree 4 (scripts/fit-gelu-erf.py: error 4.5e-8 in double;
 *   1 − erf(3.9) = 3.5e-8).  z is not clamped: |x| ≤ 5.5 keeps |z| ≤ 3.89,
 *   and beyond it the selects replace whatever the rational gave (∞/∞ = NaN
 *   included).  Without FMA (the portable kernel), within 4.39·2⁻²⁴·|x|
 *   (3.51 ulp for x > 0); the pieces would be within 2.04 there. */
/* Each vector is a chain of dependent steps (the Horner polynomials, and
 * the division of the rational form): gelu_group runs `ways` vectors in
 * lock step so that the out-of-order window fills the ports; four, and a
 * 6×16 tile is three such groups. */
#define MC_GELU_WAYS 4
#define MC_EACH _Pragma ("GCC unroll 4") for (int w = 0; w < ways; w++)
#ifdef MC_GELU_PIECES
static const float gelu_erf_pieces[7][8] __attribute__ ((aligned (32))) = {
  { 0.000000000e+00, 5.378395915e-01, 8.585975170e-01, 9.726077914e-01,
    9.967303276e-01, 9.997634888e-01, 9.999897480e-01, 9.999997616e-01 },
  { 5.866793394e-01, 4.477122724e-01, 1.989722848e-01, 5.149675906e-02,
    7.761799730e-03, 6.813207292e-04, 3.483207911e-05, 1.037322704e-06 },
  { 0.000000000e+00, -1.210291535e-01, -1.075758860e-01, -4.176328704e-02,
    -8.392947726e-03, -9.208847769e-04, -5.649250670e-05, -1.962546321e-06 },
  { -5.285073072e-02, -1.853503659e-02, 2.083762176e-02, 1.794231310e-02,
    5.352252163e-03, 7.680506678e-04, 5.779003914e-05, 2.364548891e-06 },
  { 0.000000000e+00, 1.340562850e-02, 4.061381798e-03, -3.510162467e-03,
    -2.137507312e-03, -4.363753251e-04, -4.184088903e-05, -2.066085244e-06 },
  { 4.168657586e-03, 8.298338071e-05, -2.507996280e-03, -3.406833857e-04,
    4.794160777e-04, 1.765304623e-04, 2.371476694e-05, 1.513828011e-06 },
  { 0.000000000e+00, -9.431486251e-04, 1.545459963e-04, 3.340262920e-04,
    -1.825169420e-05, -4.651733616e-05, -9.473239516e-06, -7.775522022e-07 },
};

MC_GELU_INLINE void
gelu_group (vf *xs, const int ways)
{
  /* 1.5·2²³: a + this rounds a (≤ 7.5) to an integer in the low mantissa
   * bits, to nearest as MXCSR has it by default (the bf16 emulations set
   * their own mode only around their products: bf16_mxcsr.h) */
  const float round_bias = 12582912.0f;
  vf t[MC_GELU_WAYS], p[MC_GELU_WAYS];
  vi k[MC_GELU_WAYS];

  MC_EACH {
    /* NaN takes piece 7 (MINPS returns its second operand); h keeps it */
    const vf a = v_min ((vf) ((vi) xs[w] & 0x7fffffff), v_set1 (5.5f));
    const vf biased = v_fma (a, v_set1 (1.36f), v_set1 (round_bias));
    k[w] = (vi) biased;
    t[w] = v_fma (a, v_set1 (1.36f), v_set1 (round_bias) - biased);
  }
  MC_EACH p[w] = v_lut8 (k[w], gelu_erf_pieces[6]);
  for (int c = 5; c >= 0; c--)
    MC_EACH p[w] = v_fma (p[w], t[w], v_lut8 (k[w], gelu_erf_pieces[c]));
  MC_EACH {
    const vf x = xs[w], h = x * v_set1 (0.5f);
    /* erf is odd: the sign of x onto erf(|x|/√2) */
    const vf e = (vf) ((vi) p[w] ^ ((vi) x & (int) 0x80000000u));
    xs[w] = v_select_gt (v_set1 (-5.5f), x, v_set1 (0.0f), v_fma (h, e, h));
  }
}
#else
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
#endif
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

/* resample_avx512.c — the avx512 variant's two passes (compiled with
 * -mavx512f -mavx512bw -mavx512vbmi -mavx512vnni; see kernels_avx512.h for
 * the layout).  Integer arithmetic as in resample.c and resample_avx2.c:
 * int32 sums of u8·(22-bit weight) plus 2^21, >> 22, clamped to 0..255.
 *
 * Exactness: a digit sum over a slot's taps is at most 255·128 per tap, far
 * inside int32, and Σd2·2^16 + Σd1·2^8 + Σd0 is the exact Σ p·k, below 2^31
 * (non-negative weights summing to 2^22 ± a few units).
 */
#include "kernels_avx512.h"

#include <immintrin.h>

#include "runtime/error.h"

#define WINDOW 128          /* bytes one VPERMT2B picks from */
#define GROUP 16            /* outputs per group, one dword slot each */
#define TAPS_PER_STEP 4     /* the bytes VPDPBUSD multiplies into a dword */

/* k as three signed bytes, k = d[2]·2^16 + d[1]·2^8 + d[0]; 0 when k is
 * beyond what three digits hold (about ±2^23). */
static int
signed_digits (int32_t k, int8_t d[3])
{
  for (int i = 0; i < 3; i++) {
    const int low = ((k & 255) ^ 128) - 128;   /* k mod 256 in [-128, 127] */
    d[i] = (int8_t) low;
    k = (k - low) / 256;
  }
  return k == 0;
}

/* Whether every group's outputs start within its window, 4 taps short of
 * its end. */
static int
fits (const mc_filter_table *t)
{
  for (int o0 = 0; o0 < t->n_out; o0 += GROUP) {
    const int last = o0 + GROUP - 1 < t->n_out ? o0 + GROUP - 1 : t->n_out - 1;
    if (t->first[last] - t->first[o0] + TAPS_PER_STEP > WINDOW)
      return 0;
  }
  return 1;
}

mc_status
mc_hplan512_build (mc_hplan512 *plan, const mc_filter_table *t, mc_error *err)
{
  mc_hplan512_clear (plan);
  if (t->n_out < 1 || !fits (t))
    return MC_OK;
  int max_count = 1;
  for (int i = 0; i < t->n_out; i++)
    if (t->count[i] > max_count)
      max_count = t->count[i];
  const int steps = (max_count + TAPS_PER_STEP - 1) / TAPS_PER_STEP;
  const int n_groups = (t->n_out + GROUP - 1) / GROUP;

  const size_t index_bytes = (size_t) n_groups * 64;
  const size_t digit_bytes = (size_t) n_groups * steps * 48 * sizeof (int32_t);
  const size_t first_bytes = (size_t) n_groups * sizeof (int32_t);
  if (posix_memalign (&plan->mem, 64, index_bytes + digit_bytes + first_bytes) != 0) {
    plan->mem = NULL;
    return mc_err (err, MC_ERR_NOMEM, "preprocess: out of memory for the AVX-512 filter plan");
  }
  memset (plan->mem, 0, index_bytes + digit_bytes + first_bytes);
  plan->index = plan->mem;
  plan->digits = (int32_t *) (plan->index + index_bytes);
  plan->first = plan->digits + (size_t) n_groups * steps * 48;
  plan->steps = steps;
  plan->n_groups = n_groups;
  plan->read_end = 0;

  for (int g = 0; g < n_groups; g++) {
    /* padding outputs read where the last real one does, with weight 0 */
    const int o0 = g * GROUP, base = t->first[o0 < t->n_out ? o0 : t->n_out - 1];
    const int end = base + (steps - 1) * TAPS_PER_STEP + WINDOW;
    plan->first[g] = base;
    if (end > plan->read_end)
      plan->read_end = end;
    for (int j = 0; j < GROUP; j++) {
      const int o = o0 + j, real = o < t->n_out;
      const int d = t->first[real ? o : t->n_out - 1] - base;
      for (int q = 0; q < TAPS_PER_STEP; q++)
        plan->index[64 * g + TAPS_PER_STEP * j + q] = (uint8_t) (d + q);
      for (int s = 0; s < steps; s++) {
        uint8_t *w = (uint8_t *) (plan->digits + ((size_t) g * steps + s) * 48);
        for (int q = 0; q < TAPS_PER_STEP; q++) {
          const int tap = s * TAPS_PER_STEP + q;
          int8_t dg[3] = { 0, 0, 0 };
          if (real && tap < t->count[o]
              && !signed_digits (t->coef[(size_t) o * t->taps + tap], dg)) {
            mc_hplan512_clear (plan);   /* not a resampling weight: AVX2 */
            return MC_OK;
          }
          for (int c = 0; c < 3; c++)
            w[64 * c + TAPS_PER_STEP * j + q] = (uint8_t) dg[c];
        }
      }
    }
  }
  plan->n_out = t->n_out;
  return MC_OK;
}

/* Σ p·k of every output of group g, per channel, as exact int32. */
static inline __attribute__ ((always_inline)) void
filter_group (const mc_hplan512 *plan, int g, const uint8_t *r, const uint8_t *gr,
    const uint8_t *b, int origin, __m512i out[3])
{
  const __m512i idx = _mm512_load_si512 ((const void *) (plan->index + 64 * g));
  const __m512i *w = (const __m512i *) (plan->digits + (size_t) g * plan->steps * 48);
  ptrdiff_t a = plan->first[g] - origin;
  __m512i r0 = _mm512_setzero_si512 (), r1 = r0, r2 = r0, g0 = r0, g1 = r0, g2 = r0;
  __m512i b0 = r0, b1 = r0, b2 = r0;

  for (int s = 0; s < plan->steps; s++, a += TAPS_PER_STEP) {
    const __m512i w0 = _mm512_load_si512 (w + 3 * s), w1 = _mm512_load_si512 (w + 3 * s + 1);
    const __m512i w2 = _mm512_load_si512 (w + 3 * s + 2);
    __m512i x = _mm512_permutex2var_epi8 (_mm512_loadu_si512 (r + a), idx,
        _mm512_loadu_si512 (r + a + 64));
    r0 = _mm512_dpbusd_epi32 (r0, x, w0);
    r1 = _mm512_dpbusd_epi32 (r1, x, w1);
    r2 = _mm512_dpbusd_epi32 (r2, x, w2);
    x = _mm512_permutex2var_epi8 (_mm512_loadu_si512 (gr + a), idx,
        _mm512_loadu_si512 (gr + a + 64));
    g0 = _mm512_dpbusd_epi32 (g0, x, w0);
    g1 = _mm512_dpbusd_epi32 (g1, x, w1);
    g2 = _mm512_dpbusd_epi32 (g2, x, w2);
    x = _mm512_permutex2var_epi8 (_mm512_loadu_si512 (b + a), idx,
        _mm512_loadu_si512 (b + a + 64));
    b0 = _mm512_dpbusd_epi32 (b0, x, w0);
    b1 = _mm512_dpbusd_epi32 (b1, x, w1);
    b2 = _mm512_dpbusd_epi32 (b2, x, w2);
    /* pins the sums to their registers: without it GCC 12 copies each to
     * another register and back every step, as in the AVX2 pass */
    __asm__ ("" : "+v" (r0), "+v" (r1), "+v" (r2), "+v" (g0), "+v" (g1), "+v" (g2),
        "+v" (b0), "+v" (b1), "+v" (b2));
  }
  out[0] = _mm512_add_epi32 (_mm512_add_epi32 (_mm512_slli_epi32 (r2, 16),
          _mm512_slli_epi32 (r1, 8)), r0);
  out[1] = _mm512_add_epi32 (_mm512_add_epi32 (_mm512_slli_epi32 (g2, 16),
          _mm512_slli_epi32 (g1, 8)), g0);
  out[2] = _mm512_add_epi32 (_mm512_add_epi32 (_mm512_slli_epi32 (b2, 16),
          _mm512_slli_epi32 (b1, 8)), b0);
}

/* 16 outputs per channel to RGB bytes: the first `count` triples to dst. */
static inline void
store_block (const __m512i sum[3], uint8_t *dst, int count)
{
  const __m512i half = _mm512_set1_epi32 (MC_RESAMPLE_HALF), zero = _mm512_setzero_si512 ();
  __m128i ch[3];
  for (int c = 0; c < 3; c++) {
    const __m512i v = _mm512_srai_epi32 (_mm512_add_epi32 (sum[c], half), MC_RESAMPLE_BITS);
    /* 0..255: negative to 0 here, beyond 255 by the unsigned saturation */
    ch[c] = _mm512_cvtusepi32_epi8 (_mm512_max_epi32 (v, zero));
  }
  /* bytes R0..15 G0..15 B0..15 to R0 G0 B0 R1 G1 B1 ... */
  const __m512i planar = _mm512_inserti32x4 (_mm512_inserti32x4 (
          _mm512_castsi128_si512 (ch[0]), ch[1], 1), ch[2], 2);
  const __m512i interleave = _mm512_set_epi8 (
      0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
      47, 31, 15, 46, 30, 14, 45, 29, 13, 44, 28, 12, 43, 27, 11, 42,
      26, 10, 41, 25, 9, 40, 24, 8, 39, 23, 7, 38, 22, 6, 37, 21,
      5, 36, 20, 4, 35, 19, 3, 34, 18, 2, 33, 17, 1, 32, 16, 0);
  const __mmask64 keep = (1ull << (3 * count)) - 1;
  _mm512_mask_storeu_epi8 (dst, keep, _mm512_permutexvar_epi8 (interleave, planar));
}

void
mc_hpass_row_avx512 (const mc_hplan512 *plan, const uint8_t *r, const uint8_t *g,
    const uint8_t *b, int origin, uint8_t *dst)
{
  __m512i sum[3];

  for (int grp = 0; grp < plan->n_groups; grp++) {
    const int left = plan->n_out - GROUP * grp;
    filter_group (plan, grp, r, g, b, origin, sum);
    store_block (sum, dst + 3 * GROUP * grp, left < GROUP ? left : GROUP);
  }
}

/* ---- the vertical pass ----
 * Four rows a step: their bytes of each output column interleaved into one
 * dword (two rounds of unpacks, which keep 128-bit lanes: dword vector j
 * holds columns 16L + 4j .. 16L + 4j + 3 of lane L), and VPDPBUSD with
 * the four taps' digits.  The AVX2 passes need a widening and an unpack
 * per two rows and 16 columns on the shuffle port; here two unpacks per
 * four rows and 16 columns.  Taps beyond the table's reuse row 0 with
 * digits 0. */

#define VPASS_MAX_STEPS 128   /* 512 taps; deeper tables take the AVX2 pass */

/* The 64 columns from x (m: the ones that exist) of four rows into the
 * three digit sums of each of the four dword vectors. */
static inline __attribute__ ((always_inline)) void
vpass_step (const uint8_t *const p[4], int x, __mmask64 m, const __m512i w[3],
    __m512i acc[4][3])
{
  const __m512i a = _mm512_maskz_loadu_epi8 (m, p[0] + x);
  const __m512i b = _mm512_maskz_loadu_epi8 (m, p[1] + x);
  const __m512i c = _mm512_maskz_loadu_epi8 (m, p[2] + x);
  const __m512i d = _mm512_maskz_loadu_epi8 (m, p[3] + x);
  const __m512i ab_lo = _mm512_unpacklo_epi8 (a, b), ab_hi = _mm512_unpackhi_epi8 (a, b);
  const __m512i cd_lo = _mm512_unpacklo_epi8 (c, d), cd_hi = _mm512_unpackhi_epi8 (c, d);
  const __m512i q[4] = {
    _mm512_unpacklo_epi16 (ab_lo, cd_lo), _mm512_unpackhi_epi16 (ab_lo, cd_lo),
    _mm512_unpacklo_epi16 (ab_hi, cd_hi), _mm512_unpackhi_epi16 (ab_hi, cd_hi),
  };
  for (int j = 0; j < 4; j++)
    for (int e = 0; e < 3; e++)
      acc[j][e] = _mm512_dpbusd_epi32 (acc[j][e], q[j], w[e]);
}

void
mc_vpass_row_avx512 (const uint8_t *const *rows, const int32_t *k, int count,
    int n, float *dst)
{
  const int steps = (count + TAPS_PER_STEP - 1) / TAPS_PER_STEP;
  int32_t digit[VPASS_MAX_STEPS][3];
  const uint8_t *row[VPASS_MAX_STEPS][4];

  if (steps > VPASS_MAX_STEPS) {
    mc_vpass_row_avx2 (rows, k, count, n, dst);
    return;
  }
  for (int s = 0; s < steps; s++) {
    uint8_t dg[3][4] = { { 0 } };
    for (int q = 0; q < TAPS_PER_STEP; q++) {
      const int t = s * TAPS_PER_STEP + q;
      int8_t d[3] = { 0, 0, 0 };
      if (t < count && !signed_digits (k[t], d)) {
        mc_vpass_row_avx2 (rows, k, count, n, dst);   /* not a resampling weight */
        return;
      }
      for (int e = 0; e < 3; e++)
        dg[e][q] = (uint8_t) d[e];
      row[s][q] = rows[t < count ? t : 0];
    }
    for (int e = 0; e < 3; e++)
      memcpy (&digit[s][e], dg[e], 4);
  }

  const __m512i half = _mm512_set1_epi32 (MC_RESAMPLE_HALF), zero = _mm512_setzero_si512 ();
  const __m512i top = _mm512_set1_epi32 (255);
  const __m512 scale = _mm512_set1_ps (255.0f);
  for (int x = 0; x < n; x += 64) {
    const int left = n - x < 64 ? n - x : 64;
    const __mmask64 m = left == 64 ? ~(__mmask64) 0 : ((__mmask64) 1 << left) - 1;
    __m512i acc[4][3];
    for (int j = 0; j < 4; j++)
      for (int e = 0; e < 3; e++)
        acc[j][e] = zero;
    for (int s = 0; s < steps; s++) {
      const __m512i w[3] = { _mm512_set1_epi32 (digit[s][0]), _mm512_set1_epi32 (digit[s][1]),
        _mm512_set1_epi32 (digit[s][2]) };
      vpass_step (row[s], x, m, w, acc);
    }
    /* Σ p·k + 2^21, >> 22, clamped, / 255 (a true division, as ToTensor) */
    __m512 v[4];
    for (int j = 0; j < 4; j++) {
      __m512i sum = _mm512_add_epi32 (_mm512_add_epi32 (_mm512_slli_epi32 (acc[j][2], 16),
              _mm512_slli_epi32 (acc[j][1], 8)), _mm512_add_epi32 (acc[j][0], half));
      sum = _mm512_min_epi32 (_mm512_max_epi32 (_mm512_srai_epi32 (sum, MC_RESAMPLE_BITS), zero),
          top);
      v[j] = _mm512_div_ps (_mm512_cvtepi32_ps (sum), scale);
    }
    /* vector j holds columns 16L + 4j .. + 3 of lane L: 4×4 blocks of 128
     * bits transposed restore the column order */
    const __m512 t0 = _mm512_shuffle_f32x4 (v[0], v[1], 0x44), t1 = _mm512_shuffle_f32x4 (v[2], v[3], 0x44);
    const __m512 t2 = _mm512_shuffle_f32x4 (v[0], v[1], 0xee), t3 = _mm512_shuffle_f32x4 (v[2], v[3], 0xee);
    const __m512 o[4] = {
      _mm512_shuffle_f32x4 (t0, t1, 0x88), _mm512_shuffle_f32x4 (t0, t1, 0xdd),
      _mm512_shuffle_f32x4 (t2, t3, 0x88), _mm512_shuffle_f32x4 (t2, t3, 0xdd),
    };
    for (int j = 0; j < 4; j++) {
      const int cols = left - 16 * j;
      if (cols >= 16)
        _mm512_storeu_ps (dst + x + 16 * j, o[j]);
      else if (cols > 0)
        _mm512_mask_storeu_ps (dst + x + 16 * j, (__mmask16) ((1u << cols) - 1), o[j]);
    }
  }
}

/* resample_avx2.c — the horizontal and vertical passes with AVX2 (compiled
 * with -mavx2; see kernels_avx2.h for the layout).  Integer arithmetic as in
 * resample.c and mc-preprocess.orc: int32 sums of u8·(22-bit weight) plus
 * 2^21, >> 22, clamped to 0..255.
 *
 * Horizontal pass.  ORC cannot gather per-output windows; here a group of 8
 * outputs (per_lane = 4) takes two 16-byte windows of a planar row, one per
 * 128-bit lane, and vpshufb spreads them so that each 32-bit slot holds the
 * two samples (t, t+1) of its own output as 16-bit words.  The shuffle is
 * the same for every step and channel of the group, so a step costs per
 * channel one window load, one shuffle and two pmaddwd (the weight's high
 * and low 11 bits).  When outputs lie further apart (stronger downscales)
 * two or one outputs share a lane and take 4 or 8 taps per step; horizontal
 * adds then fold their slots.  Each group's windows start at its own first
 * input, so no output reads more steps than its count needs, rounded up.
 *
 * Exactness: p ≤ 255 and a half-weight ≤ 2048, so a pmaddwd slot is below
 * 2^20; Σhi·2^11 + Σlo is the exact Σ p·k, which stays below 2^31 because
 * the weights are non-negative and sum to 2^22 (± a few units).
 */
#include "kernels_avx2.h"

#include <immintrin.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/error.h"

#define HALF_BITS 11

/* Built twice: as itself for the avx2 variant, and included by
 * resample_avxvnni.c (-mavxvnni) for the avx-vnni one, where a multiply-add
 * of word pairs into dword sums is the single VPDPWSSD.  The sums are the
 * same integers (no pmaddwd slot here can overflow), so the bytes are too.
 * PP_FN names the functions built in both. */
#ifdef MC_PP_AVX_VNNI
/* In assembly: with _mm256_dpwssd_avx_epi32, GCC 12 copies every
 * accumulator to another register and back each step (12 moves a step of
 * the horizontal pass). */
static inline __m256i
dot_add (__m256i acc, __m256i x, __m256i w)
{
  __asm__ ("%{vex%} vpdpwssd %2, %1, %0" : "+x" (acc) : "x" (x), "x" (w));
  return acc;
}
#define DOT_ADD(acc, x, w) dot_add ((acc), (x), (w))
#define PP_FN(name) name##_avxvnni
#else
#define DOT_ADD(acc, x, w) _mm256_add_epi32 ((acc), _mm256_madd_epi16 ((x), (w)))
#define PP_FN(name) name##_avx2
#endif

#ifndef MC_PP_AVX_VNNI   /* the plan is the same for both builds */
/* The widest lane sharing whose windows still fit 16 bytes: the last output
 * of a lane starts at most 16 - (taps per step) bytes after the first. */
static int
choose_per_lane (const mc_filter_table *t)
{
  static const int options[] = { 4, 2 };
  for (int oi = 0; oi < 2; oi++) {
    const int k = options[oi], span = 16 - 8 / k;
    int fits = 1;
    for (int i = 0; i + 1 < t->n_out && fits; i += k) {
      const int last = i + k - 1 < t->n_out ? i + k - 1 : t->n_out - 1;
      fits = t->first[last] - t->first[i] <= span;
    }
    if (fits)
      return k;
  }
  return 1;
}

mc_status
mc_hplan_build_avx2 (mc_hplan *plan, const mc_filter_table *t, mc_error *err)
{
  mc_hplan_clear (plan);
  const int k = choose_per_lane (t), per_group = 2 * k, taps_per_step = 8 / k;
  int max_count = 1;
  for (int i = 0; i < t->n_out; i++)
    if (t->count[i] > max_count)
      max_count = t->count[i];
  const int steps = (max_count + taps_per_step - 1) / taps_per_step;
  /* blocks of 8 outputs: one packed store per block */
  const int n_pad = (t->n_out + 7) / 8 * 8, n_groups = n_pad / per_group;

  const size_t shuffle_bytes = (size_t) n_groups * 32;
  const size_t weight_bytes = (size_t) n_groups * steps * 16 * sizeof (int32_t);
  const size_t first_bytes = (size_t) n_groups * 2 * sizeof (int32_t);
  if (posix_memalign (&plan->mem, 32, shuffle_bytes + weight_bytes + first_bytes) != 0) {
    plan->mem = NULL;
    return mc_err (err, MC_ERR_NOMEM, "preprocess: out of memory for the AVX2 filter plan");
  }
  plan->shuffle = plan->mem;
  plan->weights = (int32_t *) (plan->shuffle + shuffle_bytes);
  plan->lane_first = plan->weights + (size_t) n_groups * steps * 16;
  plan->n_out = t->n_out;
  plan->per_lane = k;
  plan->steps = steps;
  plan->n_groups = n_groups;
  plan->read_end = 0;

  const int slots = 4 / k;   /* 32-bit slots per output */
  for (int g = 0; g < n_groups; g++) {
    for (int lane = 0; lane < 2; lane++) {
      const int o0 = g * per_group + lane * k;
      /* padding outputs read where the last real one does, with weight 0 */
      const int base = t->first[o0 < t->n_out ? o0 : t->n_out - 1];
      plan->lane_first[2 * g + lane] = base;
      const int end = base + (steps - 1) * taps_per_step + 16;
      if (end > plan->read_end)
        plan->read_end = end;
      for (int j = 0; j < k; j++) {
        const int o = o0 + j, real = o < t->n_out;
        const int d = t->first[real ? o : t->n_out - 1] - base;
        for (int q = 0; q < slots; q++) {
          const int slot = j * slots + q;
          uint8_t *ctl = plan->shuffle + 32 * g + 16 * lane + 4 * slot;
          ctl[0] = (uint8_t) (d + 2 * q);
          ctl[1] = 0x80;
          ctl[2] = (uint8_t) (d + 2 * q + 1);
          ctl[3] = 0x80;
          for (int s = 0; s < steps; s++) {
            int32_t *w = plan->weights + ((size_t) g * steps + s) * 16;
            const int tap = s * taps_per_step + 2 * q;
            int32_t k0 = 0, k1 = 0;
            if (real && tap < t->count[o])
              k0 = t->coef[(size_t) o * t->taps + tap];
            if (real && tap + 1 < t->count[o])
              k1 = t->coef[(size_t) o * t->taps + tap + 1];
            const int idx = 4 * lane + slot;
            w[idx] = (k0 >> HALF_BITS) | (k1 >> HALF_BITS) << 16;
            w[8 + idx] = (k0 & ((1 << HALF_BITS) - 1)) | (k1 & ((1 << HALF_BITS) - 1)) << 16;
          }
        }
      }
    }
  }
  return MC_OK;
}

#endif   /* !MC_PP_AVX_VNNI */

static inline __m256i
load_windows (const uint8_t *lane0, const uint8_t *lane1)
{
  return _mm256_inserti128_si256 (_mm256_castsi128_si256 (
          _mm_loadu_si128 ((const __m128i *) lane0)),
      _mm_loadu_si128 ((const __m128i *) lane1), 1);
}

/* Σ p·k of every slot of group g, per channel, as exact int32.  `step`
 * (8 / per_lane) is a constant at every call. */
static inline __attribute__ ((always_inline)) void
filter_group (const mc_hplan *plan, int g, const uint8_t *r, const uint8_t *gr,
    const uint8_t *b, int origin, const int step, __m256i out[3])
{
  const __m256i ctl = _mm256_load_si256 ((const __m256i *) (plan->shuffle + 32 * g));
  const __m256i *w = (const __m256i *) (plan->weights + (size_t) g * plan->steps * 16);
  ptrdiff_t a0 = plan->lane_first[2 * g] - origin, a1 = plan->lane_first[2 * g + 1] - origin;
  __m256i rh = _mm256_setzero_si256 (), rl = rh, gh = rh, gl = rh, bh = rh, bl = rh;
  for (int s = 0; s < plan->steps; s++, a0 += step, a1 += step) {
    const __m256i wh = _mm256_load_si256 (w + 2 * s);
    const __m256i wl = _mm256_load_si256 (w + 2 * s + 1);
    __m256i x = _mm256_shuffle_epi8 (load_windows (r + a0, r + a1), ctl);
    rh = DOT_ADD (rh, x, wh);
    rl = DOT_ADD (rl, x, wl);
    x = _mm256_shuffle_epi8 (load_windows (gr + a0, gr + a1), ctl);
    gh = DOT_ADD (gh, x, wh);
    gl = DOT_ADD (gl, x, wl);
    x = _mm256_shuffle_epi8 (load_windows (b + a0, b + a1), ctl);
    bh = DOT_ADD (bh, x, wh);
    bl = DOT_ADD (bl, x, wl);
    /* pins the sums to their registers: without it GCC 12 computes each
     * into another register and copies it back, six moves a step */
    __asm__ ("" : "+x" (rh), "+x" (rl), "+x" (gh), "+x" (gl), "+x" (bh), "+x" (bl));
  }
  out[0] = _mm256_add_epi32 (_mm256_slli_epi32 (rh, HALF_BITS), rl);
  out[1] = _mm256_add_epi32 (_mm256_slli_epi32 (gh, HALF_BITS), gl);
  out[2] = _mm256_add_epi32 (_mm256_slli_epi32 (bh, HALF_BITS), bl);
}

/* Eight outputs per channel (dwords in output order) to 24 RGB bytes at
 * dst; bytes dst[24..27] are overwritten with junk. */
static inline void
store_block (const __m256i sum[3], uint8_t *dst)
{
  const __m256i half = _mm256_set1_epi32 (MC_RESAMPLE_HALF);
  __m256i r = _mm256_srai_epi32 (_mm256_add_epi32 (sum[0], half), MC_RESAMPLE_BITS);
  __m256i g = _mm256_srai_epi32 (_mm256_add_epi32 (sum[1], half), MC_RESAMPLE_BITS);
  __m256i b = _mm256_srai_epi32 (_mm256_add_epi32 (sum[2], half), MC_RESAMPLE_BITS);
  /* saturating packs clamp to 0..255; per lane: R0-3 G0-3 B0-3 B0-3 */
  __m256i bytes = _mm256_packus_epi16 (_mm256_packus_epi32 (r, g), _mm256_packus_epi32 (b, b));
  const __m256i interleave = _mm256_setr_epi8 (
      0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11, -1, -1, -1, -1,
      0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11, -1, -1, -1, -1);
  bytes = _mm256_shuffle_epi8 (bytes, interleave);
  _mm_storeu_si128 ((__m128i *) dst, _mm256_castsi256_si128 (bytes));
  _mm_storeu_si128 ((__m128i *) (dst + 12), _mm256_extracti128_si256 (bytes, 1));
}

void
PP_FN (mc_hpass_row) (const mc_hplan *plan, const uint8_t *r, const uint8_t *g,
    const uint8_t *b, int origin, uint8_t *dst)
{
  const int n_blocks = (plan->n_out + 7) / 8;
  __m256i s0[3], s1[3], s2[3], s3[3], sum[3];

  switch (plan->per_lane) {
    case 4:
      for (int blk = 0; blk < n_blocks; blk++) {
        filter_group (plan, blk, r, g, b, origin, 2, sum);
        store_block (sum, dst + 24 * blk);
      }
      break;
    case 2: {
      /* a group's lanes hold outputs (0,1) and (2,3), two slots each:
       * hadd gives [A0 A1 B0 B1 | A2 A3 B2 B3] */
      const __m256i order = _mm256_setr_epi32 (0, 1, 4, 5, 2, 3, 6, 7);
      for (int blk = 0; blk < n_blocks; blk++) {
        filter_group (plan, 2 * blk, r, g, b, origin, 4, s0);
        filter_group (plan, 2 * blk + 1, r, g, b, origin, 4, s1);
        for (int c = 0; c < 3; c++)
          sum[c] = _mm256_permutevar8x32_epi32 (_mm256_hadd_epi32 (s0[c], s1[c]), order);
        store_block (sum, dst + 24 * blk);
      }
      break;
    }
    default: {
      /* one output per lane, four slots: two hadds give
       * [A0 B0 C0 D0 | A1 B1 C1 D1] */
      const __m256i order = _mm256_setr_epi32 (0, 4, 1, 5, 2, 6, 3, 7);
      for (int blk = 0; blk < n_blocks; blk++) {
        filter_group (plan, 4 * blk, r, g, b, origin, 8, s0);
        filter_group (plan, 4 * blk + 1, r, g, b, origin, 8, s1);
        filter_group (plan, 4 * blk + 2, r, g, b, origin, 8, s2);
        filter_group (plan, 4 * blk + 3, r, g, b, origin, 8, s3);
        for (int c = 0; c < 3; c++)
          sum[c] = _mm256_permutevar8x32_epi32 (_mm256_hadd_epi32 (
                  _mm256_hadd_epi32 (s0[c], s1[c]), _mm256_hadd_epi32 (s2[c], s3[c])), order);
        store_block (sum, dst + 24 * blk);
      }
      break;
    }
  }
}

#ifndef MC_PP_AVX_VNNI
void
mc_interleave_row_avx2 (const uint8_t *r, const uint8_t *g, const uint8_t *b,
    int first, int n, uint8_t *dst)
{
  /* only for unchanged widths (no horizontal filter): not worth vectors */
  for (int i = 0; i < n; i++) {
    dst[3 * i + 0] = r[first + i];
    dst[3 * i + 1] = g[first + i];
    dst[3 * i + 2] = b[first + i];
  }
}

#endif   /* !MC_PP_AVX_VNNI */

/* 32 clamped sums (4 × 8 dwords) to floats / 255 (a true division, as
 * torchvision's ToTensor). */
static inline void
finish_32 (const __m256i acc[4], float *dst)
{
  const __m256 scale = _mm256_set1_ps (255.0f);
  const __m256i lo = _mm256_setzero_si256 (), hi = _mm256_set1_epi32 (255);
  for (int j = 0; j < 4; j++) {
    __m256i v = _mm256_srai_epi32 (acc[j], MC_RESAMPLE_BITS);
    v = _mm256_min_epi32 (_mm256_max_epi32 (v, lo), hi);
    _mm256_storeu_ps (dst + 8 * j, _mm256_div_ps (_mm256_cvtepi32_ps (v), scale));
  }
}

static inline __m256i
load_u8x8 (const uint8_t *p)
{
  return _mm256_cvtepu8_epi32 (_mm_loadl_epi64 ((const __m128i *) p));
}

void
PP_FN (mc_vpass_row) (const uint8_t *const *rows, const int32_t *k, int count,
    int n, float *dst)
{
  float tail[32];
  for (int x = 0; x < n; x += 32) {
    __m256i acc[4];
#ifdef MC_PP_AVX_VNNI
    /* Two rows a step: their samples of a pixel side by side as words,
     * dotted with the two weights' high and low 11 bits (as the horizontal
     * pass splits them), so one VPDPWSSD does two taps where the int32 form
     * does two vpmulld and two adds.  The unpacks leave pixels 0-3, 8-11
     * (pair_lo) and 4-7, 12-15 (pair_hi) of each 16; the end restores the
     * order. */
    __m256i hi[4], lo[4];
    for (int j = 0; j < 4; j++) {
      hi[j] = _mm256_setzero_si256 ();
      lo[j] = _mm256_set1_epi32 (MC_RESAMPLE_HALF);
    }
    for (int t = 0; t < count; t += 2) {
      const int32_t k0 = k[t], k1 = t + 1 < count ? k[t + 1] : 0;
      const uint8_t *p0 = rows[t] + x, *p1 = rows[t + 1 < count ? t + 1 : t] + x;
      const __m256i wh = _mm256_set1_epi32 ((k0 >> HALF_BITS) | (k1 >> HALF_BITS) << 16);
      const __m256i wl = _mm256_set1_epi32 ((k0 & ((1 << HALF_BITS) - 1))
          | (k1 & ((1 << HALF_BITS) - 1)) << 16);
      for (int h = 0; h < 2; h++) {
        const __m256i a = _mm256_cvtepu8_epi16 (_mm_loadu_si128 ((const __m128i *) (p0 + 16 * h)));
        const __m256i c = _mm256_cvtepu8_epi16 (_mm_loadu_si128 ((const __m128i *) (p1 + 16 * h)));
        const __m256i pair_lo = _mm256_unpacklo_epi16 (a, c), pair_hi = _mm256_unpackhi_epi16 (a, c);
        hi[2 * h] = DOT_ADD (hi[2 * h], pair_lo, wh);
        lo[2 * h] = DOT_ADD (lo[2 * h], pair_lo, wl);
        hi[2 * h + 1] = DOT_ADD (hi[2 * h + 1], pair_hi, wh);
        lo[2 * h + 1] = DOT_ADD (lo[2 * h + 1], pair_hi, wl);
      }
    }
    for (int j = 0; j < 4; j++)
      hi[j] = _mm256_add_epi32 (_mm256_slli_epi32 (hi[j], HALF_BITS), lo[j]);
    for (int h = 0; h < 2; h++) {
      acc[2 * h] = _mm256_permute2x128_si256 (hi[2 * h], hi[2 * h + 1], 0x20);
      acc[2 * h + 1] = _mm256_permute2x128_si256 (hi[2 * h], hi[2 * h + 1], 0x31);
    }
#else
    for (int j = 0; j < 4; j++)
      acc[j] = _mm256_set1_epi32 (MC_RESAMPLE_HALF);
    for (int t = 0; t < count; t++) {
      const __m256i w = _mm256_set1_epi32 (k[t]);
      const uint8_t *p = rows[t] + x;
      for (int j = 0; j < 4; j++)
        acc[j] = _mm256_add_epi32 (acc[j], _mm256_mullo_epi32 (load_u8x8 (p + 8 * j), w));
    }
#endif
    if (x + 32 <= n) {
      finish_32 (acc, dst + x);
    } else {
      finish_32 (acc, tail);
      memcpy (dst + x, tail, sizeof (float) * (n - x));
    }
  }
}

#ifndef MC_PP_AVX_VNNI
void
mc_unit_float_row_avx2 (const uint8_t *src, int n, float *dst)
{
  const __m256 scale = _mm256_set1_ps (255.0f);
  float tail[8];
  for (int x = 0; x < n; x += 8) {
    __m256 v = _mm256_div_ps (_mm256_cvtepi32_ps (load_u8x8 (src + x)), scale);
    if (x + 8 <= n) {
      _mm256_storeu_ps (dst + x, v);
    } else {
      _mm256_storeu_ps (tail, v);
      memcpy (dst + x, tail, sizeof (float) * (n - x));
    }
  }
}
#endif   /* !MC_PP_AVX_VNNI */

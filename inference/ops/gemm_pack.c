/* gemm_pack.c — B packed once at load into the panels the kernels read
 * (gemm_kernels.h): float, bf16 pair words or int8 (gemm_int8.c), for the
 * variant slot gemm_dispatch.c picks; the last panel is zero-padded. */
#include "gemm.h"

#include <stdlib.h>
#include <string.h>

#include "bf16.h"
#include "gemm_internal.h"
#include "gemm_kernels.h"

size_t
mc_gemm_packed_floats (int K, int N, int nr)
{
  size_t panels = ((size_t) N + nr - 1) / nr;
  return panels * (size_t) K * nr;
}

void
mc_gemm_pack_panels (float *dst, const float *src, ptrdiff_t sk, ptrdiff_t sn,
    int K, int N, const float *scale, float alpha, int nr)
{
  const int panels = (N + nr - 1) / nr;

  for (int p = 0; p < panels; p++) {
    float *d = dst + (size_t) p * K * nr;
    const int n0 = p * nr;
    const int w = N - n0 < nr ? N - n0 : nr;
    float s[MC_GEMM_MAX_NR];

    for (int j = 0; j < w; j++)
      s[j] = alpha * (scale ? scale[n0 + j] : 1.0f);
    if (sn == 1) {
      /* rows of [K, N]: nr contiguous floats per k */
      for (int k = 0; k < K; k++) {
        const float *row = src + (ptrdiff_t) k * sk + n0;
        float *o = d + (size_t) k * nr;
        for (int j = 0; j < w; j++)
          o[j] = row[j] * s[j];
        for (int j = w; j < nr; j++)
          o[j] = 0.0f;
      }
    } else {
      /* rows of [N, K]: one source row fills a column of the panel */
      if (w < nr)
        memset (d, 0, (size_t) K * nr * sizeof (float));
      for (int j = 0; j < w; j++) {
        const float *col = src + (ptrdiff_t) (n0 + j) * sn;
        for (int k = 0; k < K; k++)
          d[(size_t) k * nr + j] = col[(ptrdiff_t) k * sk] * s[j];
      }
    }
  }
}

/* The bf16 form (gemm_kernels.h): word (q, j) of a panel holds element
 * (2q, n0 + j) low and (2q + 1, n0 + j) high, each scaled in float and then
 * rounded to bf16; zero past K and past N. */
static void
pack_panels_bf16 (uint32_t *dst, const float *src, ptrdiff_t sk,
    ptrdiff_t sn, int K, int N, const float *scale, int nr)
{
  const int panels = (N + nr - 1) / nr, pairs = (K + 1) / 2;

  for (int p = 0; p < panels; p++) {
    uint32_t *d = dst + (size_t) p * pairs * nr;
    const int n0 = p * nr;
    const int w = N - n0 < nr ? N - n0 : nr;

    if (w < nr)
      memset (d, 0, (size_t) pairs * nr * sizeof (uint32_t));
    for (int j = 0; j < w; j++) {
      const float *col = src + (ptrdiff_t) (n0 + j) * sn;
      const float s = scale ? scale[n0 + j] : 1.0f;
      for (int q = 0; q < pairs; q++) {
        const float even = col[(ptrdiff_t) 2 * q * sk] * s;
        const float odd = 2 * q + 1 < K ? col[(ptrdiff_t) (2 * q + 1) * sk] * s
            : 0.0f;
        d[(size_t) q * nr + j] = mc_bf16_pair (even, odd);
      }
    }
  }
}

static int
pack_new (mc_packed_b *pb, const float *src, ptrdiff_t sk, ptrdiff_t sn,
    int K, int N, const float *scale)
{
  const mc_gemm_format format = mc_gemm_get_pack_format () == MC_GEMM_INT8
      && K < mc_gemm_int8_min_k () ? MC_GEMM_F32 : mc_gemm_get_pack_format ();
  const int current = mc_gemm_get_variant ();
  const int v = format == MC_GEMM_BF16 ? mc_gemm_bf16_slot (current)
      : format == MC_GEMM_INT8 ? mc_gemm_int8_slot (current) : current;
  const mc_gemm_kernels *kr = mc_gemm_kernels_f32 (v);
  /* a word holds two k of a column (bf16) or four (int8) */
  const int k_words = format == MC_GEMM_BF16 ? (K + 1) / 2
      : format == MC_GEMM_INT8 ? (K + 3) / 4 : K;
  size_t n = mc_gemm_packed_floats (k_words, N, kr->nr);
  void *p = NULL;

  memset (pb, 0, sizeof *pb);
  if (format == MC_GEMM_BF16 && (mc_gemm_kernels_bf16 (v)->nr != kr->nr
        || mc_gemm_kernels_bf16 (v)->mr > MC_GEMM_MAX_MR))
    return -1;   /* a test override that does not fit its slot */
  if (format == MC_GEMM_INT8 && (mc_gemm_kernels_int8 (v)->nr != kr->nr
        || mc_gemm_kernels_int8 (v)->mr > MC_GEMM_INT8_MAX_MR
        || K > MC_GEMM_INT8_MAX_K))
    return -1;   /* as above, or sums that could leave int32 */
  if (format == MC_GEMM_INT8) {
    const size_t cols = mc_gemm_packed_floats (1, N, kr->nr);
    if (posix_memalign (&p, 64, (cols ? 3 * cols : 1) * sizeof (float)) != 0)
      return -1;
    pb->col_scale = p;
    pb->col_sum = (int32_t *) (pb->col_scale + cols);
    pb->col_diag = K == N ? pb->col_scale + 2 * cols : NULL;
    p = NULL;
  }
  if (posix_memalign (&p, 64, (n ? n : 1) * sizeof (float)) != 0) {
    free (pb->col_scale);
    pb->col_scale = NULL;
    return -1;
  }
  pb->K = K;
  pb->N = N;
  pb->data = p;
  pb->variant = v;
  pb->nr = kr->nr;
  pb->format = format;
  if (format == MC_GEMM_BF16)
    pack_panels_bf16 (pb->data, src, sk, sn, K, N, scale, kr->nr);
  else if (format == MC_GEMM_INT8)
    mc_gemm_int8_pack (pb->data, pb->col_scale, pb->col_sum, pb->col_diag,
        src, sk, sn, K, N, scale, kr->nr);
  else
    mc_gemm_pack_panels (pb->data, src, sk, sn, K, N, scale, 1.0f, kr->nr);
  return 0;
}

int
mc_pack_b_from_nk (mc_packed_b *pb, const float *w, int N, int K,
    const float *scale)
{
  return pack_new (pb, w, 1, K, K, N, scale);
}

int
mc_pack_b_from_kn (mc_packed_b *pb, const float *b, int K, int N)
{
  return pack_new (pb, b, N, 1, K, N, NULL);
}

void
mc_packed_b_free (mc_packed_b *pb)
{
  free (pb->data);
  free (pb->col_scale);
  pb->data = NULL;
  pb->col_scale = NULL;
  pb->col_sum = NULL;
  pb->col_diag = NULL;
}


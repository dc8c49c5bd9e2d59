/* gemm.c — portable matrix products (see gemm.h).  B is kept as [K, N]
 * row-major so that the inner loop runs over contiguous N and vectorizes. */
#include "gemm.h"

#include <stdlib.h>
#include <string.h>

#include "activation.h"

static void *
aligned_floats (size_t n)
{
  void *p = NULL;
  if (posix_memalign (&p, 64, (n ? n : 1) * sizeof (float)) != 0)
    return NULL;
  return p;
}

int
mc_pack_b_from_nk (mc_packed_b *pb, const float *w, int N, int K,
    const float *scale)
{
  pb->K = K;
  pb->N = N;
  pb->variant = MC_GEMM_PORTABLE;
  pb->data = aligned_floats ((size_t) K * N);
  if (!pb->data)
    return -1;
  for (int n = 0; n < N; n++) {
    float s = scale ? scale[n] : 1.0f;
    for (int k = 0; k < K; k++)
      pb->data[(size_t) k * N + n] = w[(size_t) n * K + k] * s;
  }
  return 0;
}

int
mc_pack_b_from_kn (mc_packed_b *pb, const float *b, int K, int N)
{
  pb->K = K;
  pb->N = N;
  pb->variant = MC_GEMM_PORTABLE;
  pb->data = aligned_floats ((size_t) K * N);
  if (!pb->data)
    return -1;
  memcpy (pb->data, b, (size_t) K * N * sizeof (float));
  return 0;
}

void
mc_packed_b_free (mc_packed_b *pb)
{
  free (pb->data);
  pb->data = NULL;
}

typedef struct {
  const float *A;
  int lda;
  const mc_packed_b *B;
  const float *bias;
  mc_act act;
  const float *residual;
  int ldr;
  float *C;
  int ldc;
} gemm_job;

static void
gemm_rows (void *p, int64_t m0, int64_t m1, int worker)
{
  const gemm_job *j = p;
  const int K = j->B->K, N = j->B->N;
  const float *B = j->B->data;

  for (int64_t m = m0; m < m1; m++) {
    const float *a = j->A + m * j->lda;
    float *c = j->C + m * j->ldc;
    float acc[N];   /* accumulate apart from C: residual may alias C */

    for (int n = 0; n < N; n++)
      acc[n] = j->bias ? j->bias[n] : 0.0f;
    for (int k = 0; k < K; k++) {
      const float av = a[k];
      const float *b = B + (size_t) k * N;
      for (int n = 0; n < N; n++)
        acc[n] += av * b[n];
    }
    if (j->act == MC_ACT_GELU)
      for (int n = 0; n < N; n++)
        acc[n] = mc_gelu (acc[n]);
    else if (j->act == MC_ACT_RELU)
      for (int n = 0; n < N; n++)
        acc[n] = acc[n] > 0.0f ? acc[n] : 0.0f;
    if (j->residual) {
      const float *r = j->residual + m * j->ldr;
      for (int n = 0; n < N; n++)
        c[n] = r[n] + acc[n];
    } else {
      memcpy (c, acc, (size_t) N * sizeof (float));
    }
  }
}

void
mc_gemm (mc_threadpool *pool, int M, const float *A, int lda,
    const mc_packed_b *B, const float *bias, mc_act act,
    const float *residual, int ldr, float *C, int ldc)
{
  gemm_job j = { A, lda, B, bias, act, residual, ldr, C, ldc };
  int64_t grain = 1 + (int64_t) 16384 / ((int64_t) B->K * B->N / 64 + 1);
  mc_parallel_for (pool, M, grain, gemm_rows, &j);
}

void
mc_gemm_plain (int M, int N, int K, float alpha, const float *A, int lda,
    const float *B, int ldb, int trans_b, float *C, int ldc)
{
  for (int m = 0; m < M; m++) {
    const float *a = A + (size_t) m * lda;
    float *c = C + (size_t) m * ldc;
    if (trans_b) {
      for (int n = 0; n < N; n++) {
        const float *b = B + (size_t) n * ldb;
        float s = 0.0f;
        for (int k = 0; k < K; k++)
          s += a[k] * b[k];
        c[n] = alpha * s;
      }
    } else {
      for (int n = 0; n < N; n++)
        c[n] = 0.0f;
      for (int k = 0; k < K; k++) {
        const float av = a[k];
        const float *b = B + (size_t) k * ldb;
        for (int n = 0; n < N; n++)
          c[n] += av * b[n];
      }
      if (alpha != 1.0f)
        for (int n = 0; n < N; n++)
          c[n] *= alpha;
    }
  }
}

static mc_gemm_variant current_variant = MC_GEMM_PORTABLE;

int
mc_gemm_variant_supported (mc_gemm_variant v)
{
  return v == MC_GEMM_PORTABLE;
}

void
mc_gemm_set_variant (mc_gemm_variant v)
{
  current_variant = (v == MC_GEMM_AUTO) ? MC_GEMM_PORTABLE : v;
}

mc_gemm_variant
mc_gemm_get_variant (void)
{
  return current_variant;
}

const char *
mc_gemm_variant_name (mc_gemm_variant v)
{
  switch (v) {
    case MC_GEMM_PORTABLE: return "portable";
    case MC_GEMM_AVX2: return "avx2";
    case MC_GEMM_AVX512: return "avx512";
    default: return "auto";
  }
}

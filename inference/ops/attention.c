/* attention.c — see attention.h.  Work items are (image, head) pairs: the
 * head's scores S = (q·d^−½)·kᵀ and its output softmax(S)·v are two
 * unpacked GEMMs (mc_gemm_plain), the row softmax between them is a vector
 * kernel (op_kernels.h); each worker keeps its T×T score matrix in scratch. */
#include "attention.h"

#include <math.h>

#include "gemm.h"
#include "op_kernels.h"

size_t
mc_attention_scratch_size (int T, int head_dim, int n_threads)
{
  (void) head_dim;
  return (size_t) n_threads * T * T;
}

typedef struct {
  const mc_op_kernels *k;
  const float *qkv;
  float *out;
  float *scratch;
  int T, C, heads, d, causal;
  float scale;
} attn_job;

static void
attn_heads (void *p, int64_t i0, int64_t i1, int worker)
{
  const attn_job *j = p;
  const int T = j->T, C = j->C, d = j->d;
  float *s = j->scratch + (size_t) worker * T * T;

  for (int64_t item = i0; item < i1; item++) {
    const int h = (int) (item % j->heads);
    const int b = (int) (item / j->heads);
    const float *base = j->qkv + (size_t) b * T * 3 * C;

    /* the scale multiplies k as it is packed (the references scale q: the
     * same product up to one rounding) */
    mc_gemm_plain (T, T, d, j->scale, base + h * d, 3 * C, base + C + h * d, 3 * C, 1,
        s, T);
    j->k->softmax_rows (s, T, T, T, j->causal ? 0 : -1);
    mc_gemm_plain (T, d, T, 1.0f, s, T, base + 2 * C + h * d, 3 * C, 0,
        j->out + (size_t) b * T * C + h * d, C);
  }
}

void
mc_attention (mc_threadpool *pool, const float *qkv, int n, int T, int C,
    int heads, int causal, float *out, float *scratch)
{
  attn_job j = { mc_op_kernels_get (), qkv, out, scratch, T, C, heads, C / heads,
    causal, (float) pow ((double) (C / heads), -0.5) };
  mc_parallel_for (pool, (int64_t) n * heads, 1, attn_heads, &j);
}

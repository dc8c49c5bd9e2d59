/* gemm.h — matrix products, the engine's hot loop.
 *
 * Weights of pointwise convs and linear layers are packed once at load into
 * an mc_packed_b (the layout is the kernel's business); activations are plain
 * row-major [M, K] (channels-last pixels or tokens).  The epilogue is fused:
 *   C = act(A·B + bias) + residual     (act: identity, exact GELU or ReLU)
 * Panels are float or bfloat16 (mc_gemm_format; bf16 runs AMX tiles
 * (TDPBF16PS) where the CPU has AMX-BF16 and Linux grants the tile
 * permission, else VDPBF16PS on CPUs with AVX512-BF16, else an emulation
 * with VDPBF16PS's numerics; environment MC_GEMM_AMX=0 keeps AMX off).
 * The kernel variant (portable, AVX2+FMA, AVX-512) is chosen once at run time
 * from cpuid (environment MC_GEMM_VARIANT=portable|avx2|avx512 overrides it
 * when the CPU can run that one); tests can force one with
 * mc_gemm_set_variant.
 */
#ifndef MC_OPS_GEMM_H
#define MC_OPS_GEMM_H

#include <stddef.h>
#include <stdint.h>

#include "runtime/threadpool.h"

typedef enum {
  MC_ACT_NONE = 0,
  MC_ACT_GELU,   /* exact erf GELU */
  MC_ACT_RELU,
} mc_act;

/* Element format of packed weights. */
typedef enum {
  MC_GEMM_F32 = 0,   /* float panels: the reference path */
  MC_GEMM_BF16 = 1,  /* bfloat16 panels (round to nearest even); A is rounded
                        to bfloat16 as the kernel reads it, products are
                        accumulated in float, the epilogue is float.  Runs
                        the AVX512-BF16 instruction where the CPU has it and
                        an emulation with the same numerics elsewhere
                        (gemm_kernels.h says what exactly is computed). */
  MC_GEMM_INT8 = 2,  /* integers: B symmetric 8-bit per output column
                        (scale max|column|/127), A 8-bit per row with a
                        zero point as the product reads it; sums are
                        exact, then dequantized in float before bias,
                        activation and residual.  Every kernel computes the
                        same integers (gemm_kernels.h). */
} mc_gemm_format;

typedef struct mc_packed_b {
  int K, N;       /* B is logically [K, N] */
  void *data;     /* packed panels, owned (64-byte aligned): floats; for
                     BF16 ceil(K/2) × nr words of bf16 pairs per panel; for
                     INT8 ceil(K/4) × nr words of 4 bytes (K at most
                     MC_GEMM_INT8_MAX_K) */
  int variant;    /* the kernel variant the panels were packed for */
  int nr;         /* panel width: ceil(N/nr) panels of K×nr, zero-padded */
  mc_gemm_format format;
  float *col_scale;     /* INT8: each column's dequantization scale, */
  int32_t *col_sum;     /* Σ_k of its integers, */
  float *col_diag;      /* and where K = N its diagonal element, kept in
                           float (else NULL); ceil(N/nr)·nr each, zero-padded,
                           one allocation at col_scale, owned.  NULL unless
                           INT8. */
  const struct mc_packed_b *next;   /* the product the model runs after this
                           one, or NULL: while this product's last block of
                           B runs, its float tiles prefetch that one's first
                           (gemm.c, run_region).  A hint, set by the owner of
                           both (the model, once built); it changes no
                           result. */
} mc_packed_b;

/* Appends pb to a chain of products in the order a forward runs them:
 * *prev (unless NULL) names pb as its next, and pb becomes *prev. */
static inline void
mc_packed_b_chain (mc_packed_b **prev, mc_packed_b *pb)
{
  if (*prev)
    (*prev)->next = pb;
  *prev = pb;
}

/* The format of the panels this thread packs from now on (thread-local,
 * MC_GEMM_F32 until changed); returns the previous one.  mc_context_load
 * sets it around building a model, so model code packs with the context's
 * precision without carrying it. */
mc_gemm_format mc_gemm_set_pack_format (mc_gemm_format f);
mc_gemm_format mc_gemm_get_pack_format (void);

/* While the pack format is INT8, products shallower than min_k are packed
 * as float instead (thread-local, 0 until changed: every depth int8);
 * returns the previous value.  mc_context_load sets MC_GEMM_INT8_MODEL_MIN_K
 * around building a model. */
int mc_gemm_set_int8_min_k (int min_k);

/* Models keep products of depth K <= 64 in float under int8: a short sum
 * averages its quantization error over few terms (on tiny_s0 those products
 * cost the image tower 8e-4 of cosine, 0.99853 -> 0.99932), and int8 does
 * not pay there (alone, K = 64 products run 0.7-1.8x the float time on
 * Zen 3 depending on N and the epilogue; the full-size S0 image tower,
 * whose only such products are in the stem and stage 1, runs at the same
 * int8/fp32 ratio either way). */
#define MC_GEMM_INT8_MODEL_MIN_K 65

/* The format for the products a model keeps in float under int8: the
 * current pack format, except INT8 → F32.  Used for
 * - the projection heads: the last product, whose error lands on the
 *   embedding unfiltered, one row per image or prompt (on tiny_s0 the int8
 *   image head alone cost ~2e-4 of cosine);
 * - the image attention's qkv (mci_build.c): q·kᵀ multiplies the errors of
 *   q and k, and the softmax over MCi's few tokens turns them into other
 *   weights. */
mc_gemm_format mc_gemm_sensitive_format (void);

/* Packs B from a PyTorch weight W [N, K] (out × in, row-major): B = Wᵀ.
 * scale (may be NULL) multiplies row n of W first (folds a layer scale).
 * Returns 0, or -1 when out of memory. */
int mc_pack_b_from_nk (mc_packed_b *pb, const float *w, int N, int K,
    const float *scale);
/* Packs B given as [K, N] row-major (e.g. Apple's head.proj [in, out]). */
int mc_pack_b_from_kn (mc_packed_b *pb, const float *b, int K, int N);
void mc_packed_b_free (mc_packed_b *pb);

/* C[M, N] (row stride ldc) = act(A[M, K] (row stride lda) · B + bias) + residual
 * (after BF16 and INT8 panels, MC_ACT_GELU runs a GELU within ~1.3e-6·|x|
 * instead of float's last bits: gemm_kernels.h, MC_ACT_GELU_COARSE)
 * bias: [N] or NULL; residual: [M, N] with stride ldr, or NULL.  The
 * residual may be C itself (residual == C, ldr == ldc) but must not overlap
 * it otherwise; A must not overlap C.  Runs the kernel variant B was packed
 * for.  Splits M and N over the pool so that every thread gets an even share
 * (small products run on the calling thread). */
void mc_gemm (mc_threadpool *pool, int M, const float *A, int lda,
    const mc_packed_b *B, const float *bias, mc_act act,
    const float *residual, int ldr, float *C, int ldc);

/* Unpacked product for activations × activations (attention):
 * C[M, N] = alpha · A[M, K] · op(B) where op(B) = Bᵀ (B is [N, K], trans_b=1)
 * or B ([K, N], trans_b=0).  Single-threaded and thread-safe: callers
 * parallelize over heads.  B (times alpha) is packed per call into a
 * per-thread buffer, then the packed kernels run. */
void mc_gemm_plain (int M, int N, int K, float alpha, const float *A, int lda,
    const float *B, int ldb, int trans_b, float *C, int ldc);

/* Kernel variants. */
typedef enum {
  MC_GEMM_AUTO = -1,
  MC_GEMM_PORTABLE = 0,
  MC_GEMM_AVX2 = 1,
  MC_GEMM_AVX512 = 2,
} mc_gemm_variant;

/* Whether this CPU and build can run a variant. */
int mc_gemm_variant_supported (mc_gemm_variant v);
/* Forces a variant for later packs and products (tests); AUTO, or a variant
 * this CPU cannot run, selects the best supported.  Panels packed for another
 * variant are repacked by nobody: set the variant before packing. */
void mc_gemm_set_variant (mc_gemm_variant v);
mc_gemm_variant mc_gemm_get_variant (void);
const char *mc_gemm_variant_name (mc_gemm_variant v);

/* The kernel that panels of format f packed now (current variant) would
 * run, e.g. "avx512", "amx-bf16" (AMX tiles), "avx512bf16" (the bf16
 * vector instruction) or "avx2-bf16-emulated", and whether bf16 products
 * would use the CPU's bf16 instructions rather than an emulation.  The bf16
 * kernels of the AVX-512 variant are native where cpuid reports AVX512-BF16
 * (AMX where it may run, see gemm_kernels.h); elsewhere bf16 panels are
 * packed for the AVX2 (or portable) emulation. */
const char *mc_gemm_kernel_name (mc_gemm_format f);
int mc_gemm_bf16_native (void);

/* The deepest K block variant v's float kernel sums before adding to C:
 * its own (2048 on AVX2, 512 on AVX-512), or MC_GEMM_KC=N (N ≥ 16) from the
 * environment, a timing experiment (docs/performance.md). */
int mc_gemm_k_block (mc_gemm_variant v);

/* While the float tiles of one block of B run, they prefetch the block the
 * next pass reads first, and in the last pass the first block of B->next
 * (gemm.c, run_region); MC_GEMM_PREFETCH=0 in the environment turns that
 * off, MC_GEMM_PREFETCH_NEXT=0 only the latter: timing experiments
 * (docs/performance.md).
 * MC_GEMM_ASM=0 likewise runs the AVX2 and AVX-512 tiles' k loop in C
 * instead of assembly (same bits), MC_GEMM_AMX_ROWS=32 the AMX kernels
 * on 32-row strips (same bits), and MC_GEMM_GELU_COARSE=0 the exact GELU
 * after bf16 and int8 products (gemm_kernels.h: MC_ACT_GELU_COARSE).
 *
 * The six experiments as the products see them, read from the
 * environment at the first product; set changes them for the products that
 * follow (never while one runs), so that a benchmark can alternate two
 * settings in one process (bench-ab). */
typedef struct {
  int kc;             /* the float K block; 0: the kernel's own */
  int asm_off;        /* the tiles' k loop in C */
  int prefetch_off;   /* no prefetching of B */
  int next_off;       /* no prefetching of B->next */
  int amx_rows32;     /* amx-bf16-32 and amx-int8-32 where AMX runs */
  int gelu_exact;     /* bf16 and int8 products keep the exact GELU */
} mc_gemm_experiments;
void mc_gemm_get_experiments (mc_gemm_experiments *e);
void mc_gemm_set_experiments (const mc_gemm_experiments *e);

/* ---- products timed by shape (`mobileclip bench --shapes`) ---- */
typedef struct {
  int M, K, N;
  mc_act act;
  int residual;            /* 1 when a residual was added */
  mc_gemm_format format;
  int threads;             /* the threads the product was split over */
  int64_t calls;
  double ms;               /* wall time, summed over the calls */
} mc_gemm_shape_stat;

/* Starts timing every mc_gemm call by shape (process-wide; clears the
 * earlier table).  Products that run at the same time on several threads
 * (ConvFFN bands, whole images per thread) each add their own wall time, so
 * ms × threads is thread time either way.  While off, mc_gemm pays one
 * pointer load per call. */
void mc_gemm_shapes_start (void);
/* the distinct shapes kept (MCi2 at batch 1 has under 20) */
#define MC_GEMM_SHAPES_MAX 256
/* Stops timing and copies up to max entries (the most thread time first)
 * to out; returns how many shapes there were.  Calls of shapes beyond the
 * first MC_GEMM_SHAPES_MAX are counted in *dropped_calls (may be NULL). */
int mc_gemm_shapes_stop (mc_gemm_shape_stat *out, int max, int64_t *dropped_calls);

/* x[i] = exact GELU, x·Φ(x) as torch.nn.GELU(), for i < n, vectorized with
 * the current variant (the same code as mc_gemm's MC_ACT_GELU epilogue). */
void mc_gelu_inplace (float *x, size_t n);

#endif

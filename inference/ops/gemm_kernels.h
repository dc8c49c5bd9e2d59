/* gemm_kernels.h — what the GEMM driver (gemm.c: blocking and threading;
 * gemm_pack.c; gemm_dispatch.c, which picks the kernels) needs from one
 * kernel variant (portable, AVX2+FMA, AVX-512).  Private to
 * inference/ops; the variants are generated from gemm_kernel_template.h.
 */
#ifndef MC_OPS_GEMM_KERNELS_H
#define MC_OPS_GEMM_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "gemm.h"

/* The largest register tile any variant uses: the driver keeps one on the
 * stack for edge tiles and activation epilogues. */
#define MC_GEMM_MAX_MR 32
#define MC_GEMM_MAX_NR 64

typedef struct {
  const char *name;
  int mr, nr;     /* register tile: mr rows of A × nr columns (one panel) */
  int kc;         /* K block: the deepest sum a tile runs before its
                     partial result goes to C (AVX2: 2048, see gemm_avx2.c) */
  int nc;         /* N block (a multiple of nr): a kc×nc slice of B stays in L2 */
  /* out[i][0:nr] = Σ_k a[i·lda + k]·b[k·nr + 0:nr] + src[i·lds + 0:nr] (src
   * may be NULL, or equal out) + bias[0:nr] (may be NULL), for i < m ≤ mr.
   * b is a packed panel (nr floats per k); every row is written full width.
   * Meanwhile the cache lines from pf up to pf_end (NULL, NULL for none) are
   * prefetched, one every few k steps (the variant's MC_PF_STEPS,
   * gemm_kernel_template.h), or one every step where that would leave
   * lines over (mc_pf_dense): B that a later tile reads first (gemm.c,
   * run_region). */
  void (*tile) (int m, int kc, const float *a, ptrdiff_t lda, const float *b,
      const float *src, ptrdiff_t lds, const float *bias, float *out,
      ptrdiff_t ldo, const char *pf, const char *pf_end);
  /* The same over the first nr/2 columns only (b, src, bias and out keep
   * their nr-wide layouts; columns nr/2.. of out are not written), with the
   * same sums: for a last panel of at most nr/2 columns, which the full
   * tile would compute twice as wide.  NULL where nr/2 is not whole
   * vectors. */
  void (*tile_half) (int m, int kc, const float *a, ptrdiff_t lda, const float *b,
      const float *src, ptrdiff_t lds, const float *bias, float *out,
      ptrdiff_t ldo, const char *pf, const char *pf_end);
  /* For i < m, j < n: c[i·ldc + j] = act(src[i·lds + j]) + res[i·ldr + j]
   * (res may be NULL).  act is applied in place in src, which may be c;
   * when lds == nr (a register tile) the whole rows, padding included. */
  void (*finish) (float *src, ptrdiff_t lds, int m, int n, mc_act act,
      const float *res, ptrdiff_t ldr, float *c, ptrdiff_t ldc);
  /* x[i] = exact GELU of x[i], i < n (exposed for tests and other ops). */
  void (*gelu) (float *x, size_t n);
  /* x[i] = GELU of x[i] within ~1.3e-6·|x[i]|: what finish() applies for
   * MC_ACT_GELU_COARSE (exposed for tests). */
  void (*gelu_coarse) (float *x, size_t n);
} mc_gemm_kernels;

/* finish()'s activation after reduced-precision products (bf16, int8) where
 * the caller asked for MC_ACT_GELU: their inputs were rounded to 2⁻⁹ or
 * coarser, and a GELU exact to float's last bits (~22 vector operations)
 * cost as much as the AMX products it followed (gemm.c). */
#define MC_ACT_GELU_COARSE ((mc_act) (MC_ACT_RELU + 1))

/* As mc_gelu_inplace, with the current variant's coarse GELU (tests). */
void mc_gelu_coarse_inplace (float *x, size_t n);

/* The share of tile t of T (t < T) in nq slices of len bytes, stride bytes
 * apart (gemm.c: the first block of the next product's B, prefetched by the
 * tiles of the last pass): the tiles take the slices in turn, each slice in
 * even shares, bytes [*begin, *end) from the first slice's start.  With
 * T ≥ nq every byte of the slices is in one share; with fewer tiles each
 * takes a whole slice and the others go without. */
void mc_gemm_next_share (int64_t t, int64_t T, int nq, size_t len,
    size_t stride, size_t *begin, size_t *end);

/* Set from MC_GEMM_ASM=0 (gemm.c): the AVX2 variant's float tiles and the
 * AVX-512 variant's full ones run their C k loop, not their assembly one (a
 * timing experiment, benchmarks/isa-ab.sh; same bits). */
extern int mc_gemm_asm_off;

/* Whether a tile of `steps` k steps has more lines to prefetch in
 * [pf, pf_end) than one every `every` steps covers: then it prefetches one
 * every step.  A product of one or two row strips hands each tile a half or
 * all of the next block's panel slice (gemm.c, run_region), two to four
 * times what the sparse rate reaches. */
static inline int
mc_pf_dense (const char *pf, const char *pf_end, int steps, int every)
{
  return pf < pf_end && (pf_end - pf) / 64 > steps / every;
}

/* Tests only: makes products of variant v (its packing included) use k
 * instead of the built-in kernels; NULL restores them.  Lets a test run the
 * AVX-512 geometry (16 lanes, 14×32 tile) through AVX2 code on machines
 * without AVX-512. */
void mc_gemm_kernels_override (mc_gemm_variant v, const mc_gemm_kernels *k);

extern const mc_gemm_kernels mc_gemm_kernels_portable;
#if defined(__x86_64__) && defined(__GNUC__)
#define MC_GEMM_HAVE_X86 1
extern const mc_gemm_kernels mc_gemm_kernels_avx2;
extern const mc_gemm_kernels mc_gemm_kernels_avx512;
#endif

/* ---- bf16 panels (MC_GEMM_BF16, generated from gemm_bf16_template.h) ----
 * B is packed as pairs: for k = 2q, 2q+1 and each of the nr columns one
 * 32-bit word, bf16(B[2q]) low and bf16(B[2q+1]) high (zero past K), the
 * operand layout of VDPBF16PS.  A slice of A (m rows × kc) is converted by
 * pack_a before the tiles that read it.  Each fp32 lane then accumulates,
 * pair after pair, first the odd product then the even one, each a fused
 * multiply-add rounded to nearest even with denormal results flushed to zero
 * (Intel's definition of VDPBF16PS); the emulations do exactly that.  K
 * blocks are MC_GEMM_BF16_KC deep in every kernel (even, so that blocks start
 * on a pair), which makes every bf16 kernel give the same bits for the same
 * product: only the epilogue's GELU differs between ISAs, as in fp32.
 *
 * The AMX-BF16 kernel (amx-bf16, gemm_bf16_amx_template.h) is the exception
 * to the last rule.  It reads the same panels, A as the same pair words and
 * the same K blocks, but TDPBF16PS sums in another order: per 16×16 tile of
 * C and per 16 pairs of k (one instruction) each lane keeps two float sums,
 * one of the even products and one of the odd ones (each step a fused
 * multiply-add, round to nearest even, denormals in and out flushed to
 * zero), then adds the two and adds that to C, again flushed (Intel's
 * pseudo-code; a K block's last instruction takes the leftover pairs).  Its
 * results therefore differ from the other kernels' in the last bits.  They
 * are within the same error bound: the products of two bf16 are exact, and
 * no product passes through more roundings than in the VDPBF16PS order
 * (ceil(kc/2) + ceil(kc/32) − 1 ≤ kc per K block instead of kc), so
 * γ_(K+2)·(Σ|ã·w̃| + |bias| + |res|) still holds (test_gemm_bf16.c).
 *
 * A bf16 kernel shares the panel width (nr), the N blocking and the
 * epilogue (finish) of the float kernel of its variant slot; its row strips
 * are its own mr (the AMX kernel's 16 against the AVX-512 float kernel's
 * 14). */
#define MC_GEMM_BF16_KC 256

typedef struct {
  const char *name;
  int mr;          /* rows per tile, at most MC_GEMM_MAX_MR */
  int nr;          /* must equal the float kernel's it pairs with */
  int native;      /* 1: the CPU's bf16 instruction; 0: an emulation */
  /* Writes the m × kc slice a (row stride lda) in this kernel's A format to
   * dst (at most mr·(kc + 1) floats; kc ≤ MC_GEMM_BF16_KC). */
  void (*pack_a) (int m, int kc, const float *a, ptrdiff_t lda, void *dst);
  /* As mc_gemm_kernels.tile, with a from pack_a and b a panel slice of
   * ceil(kc/2) × nr pair words. */
  void (*tile) (int m, int kc, const void *a, const uint32_t *b,
      const float *src, ptrdiff_t lds, const float *bias, float *out,
      ptrdiff_t ldo);
  /* NULL, or as tile followed by the float kernel's finish with act
   * (MC_ACT_NONE, MC_ACT_RELU or MC_ACT_GELU_COARSE; the same bits), for
   * whole panels (nr columns), with out written as late as this thread's
   * next call of tile, tile_deferred or release: the AMX kernel writes a
   * block's epilogue while its next block runs (gemm_bf16_amx_template.h). */
  void (*tile_deferred) (int m, int kc, const void *a, const uint32_t *b,
      const float *src, ptrdiff_t lds, const float *bias, mc_act act,
      float *out, ptrdiff_t ldo);
  /* NULL, or called by the driver on each thread after the tiles it ran for
   * one product: a kernel writes what it deferred, and one with per-thread
   * CPU state (AMX's tile configuration) gives it back there. */
  void (*release) (void);
  /* 0 or 1: the driver runs each row strip against every panel of a block
   * in turn.  g > 1: for products at least MC_GEMM_BF16_GROUP_MIN_K deep it
   * packs g strips' A one after the other (each mr·ceil(kc/2) words: pack_a
   * must write no more) and runs each panel slice against all g before the
   * next, so that the slice is read from L2 once per g tiles (gemm.c,
   * run_region). */
  int strip_group;
} mc_gemm_bf16_kernels;

/* See strip_group: shallower products keep the strip-by-strip order, where
 * a block's slices fit L1 anyway (K = 64: 320×64×192 ran 1.15–1.2 times as
 * long in groups). */
#define MC_GEMM_BF16_GROUP_MIN_K 128

/* Tests only, as mc_gemm_kernels_override for the bf16 kernel of slot v. */
void mc_gemm_bf16_kernels_override (mc_gemm_variant v,
    const mc_gemm_bf16_kernels *k);

extern const mc_gemm_bf16_kernels mc_gemm_bf16_kernels_portable;
#ifdef MC_GEMM_HAVE_X86
extern const mc_gemm_bf16_kernels mc_gemm_bf16_kernels_avx2;
extern const mc_gemm_bf16_kernels mc_gemm_bf16_kernels_avx512bf16;
#endif
#ifdef MC_GEMM_HAVE_AMX   /* set by meson where the compiler has -mamx-bf16 */
extern const mc_gemm_bf16_kernels mc_gemm_bf16_kernels_amx;
/* the same code on 32-row strips (32×32 blocks of C), which
 * MC_GEMM_AMX_ROWS=32 selects, as for int8: which is faster is not
 * measured */
extern const mc_gemm_bf16_kernels mc_gemm_bf16_kernels_amx32;
#endif

/* The AMX-BF16 kernel, when this build has it and this process may run it:
 * cpuid and XCR0 report AMX-TILE and AMX-BF16, the AVX-512 variant and
 * AVX512-BF16 are usable (the kernel's A conversion and epilogue), and Linux
 * granted the tile data permission (mc_cpu_request_amx, asked on the first
 * call).  Otherwise NULL, and *why (may be NULL) says which of these failed.
 * Ignores MC_GEMM_AMX: tests use it to run the kernel explicitly.  Where it
 * is not NULL, the bf16 panels of the AVX-512 slot run on it unless the
 * environment says MC_GEMM_AMX=0 (or off, no, false). */
const mc_gemm_bf16_kernels *mc_gemm_bf16_amx_kernels (const char **why);


/* ---- int8 panels (MC_GEMM_INT8) ----
 * B: symmetric, 8-bit, one scale per column, packed once (a layer scale
 *    folded in first): sb[n] = max_k |B[k][n]| / 127,
 *    qb = nearbyint (B · (127 / max)).
 * A: asymmetric, 255 levels, one scale and zero point per row, quantized by
 *    quant_a as the product reaches a row strip: over the row and 0,
 *    lo = min, hi = max; sa = (hi − lo) / 254, inv = 254 / (hi − lo),
 *    za = nearbyint (−lo · inv), ua = clamp (nearbyint (A · inv) + za, 0,
 *    254) (one float multiply then round to nearest even; a zero row gives
 *    sa = 0, za = 0), stored as the byte qa = ua − a_bias: signed for the
 *    kernels whose a_bias is 127, unsigned (ua itself) for the VNNI ones
 *    (a_bias 0).  One-sided rows (after GELU or ReLU) get twice the
 *    resolution of a symmetric code.
 * Rows of A are ceil(K/4) words of 4 k (the tail zero).  A panel of B is,
 * per 4 k (group g), nr words of signed bytes (word (g, j) holds
 * qb (4g + r, j) in byte r, zero past K and past N), the operand layout of
 * VNNI's VPDPBUSD.  The AVX2 kernel multiplies |qb| (VPABSB, unsigned) by
 * qa·sign (qb) (VPSIGNB) with VPMADDUBSW, whose pairs stay within
 * 2·127·127 < 2^15; VPDPBUSD sums four unsigned·signed products straight
 * into int32, and AMX's TDPBUSD does the same for 16×64 by 64×16 bytes.
 * Nothing saturates, and every kernel computes the same exact integer
 *   Σ qa·qb + (a_bias − za)·Σ_k qb  =  Σ (ua − za)·qb
 * (col_sum[j] = Σ_k qb[k][j] is packed with B).  The epilogue is float:
 * out = (float) (Σ qa·qb + (a_bias − za[i])·col_sum[j]) · (sa[i] · sb[j]),
 * + src, + bias, then the float kernel's finish (activation, residual).
 * K is a single block: the quantized row strip (≤ 32 × MC_GEMM_INT8_MAX_K
 * bytes) is on the stack.
 *
 * Square B (K = N) keeps its diagonal in float: qb (n, n) = 0, sb and
 * col_sum are taken over the other elements, and the driver adds
 * A[i][n]·B[n][n] to the tile's output before any activation.  Apple's
 * reparameterized MobileOne 1×1 convs fold their identity (BatchNorm)
 * branch into the diagonal, which then dwarfs the rest of its column: with
 * it in the scale, the other weights kept 1–2 bits (the first stem 1×1 of
 * tiny_s0 alone took the image embedding's cosine to 0.980). */
#define MC_GEMM_INT8_MAX_K 16384
#define MC_GEMM_INT8_MAX_MR 32

typedef struct {
  const char *name;
  int mr;          /* rows per tile, at most MC_GEMM_INT8_MAX_MR */
  int nr;          /* must equal the float kernel's it pairs with */
  int a_bias;      /* A's bytes are ua − a_bias: 127 (signed) or 0 */
  /* Quantizes the m × K slice a (row stride lda): row i to dst + i·groups
   * (groups = ceil(K/4) words), its scale to scale[i], its zero point to
   * zero[i]. */
  void (*quant_a) (int m, int K, const float *a, ptrdiff_t lda,
      uint32_t *dst, float *scale, int32_t *zero);
  /* out[i][0:nr] = (float) (Σ_g a·b + (a_bias − za[i])·bsum[0:nr])
   * · (sa[i]·sb[0:nr])
   * + src[i] (may be NULL or equal out) + bias (may be NULL), for i < m,
   * with a, sa, za from quant_a (row stride groups) and b a panel of
   * groups × nr words. */
  void (*tile) (int m, int groups, const uint32_t *a, const uint32_t *b,
      const int32_t *bsum, const float *sa, const int32_t *za,
      const float *sb, const float *src, ptrdiff_t lds, const float *bias,
      float *out, ptrdiff_t ldo);
  /* NULL, or called on each thread after its tiles of a product (as for
   * bf16: AMX gives its tile configuration back) */
  void (*release) (void);
} mc_gemm_int8_kernels;

/* Tests only, as mc_gemm_kernels_override for the int8 kernel of slot v. */
void mc_gemm_int8_kernels_override (mc_gemm_variant v,
    const mc_gemm_int8_kernels *k);

extern const mc_gemm_int8_kernels mc_gemm_int8_kernels_portable;
#ifdef MC_GEMM_HAVE_X86
extern const mc_gemm_int8_kernels mc_gemm_int8_kernels_avx2;
#endif
/* VPDPBUSD on 256-bit vectors, as the VEX instruction (AVX-VNNI) or the
 * EVEX one (AVX512-VNNI with AVX512VL), where the compiler has them (meson
 * sets MC_GEMM_HAVE_AVX_VNNI, MC_GEMM_HAVE_AVX512_VNNI); they take the AVX2
 * slot's panels. */
#ifdef MC_GEMM_HAVE_AVX_VNNI
extern const mc_gemm_int8_kernels mc_gemm_int8_kernels_avx_vnni;
#endif
#ifdef MC_GEMM_HAVE_AVX512_VNNI
extern const mc_gemm_int8_kernels mc_gemm_int8_kernels_avx512_vnni;
#endif

/* VPDPBUSD on 512-bit vectors with the AVX-512 slot's 32-column panels
 * (meson sets MC_GEMM_HAVE_AVX512_VNNI512 where the compiler has it). */
#ifdef MC_GEMM_HAVE_AVX512_VNNI512
extern const mc_gemm_int8_kernels mc_gemm_int8_kernels_avx512_vnni512;
#endif

/* TDPBUSD on AMX tiles with the same 32-column panels
 * (gemm_int8_amx_template.h; meson sets MC_GEMM_HAVE_AMX_INT8 where the
 * compiler has -mamx-int8).  Its outputs equal the other int8 kernels'.
 * The same code on 32-row strips (32×32 blocks of C: four independent
 * sums, one tile load per product) is an experiment for machines with AMX,
 * which MC_GEMM_AMX_ROWS=32 selects: which is faster is not measured. */
#ifdef MC_GEMM_HAVE_AMX_INT8
extern const mc_gemm_int8_kernels mc_gemm_int8_kernels_amx;
extern const mc_gemm_int8_kernels mc_gemm_int8_kernels_amx32;
#endif

/* The AMX-INT8 kernel, when this build has it and this process may run it:
 * cpuid and XCR0 report AMX-TILE and AMX-INT8, the AVX-512 variant is
 * usable (the kernel's epilogue) and Linux granted the tile data permission
 * (asked on the first call).  Otherwise NULL, and *why (may be NULL) says
 * which failed.  Ignores MC_GEMM_AMX; where it is not NULL, the int8
 * products of the AVX-512 slot run on it unless MC_GEMM_AMX=0 (on its
 * 32-row form with MC_GEMM_AMX_ROWS=32). */
const mc_gemm_int8_kernels *mc_gemm_int8_amx_kernels (const char **why);

/* The VNNI int8 kernel the AVX2 slot runs on this CPU, or NULL (none
 * usable, none built, or MC_GEMM_VNNI=0 in the environment). */
const mc_gemm_int8_kernels *mc_gemm_int8_vnni_kernels (void);
/* The same for the AVX-512 slot: while it is NULL, int8 panels packed with
 * the AVX-512 variant current are packed for the AVX2 slot. */
const mc_gemm_int8_kernels *mc_gemm_int8_vnni512_kernels (void);

/* Packs element (k, n) = src[k·sk + n·sn] · (scale ? scale[n] : 1) as int8
 * panels of nr columns (the layout above) into dst (ceil(N/nr) · ceil(K/4)
 * · nr words), the column scales into col_scale, Σ_k qb into col_sum and,
 * when col_diag is not NULL (K = N), the diagonal in float into col_diag
 * (ceil(N/nr) · nr each, zero past N). */
void mc_gemm_int8_pack (uint32_t *dst, float *col_scale, int32_t *col_sum,
    float *col_diag, const float *src, ptrdiff_t sk, ptrdiff_t sn, int K,
    int N, const float *scale, int nr);
#endif

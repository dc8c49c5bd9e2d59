/* gemm_bf16_amx_template.h — the bf16 kernel on AMX tiles (TDPBF16PS),
 * written against a small layer of tile operations so that the same code
 * runs on the CPU's tiles (x86/gemm_amx.c: the _tile_* intrinsics) and on a
 * plain-C model of them (tests/ops/gemm_bf16_amx_emulated.c, which follows
 * Intel's pseudo-code): that is how it is tested on machines without AMX.
 * The arithmetic, and how it differs from VDPBF16PS's order, is in the bf16
 * part of gemm_kernels.h.
 *
 * The includer defines, before including:
 *   MC_AMX_SYMBOL, MC_AMX_LABEL, MC_AMX_NATIVE   the kernel object, its name,
 *                                  1 on the real tiles
 *   MC_AMX_SYMBOL32, MC_AMX_LABEL32   the same on 32-row strips (below)
 *   vf (16 floats), v_load, v_store              the float epilogue
 *   amx_tile_config (cfg)      LDTILECFG from the 64 bytes at cfg
 *   amx_tile_release ()        TILERELEASE
 *   amx_tile_zero (t)          TILEZERO tmm t
 *   amx_tile_load (t, p, s)    TILELOADD tmm t from p, row stride s bytes
 *   amx_tile_store (t, p, s)   TILESTORED tmm t to p, row stride s bytes
 *   amx_tile_dp (c, a, b)      TDPBF16PS tmm c += tmm a · tmm b
 *   (t, c, a, b are literal tile numbers: the instructions encode them)
 * and optionally MC_AMX_PACK_A_ROW (row, kc, dst) converting one row of A to
 * pair words (default: mc_bf16_pair, one pair at a time).
 *
 * Geometry: mr = 16, nr = 32, the AVX-512 slot's panel width, so the
 * AVX512-BF16 kernel's panels are used as they are.  A panel's pair row is
 * 32 words (128 bytes), and the B tile wants 16 pair rows of 16 columns
 * (64 bytes each): columns 0-15 and 16-31 are the same rows at byte 0 and
 * 64 with stride 128.  One step is 16 pairs of k (32 k):
 *   tmm2 ← A (16 rows × 16 pair words), tmm3, tmm4 ← B's two column halves,
 *   tmm0 += tmm2·tmm3, tmm1 += tmm2·tmm4 (tmm0, tmm1: the 16×32 C block).
 * A K block of kc (≤ 256, 8 steps) has ceil(kc/2) pairs; the r = pairs mod
 * 16 pairs left after the whole steps go through tmm5 (A: 16 rows × r pair
 * words) and tmm6, tmm7 (B: r pair rows), configured for exactly r.  So no
 * tile load reads past the A slice or the panel slice (the last slice of the
 * last panel ends the allocation), and no product with bytes outside them
 * (zero A times a NaN there would be NaN) is ever formed.  r changes only
 * between K blocks of different depth, and reloading the configuration then
 * is cheap next to the block's tiles.
 *
 * Rows: pack_a writes 16 rows whatever m is (rows m-15 zero); the tiles
 * compute all 16 and the epilogue writes m.  The C block leaves the tiles
 * through a float buffer, and the epilogue adds src then bias in float in
 * the caller's MXCSR, as the other kernels do (loading src into the C tiles
 * instead would flush its denormals and change the order).  Through
 * tile_deferred the 16-row form's epilogue, the activation included, waits
 * in a per-thread buffer and runs between the thread's next block's steps
 * (amx_pending below); release writes out the last one.
 *
 * The 32-row form (an experiment for AMX hardware, as amx-int8-32:
 * MC_GEMM_AMX_ROWS=32) computes strips of more than 16 rows as 32×32
 * blocks (mc_amx_block_32x32): four C tiles, so four independent sums where
 * the 16×32 block has two, and one tile load per TDPBF16PS instead of 1.5.
 * Its pack_a writes 32 rows (rows m-31 zero) when m > 16, and strips of at
 * most 16 rows run as in the default form.  Each C element gets the same
 * TDPBF16PS steps in the same order in both forms (C stored to memory and
 * loaded back around a leftover's configuration keeps its bits), so their
 * outputs are identical.
 *
 * Tile state is per thread.  A thread loads the configuration at its first
 * tile of a product and gives it back with TILERELEASE when the driver calls
 * release after its last one, so no configuration of ours outlives a
 * product: other code on the same thread (another AMX library) may change
 * or release the tiles between our products without us running on a stale
 * configuration, and an idle thread keeps no 8 KiB of tile state.
 */
#include <stdint.h>
#include <string.h>

#include "amx_tiles.h"
#include "bf16.h"
#include "gemm_kernels.h"
#include "gelu_template.h"

#define MC_AMX_MR 16
#define MC_AMX_MR32 32
#define MC_AMX_NR 32
#define MC_AMX_STEP 16     /* pairs of k per TDPBF16PS: 16 × 4 bytes of A */
/* Rows of A the driver packs together and runs against each B slice in turn
 * (mc_gemm_bf16_kernels.strip_group).  In the old order each tile read its
 * B slice (up to 256 k × 32 columns, 16 KiB) from L2 for 16 TDPBF16PS, about
 * 64 bytes a cycle, L2's rate; in groups a tile reads its A slice (8 KiB)
 * instead, and the B slice stays in L1.  1 thread, alone, old → grouped:
 * 256×768×256 0.134 → 0.102 ms, 256×384×128 0.038 → 0.035, 256×256×768
 * 0.107 → 0.100; MCi0 bf16 `bench-ab` (old / grouped) 1.019–1.045 on 1
 * thread but 0.985–1.03 on 2, in the VM's fast phase (about 1.00 in its
 * slow one).  Groups of 64 rows did about as well, of 32 less (1.020). */
#define MC_AMX_GROUP_ROWS 128

#if MC_AMX_MR32 > MC_GEMM_MAX_MR || MC_AMX_NR > MC_GEMM_MAX_NR
#error "AMX tile larger than gemm_kernels.h allows"
#endif

/* The configuration for a leftover of r pairs (tmm5-7 unused when r = 0).
 * TDPBF16PS requires A's bytes per row / 4 = B's rows, C's and B's bytes
 * per row equal, and C's rows = A's rows: 16·4 / 4 = 16 and 4r / 4 = r. */
#define MC_AMX_CFG(r) { .palette = 1, \
    .colsb = { 64, 64, 64, 64, 64, 4 * (r), (r) ? 64 : 0, (r) ? 64 : 0 }, \
    .rows = { 16, 16, 16, 16, 16, (r) ? 16 : 0, (r), (r) } }

/* constant data: LDTILECFG reads memory no store has to reach first */
static const mc_amx_tilecfg amx_cfgs[MC_AMX_STEP] = {
  MC_AMX_CFG (0), MC_AMX_CFG (1), MC_AMX_CFG (2), MC_AMX_CFG (3),
  MC_AMX_CFG (4), MC_AMX_CFG (5), MC_AMX_CFG (6), MC_AMX_CFG (7),
  MC_AMX_CFG (8), MC_AMX_CFG (9), MC_AMX_CFG (10), MC_AMX_CFG (11),
  MC_AMX_CFG (12), MC_AMX_CFG (13), MC_AMX_CFG (14), MC_AMX_CFG (15),
};

/* The 32×32 block's configurations: [0] for its whole steps (all eight
 * tiles 16 rows × 64 bytes), [r] for a leftover of r pairs (A's tmm4, tmm5
 * at 4r bytes a row, B's tmm6, tmm7 at r rows). */
#define MC_AMX_CFG32(r) { .palette = 1, \
    .colsb = { 64, 64, 64, 64, (r) ? 4 * (r) : 64, (r) ? 4 * (r) : 64, 64, 64 }, \
    .rows = { 16, 16, 16, 16, 16, 16, (r) ? (r) : 16, (r) ? (r) : 16 } }

static const mc_amx_tilecfg amx_cfgs32[MC_AMX_STEP] = {
  MC_AMX_CFG32 (0), MC_AMX_CFG32 (1), MC_AMX_CFG32 (2), MC_AMX_CFG32 (3),
  MC_AMX_CFG32 (4), MC_AMX_CFG32 (5), MC_AMX_CFG32 (6), MC_AMX_CFG32 (7),
  MC_AMX_CFG32 (8), MC_AMX_CFG32 (9), MC_AMX_CFG32 (10), MC_AMX_CFG32 (11),
  MC_AMX_CFG32 (12), MC_AMX_CFG32 (13), MC_AMX_CFG32 (14), MC_AMX_CFG32 (15),
};

/* The configuration this thread's tiles hold: r for amx_cfgs[r], STEP + r
 * for amx_cfgs32[r], or -1 when they hold none of ours (before the first
 * tile of a product, and after release). */
static _Thread_local int amx_loaded = -1;

static void
amx_configure (int key)
{
  if (amx_loaded == key)
    return;
  amx_tile_config (key < MC_AMX_STEP ? &amx_cfgs[key]
      : &amx_cfgs32[key - MC_AMX_STEP]);
  amx_loaded = key;
}

/* mc_amx_block_32x32's configurations */
static void
amx_set_config32 (int r, const void *ctx)
{
  (void) ctx;
  amx_configure (MC_AMX_STEP + r);
}

/* m rows of ceil(kc/2) pair words, row stride ceil(kc/2) words, then zero
 * rows up to `rows` (16 × ceil(kc/2), or 32 ×, ≤ mr·(kc + 1) floats, the
 * driver's buffer). */
static void
amx_pack_rows (int m, int rows, int kc, const float *a, ptrdiff_t lda,
    void *dst)
{
  const int pairs = (kc + 1) / 2;
  uint32_t *d = dst;

  for (int i = 0; i < m; i++) {
    const float *row = a + i * lda;
    uint32_t *o = d + (size_t) i * pairs;
#ifdef MC_AMX_PACK_A_ROW
    MC_AMX_PACK_A_ROW (row, kc, o);
#else
    for (int q = 0; q < kc / 2; q++)
      o[q] = mc_bf16_pair (row[2 * q], row[2 * q + 1]);
    if (kc & 1)
      o[pairs - 1] = mc_bf16_pair (row[kc - 1], 0.0f);
#endif
  }
  if (m < rows)
    memset (d + (size_t) m * pairs, 0, (size_t) (rows - m) * pairs * sizeof (uint32_t));
}

static void
amx_pack_a (int m, int kc, const float *a, ptrdiff_t lda, void *dst)
{
  amx_pack_rows (m, MC_AMX_MR, kc, a, lda, dst);
}

static void
amx_pack_a32 (int m, int kc, const float *a, ptrdiff_t lda, void *dst)
{
  amx_pack_rows (m, m > MC_AMX_MR ? MC_AMX_MR32 : MC_AMX_MR, kc, a, lda, dst);
}

/* Rows [r0, r1) of a block's float epilogue, as in gemm_bf16_template.h:
 * acc + src, then + bias; then act (none, ReLU or the coarse GELU, with
 * the float kernels' code from gelu_template.h, so the bits are those of
 * their finish), two rows (four vectors) at a time.  Src rows are read
 * before the same out rows are written: src may equal out.  One copy,
 * called: inlined at its five call sites, the GELU made the kernel four
 * times the size. */
static void
amx_epilogue_rows (const float *acc, int r0, int r1, const float *src,
    ptrdiff_t lds, const float *bias, mc_act act, float *out, ptrdiff_t ldo)
{
  for (int i = r0; i < r1; i += 2) {
    const int rows = r1 - i < 2 ? 1 : 2;
    vf v[4];

    for (int r = 0; r < rows; r++)
      for (int h = 0; h < 2; h++) {
        vf x = v_load (acc + (i + r) * MC_AMX_NR + 16 * h);
        if (src)
          x += v_load (src + (i + r) * lds + 16 * h);
        if (bias)
          x += v_load (bias + 16 * h);
        v[2 * r + h] = x;
      }
    if (rows < 2) {
      /* a last single row: its two vectors again, computed, not stored */
      v[2] = v[0];
      v[3] = v[1];
    }
    if (act == MC_ACT_GELU_COARSE) {
      gelu_coarse_group (v, 4);
    } else if (act == MC_ACT_RELU) {
      for (int w = 0; w < 2 * rows; w++)
        v[w] = v_max (v[w], v_set1 (0.0f));
    }
    for (int r = 0; r < rows; r++)
      for (int h = 0; h < 2; h++)
        v_store (out + (i + r) * ldo + 16 * h, v[2 * r + h]);
  }
}

/* The deferred epilogue (amx_tile_deferred): a 16×32 block's sums wait here
 * while the thread's next block runs, and the vector unit writes them out
 * between that block's tile steps.  Done after the block instead (as
 * amx_tile does), the epilogue and the next block's tile steps do not
 * overlap: a block's epilogue with the GELU is ~540 vector µops, more than
 * the reorder buffer holds.  A timing program with this loop (1 thread,
 * 256×256×768 in groups of 8 strips, random bf16 operands, forms
 * alternated every product, medians): sums + bias after the block 82.5 µs,
 * deferred 69.1; with the GELU after the group (the driver's strip pass)
 * 145.9, after the block 145.7, deferred 104.3.  In the driver (gemm.c)
 * only products with an activation defer. */
typedef struct {
  float acc[MC_AMX_MR * MC_AMX_NR] __attribute__ ((aligned (64)));
  float *out;            /* NULL: nothing waits */
  const float *src, *bias;
  ptrdiff_t lds, ldo;
  mc_act act;
  int m, done;           /* rows, rows written */
  int per;               /* rows due per step of the block now running */
} amx_pending;

static _Thread_local amx_pending amx_pend;

/* After `done` of a block's `steps` steps: the waiting rows due by then,
 * p->per a step (the last ones at done = steps). */
static inline __attribute__ ((always_inline)) void
amx_pending_step (void *ctx, int done, int steps)
{
  amx_pending *p = ctx;
  int upto;

  if (!p->out)
    return;
  upto = done >= steps || done * p->per > p->m ? p->m : done * p->per;
  if (upto > p->done) {
    amx_epilogue_rows (p->acc, p->done, upto, p->src, p->lds, p->bias,
        p->act, p->out, p->ldo);
    p->done = upto;
  }
  if (p->done == p->m)
    p->out = NULL;
}

static void
amx_flush (void)
{
  amx_pending_step (&amx_pend, 1, 1);
}

/* The sums of a block of m rows and kc deep into acc (row stride 32
 * floats); a 16-row block writes out p's waiting rows between its steps. */
static void
amx_block (int m, int kc, const void *a, const uint32_t *b, float *acc,
    amx_pending *p)
{
  const int pairs = (kc + 1) / 2;
  const int steps = pairs / MC_AMX_STEP, rest = pairs % MC_AMX_STEP;
  const long astride = (long) pairs * 4;

  if (m > MC_AMX_MR) {
    mc_amx_block_32x32 (a, astride, b, steps, rest, acc, amx_set_config32,
        NULL);
  } else {
    /* without a leftover the block uses tmm0-4 at 16 rows × 64 bytes, as
     * every configuration but a 32×32 leftover's has them */
    amx_configure (rest || amx_loaded < 0 || amx_loaded > MC_AMX_STEP
        ? rest : amx_loaded);
    if (p)
      mc_amx_block_16x32 (a, astride, b, steps, rest, acc, amx_pending_step, p);
    else
      mc_amx_block_16x32 (a, astride, b, steps, rest, acc, NULL, NULL);
  }
}

static void
amx_tile (int m, int kc, const void *a, const uint32_t *b, const float *src,
    ptrdiff_t lds, const float *bias, float *out, ptrdiff_t ldo)
{
  float acc[MC_AMX_MR32 * MC_AMX_NR] __attribute__ ((aligned (64)));

  amx_flush ();
  amx_block (m, kc, a, b, acc, NULL);
  amx_epilogue_rows (acc, 0, m, src, lds, bias, MC_ACT_NONE, out, ldo);
}

/* As amx_tile, with act, and out written by this thread's next tile,
 * tile_deferred or release at the latest.  32-row blocks run at once. */
static void
amx_tile_deferred (int m, int kc, const void *a, const uint32_t *b,
    const float *src, ptrdiff_t lds, const float *bias, mc_act act,
    float *out, ptrdiff_t ldo)
{
  const int steps = (kc + 1) / 2 / MC_AMX_STEP;
  amx_pending *p = &amx_pend;

  if (m > MC_AMX_MR) {
    float acc[MC_AMX_MR32 * MC_AMX_NR] __attribute__ ((aligned (64)));
    amx_flush ();
    amx_block (m, kc, a, b, acc, NULL);
    amx_epilogue_rows (acc, 0, m, src, lds, bias, act, out, ldo);
    return;
  }
  /* the waiting rows in even shares (pairs: the GELU's four vectors) over
   * the block's steps, the last of which writes out whatever still waits,
   * so that the block's sums can take the waiting ones' place */
  if (p->out) {
    p->per = steps ? (p->m + steps - 1) / steps : p->m;
    p->per += p->per & 1;
  }
  amx_block (m, kc, a, b, p->acc, p);
  p->out = out;
  p->src = src;
  p->lds = lds;
  p->bias = bias;
  p->ldo = ldo;
  p->act = act;
  p->m = m;
  p->done = 0;
}

static void
amx_release (void)
{
  amx_flush ();
  if (amx_loaded >= 0) {
    amx_tile_release ();
    amx_loaded = -1;
  }
}

const mc_gemm_bf16_kernels MC_AMX_SYMBOL = {
  .name = MC_AMX_LABEL,
  .mr = MC_AMX_MR,
  .nr = MC_AMX_NR,
  .native = MC_AMX_NATIVE,
  .pack_a = amx_pack_a,
  .tile = amx_tile,
  .tile_deferred = amx_tile_deferred,
  .release = amx_release,
  .strip_group = MC_AMX_GROUP_ROWS / MC_AMX_MR,
};

const mc_gemm_bf16_kernels MC_AMX_SYMBOL32 = {
  .name = MC_AMX_LABEL32,
  .mr = MC_AMX_MR32,
  .nr = MC_AMX_NR,
  .native = MC_AMX_NATIVE,
  .pack_a = amx_pack_a32,
  .tile = amx_tile,
  .tile_deferred = amx_tile_deferred,
  .release = amx_release,
  .strip_group = MC_AMX_GROUP_ROWS / MC_AMX_MR32,
};

#undef MC_AMX_MR
#undef MC_AMX_MR32
#undef MC_AMX_NR
#undef MC_AMX_STEP
#undef MC_AMX_CFG
#undef MC_AMX_CFG32

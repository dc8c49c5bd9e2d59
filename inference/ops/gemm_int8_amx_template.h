/* gemm_int8_amx_template.h — the int8 kernel on AMX tiles (TDPBUSD),
 * written against the same small layer of tile operations as the bf16 one
 * (gemm_bf16_amx_template.h) and the same block loops (amx_tiles.h), so
 * that the same code runs on the CPU's tiles (x86/gemm_int8_amx.c) and on
 * the plain-C model of them (tests/ops/amx_tile_model.c): that is how it is
 * tested on machines without AMX.
 *
 * The includer defines, before including:
 *   MC_AMX8_SYMBOL, MC_AMX8_LABEL   the kernel object and its name
 *   MC_AMX8_SYMBOL32, MC_AMX8_LABEL32   the same on 32-row strips
 *   amx_tile_config (cfg), amx_tile_release (), amx_tile_zero (t),
 *   amx_tile_load (t, p, s), amx_tile_store (t, p, s)   as for bf16
 *   amx_tile_dp (c, a, b)        TDPBUSD tmm c += tmm a · tmm b
 *   (t, c, a, b are literal tile numbers: the instructions encode them)
 * and builds it with AVX2 at least (gemm_int8_x86.h's quantization and
 * epilogue; the 512-bit epilogue where __AVX512F__).
 *
 * Numerics are those of every int8 kernel (gemm_kernels.h): A quantized
 * unsigned (a_bias 0) by the shared quant_rows, B the signed panels of the
 * AVX-512 slot (32 columns, 4 k per word), exact int32 sums (TDPBUSD sums
 * unsigned·signed bytes in 32 bits like VPDPBUSD, and no sum can overflow:
 * K ≤ MC_GEMM_INT8_MAX_K, |product| ≤ 254·127), then the float epilogue of
 * the 512-bit VPDPBUSD kernel.  So outputs equal every other int8 kernel's
 * bit for bit.
 *
 * Geometry: mr = 16 (or 32, below), nr = 32.  A panel's row for one group of 4 k is 32
 * words (128 bytes); a B tile is 16 such rows of 16 columns (64 bytes),
 * columns 0-15 at byte 0 and 16-31 at byte 64, stride 128.  One step is 16
 * groups (64 k):
 *   tmm2 ← A (m rows × 64 bytes), tmm3, tmm4 ← B's two column halves,
 *   tmm0 += tmm2·tmm3, tmm1 += tmm2·tmm4 (tmm0, tmm1: the m×32 int32 block).
 * The r = groups mod 16 groups left after the whole steps go through tmm5
 * (A: m rows × 4r bytes) and tmm6, tmm7 (B: r rows).  The tiles have
 * exactly m rows: quant_a writes only m rows (its contract), so no tile load
 * reads a row it did not write, and no load reads past the strip or the
 * panel.  A configuration is thus one of 16 × 16 (m, r); it changes only at
 * the last, short strip of a product or between products of different K,
 * and is loaded only then.
 *
 * The 32-row form (an experiment: MC_GEMM_AMX_ROWS=32) computes strips of
 * more than 16 rows as 32×32 blocks, four C tiles with four independent
 * sums (mc_amx_steps_32x32), which matters if a TDPBUSD's latency exceeds
 * two issue slots; the eight tiles are then all in use, so a leftover of k
 * runs after a configuration reload, with C stored and loaded back.
 *
 * K is one block (the int8 rule), so a tile's int32 sums are final: they
 * leave the tiles through a 32×32 buffer into the float epilogue.
 *
 * Tile state is per thread and given back after each product (release), as
 * in the bf16 kernel, for the same reasons.
 */
#include <stdint.h>
#include <string.h>

#include "amx_tiles.h"
#include "gemm_kernels.h"
#include "x86/gemm_int8_x86.h"

#define MC_AMX8_MR 16       /* rows of the default kernel's strips */
#define MC_AMX8_MR32 32     /* rows of the 32-row kernel's */
#define MC_AMX8_NR 32
#define MC_AMX8_STEP 16     /* groups of 4 k per TDPBUSD: 64 bytes of A */

#if MC_AMX8_MR32 > MC_GEMM_INT8_MAX_MR || MC_AMX8_MR32 > MC_GEMM_MAX_MR \
    || MC_AMX8_NR > MC_GEMM_MAX_NR
#error "AMX int8 tile larger than gemm_kernels.h allows"
#endif

/* The configurations: a 16×32 block of m ≤ 16 rows with a leftover of r
 * groups (tmm0-7 as in mc_amx_block_16x32); the whole steps of a 32×32
 * block of m > 16 rows (mc_amx_steps_32x32); its leftover step of r groups
 * (tmm4, tmm5: A at 4r bytes a row, tmm6, tmm7: r rows of B). */
enum { AMX8_16, AMX8_32, AMX8_32_REST };

/* What this thread's tiles are configured for (kind·1024 + m·16 + r), or
 * -1 when they hold no configuration of ours. */
static _Thread_local int amx8_loaded = -1;

/* Loads configuration `kind` for m rows and a leftover of r groups unless
 * it is the one loaded.  TDPBUSD requires C's rows = A's rows, A's bytes
 * per row / 4 = B's rows (16, or r), C's and B's bytes per row equal (64);
 * unused tiles have both fields zero.  Loading zeroes every tile. */
static void
amx8_configure (int kind, int m, int r)
{
  const int key = kind * 1024 + m * MC_AMX8_STEP + r;
  const uint8_t lower = (uint8_t) (m > 16 ? m - 16 : 0);
  mc_amx_tilecfg cfg;

  if (amx8_loaded == key)
    return;
  memset (&cfg, 0, sizeof cfg);
  cfg.palette = 1;
  if (kind == AMX8_16) {
    for (int t = 0; t < 5; t++) {
      cfg.colsb[t] = 64;
      cfg.rows[t] = t == 3 || t == 4 ? 16 : (uint8_t) m;
    }
    if (r) {
      cfg.colsb[5] = (uint16_t) (4 * r);
      cfg.rows[5] = (uint8_t) m;
      cfg.colsb[6] = cfg.colsb[7] = 64;
      cfg.rows[6] = cfg.rows[7] = (uint8_t) r;
    }
  } else {
    const int kb = kind == AMX8_32 ? 64 : 4 * r, brows = kind == AMX8_32 ? 16 : r;
    for (int t = 0; t < 4; t++) {
      cfg.colsb[t] = 64;
      cfg.rows[t] = t < 2 ? 16 : lower;
    }
    cfg.colsb[4] = cfg.colsb[5] = (uint16_t) kb;
    cfg.rows[4] = 16;
    cfg.rows[5] = lower;
    cfg.colsb[6] = cfg.colsb[7] = 64;
    cfg.rows[6] = cfg.rows[7] = (uint8_t) brows;
  }
  /* LDTILECFG's operand names only the first bytes of cfg (GCC 12's
   * _tile_loadconfig): the address handed to an asm with a memory clobber
   * makes every store to cfg land first */
  __asm__ volatile ("" : : "r" (&cfg) : "memory");
  amx_tile_config (&cfg);
  amx8_loaded = key;
}

static void
amx8_quant_a (int m, int K, const float *a, ptrdiff_t lda, uint32_t *dst,
    float *scale, int32_t *zero)
{
  quant_rows (m, K, a, lda, dst, scale, zero, 0);
}

/* the 32-column epilogue from the int32 sums (row stride 32) */
static inline void
amx8_finish (int m, const int32_t *sums, const int32_t *bsum,
    const float *sa, const int32_t *za, const float *sb, const float *src,
    ptrdiff_t lds, const float *bias, float *out, ptrdiff_t ldo)
{
#ifdef __AVX512F__
  __m512i acc[MC_AMX8_MR32][2];

  for (int i = 0; i < m; i++) {
    acc[i][0] = _mm512_load_si512 (sums + i * MC_AMX8_NR);
    acc[i][1] = _mm512_load_si512 (sums + i * MC_AMX8_NR + 16);
  }
  finish_rows512 (m, acc, bsum, sa, za, sb, src, lds, bias, out, ldo);
#else
  /* two 16-column halves: the same operations lane by lane */
  for (int h = 0; h < MC_AMX8_NR; h += 16) {
    __m256i acc[MC_AMX8_MR32][2];
    for (int i = 0; i < m; i++) {
      acc[i][0] = _mm256_load_si256 ((const __m256i *) (sums + i * MC_AMX8_NR + h));
      acc[i][1] = _mm256_load_si256 ((const __m256i *) (sums + i * MC_AMX8_NR + h + 8));
    }
    finish_rows (m, acc, 0, bsum + h, sa, za, sb + h, src ? src + h : NULL,
        lds, bias ? bias + h : NULL, out + h, ldo);
  }
#endif
}

/* mc_amx_block_32x32's configurations for m rows (ctx) */
static void
amx8_set_config32 (int r, const void *ctx)
{
  amx8_configure (r ? AMX8_32_REST : AMX8_32, *(const int *) ctx, r);
}

/* The sums of m ≤ 32 rows: a 16×32 block, or a 32×32 one. */
static void
amx8_sums (int m, int groups, const uint32_t *a, const uint32_t *b,
    int32_t *sums)
{
  const int steps = groups / MC_AMX8_STEP, rest = groups % MC_AMX8_STEP;
  const long astride = (long) groups * 4;

  if (m <= 16) {
    amx8_configure (AMX8_16, m, rest);
    mc_amx_block_16x32 (a, astride, b, steps, rest, sums, NULL, NULL);
    return;
  }
  mc_amx_block_32x32 (a, astride, b, steps, rest, sums, amx8_set_config32, &m);
}

static void
amx8_tile (int m, int groups, const uint32_t *a, const uint32_t *b,
    const int32_t *bsum, const float *sa, const int32_t *za, const float *sb,
    const float *src, ptrdiff_t lds, const float *bias, float *out,
    ptrdiff_t ldo)
{
  int32_t sums[MC_AMX8_MR32 * MC_AMX8_NR] __attribute__ ((aligned (64)));

  if (m < 1 || m > MC_AMX8_MR32)
    return;
  amx8_sums (m, groups, a, b, sums);
  amx8_finish (m, sums, bsum, sa, za, sb, src, lds, bias, out, ldo);
}

static void
amx8_release (void)
{
  if (amx8_loaded >= 0) {
    amx_tile_release ();
    amx8_loaded = -1;
  }
}

/* The default kernel, 16-row strips, and the same code on 32-row strips
 * (MC_GEMM_AMX_ROWS=32; gemm_kernels.h). */
const mc_gemm_int8_kernels MC_AMX8_SYMBOL = {
  .name = MC_AMX8_LABEL,
  .mr = MC_AMX8_MR,
  .nr = MC_AMX8_NR,
  .a_bias = 0,
  .quant_a = amx8_quant_a,
  .tile = amx8_tile,
  .release = amx8_release,
};

const mc_gemm_int8_kernels MC_AMX8_SYMBOL32 = {
  .name = MC_AMX8_LABEL32,
  .mr = MC_AMX8_MR32,
  .nr = MC_AMX8_NR,
  .a_bias = 0,
  .quant_a = amx8_quant_a,
  .tile = amx8_tile,
  .release = amx8_release,
};

#undef MC_AMX8_MR
#undef MC_AMX8_MR32
#undef MC_AMX8_NR
#undef MC_AMX8_STEP

/* amx_tiles.h — what the AMX kernel templates share
 * (gemm_bf16_amx_template.h, gemm_int8_amx_template.h): LDTILECFG's memory
 * operand, and the products of one 16×32 or 32×32 block of C on the
 * tiles.  The block loops use the tile operations the includer defines
 * (amx_tile_zero, amx_tile_load, amx_tile_store and amx_tile_dp, the
 * kernel's dot-product instruction), so every kernel file gets its own
 * copy, on the CPU's tiles or on the tests' model of them. */
#ifndef MC_OPS_AMX_TILES_H
#define MC_OPS_AMX_TILES_H

#include <stddef.h>
#include <stdint.h>

/* Palette 1: bytes 16-31 hold the bytes per row of tmm0-7, bytes 48-55
 * their rows; the rest (tiles 8-15 included) must be zero, as must both
 * fields of an unused tile. */
typedef struct {
  uint8_t palette;
  uint8_t start_row;
  uint8_t reserved[14];
  uint16_t colsb[16];
  uint8_t rows[16];
} __attribute__ ((aligned (64))) mc_amx_tilecfg;

_Static_assert (sizeof (mc_amx_tilecfg) == 64, "LDTILECFG reads 64 bytes");

/* The 32-bit sums of one block of C (the configured rows × 32 columns) into
 * out (row stride 128 bytes): A's rows at a (stride astride bytes), B a
 * panel of 32 columns × 4 bytes per row (128 bytes) from b.  One step reads
 * 64 bytes of each A row and 16 panel rows:
 *   tmm2 ← A, tmm3, tmm4 ← B's columns 0-15 and 16-31 (bytes 0 and 64),
 *   tmm0 += tmm2·tmm3, tmm1 += tmm2·tmm4;
 * then `rest` (< 16) 4-byte words per A row and panel rows go through
 * tmm5-7, which the configuration sizes for exactly that.
 *
 * step (NULL, or inlined where the caller passes a constant function) runs
 * after each whole step s as step (ctx, s + 1, steps), and as
 * step (ctx, 1, 1) when there is none, always before out is written: vector
 * work placed there (the previous block's epilogue) runs while the tile
 * unit works on this block's products.  The sums do not depend on it. */
static inline __attribute__ ((always_inline)) void
mc_amx_block_16x32 (const void *a, long astride, const void *b, int steps,
    int rest, void *out, void (*step) (void *ctx, int done, int steps),
    void *ctx)
{
  const long bstride = 32 * 4;
  const char *ap = a, *bp = b;

  /* the tile loads name their memory by address only: every store to A
   * and B is done before them */
  __asm__ volatile ("" ::: "memory");
  amx_tile_zero (0);
  amx_tile_zero (1);
  for (int s = 0; s < steps; s++) {
    const char *as = ap + (size_t) s * 64;
    const char *bs = bp + (size_t) s * 16 * bstride;
    amx_tile_load (2, as, astride);
    amx_tile_load (3, bs, bstride);
    amx_tile_load (4, bs + 64, bstride);
    amx_tile_dp (0, 2, 3);
    amx_tile_dp (1, 2, 4);
    if (step)
      step (ctx, s + 1, steps);
  }
  if (step && !steps)
    step (ctx, 1, 1);
  if (rest) {
    const char *as = ap + (size_t) steps * 64;
    const char *bs = bp + (size_t) steps * 16 * bstride;
    amx_tile_load (5, as, astride);
    amx_tile_load (6, bs, bstride);
    amx_tile_load (7, bs + 64, bstride);
    amx_tile_dp (0, 5, 6);
    amx_tile_dp (1, 5, 7);
  }
  amx_tile_store (0, out, bstride);
  amx_tile_store (1, (char *) out + 64, bstride);
}

/* A 32×32 block of C in four tiles: tmm0, tmm1 rows 0-15 × columns 0-15
 * and 16-31, tmm2, tmm3 rows 16-31; per 64-byte step tmm4, tmm5 ← A's rows
 * 0-15 and 16-31, tmm6, tmm7 ← B's column halves, and four products: four
 * independent sums, each A and B tile used twice.  `steps` whole steps from
 * C = 0, then optionally the same for one leftover step of a different
 * configuration (the caller reloads the configuration in between and puts
 * C back with mc_amx_load_c_32x32). */
static inline void
mc_amx_steps_32x32 (const void *a, long astride, const void *b, int steps,
    int zero)
{
  const long bstride = 32 * 4;
  const char *ap = a, *bp = b;

  __asm__ volatile ("" ::: "memory");
  if (zero) {
    amx_tile_zero (0);
    amx_tile_zero (1);
    amx_tile_zero (2);
    amx_tile_zero (3);
  }
  for (int s = 0; s < steps; s++) {
    const char *as = ap + (size_t) s * 64;
    const char *bs = bp + (size_t) s * 16 * bstride;
    amx_tile_load (4, as, astride);
    amx_tile_load (5, as + 16 * astride, astride);
    amx_tile_load (6, bs, bstride);
    amx_tile_load (7, bs + 64, bstride);
    amx_tile_dp (0, 4, 6);
    amx_tile_dp (1, 4, 7);
    amx_tile_dp (2, 5, 6);
    amx_tile_dp (3, 5, 7);
  }
}

/* C of the 32×32 block to out / from in (row stride 128 bytes) */
static inline void
mc_amx_store_c_32x32 (void *out)
{
  char *o = out;

  amx_tile_store (0, o, 128);
  amx_tile_store (1, o + 64, 128);
  amx_tile_store (2, o + 16 * 128, 128);
  amx_tile_store (3, o + 16 * 128 + 64, 128);
}

static inline void
mc_amx_load_c_32x32 (const void *in)
{
  const char *p = in;

  __asm__ volatile ("" ::: "memory");
  amx_tile_load (0, p, 128);
  amx_tile_load (1, p + 64, 128);
  amx_tile_load (2, p + 16 * 128, 128);
  amx_tile_load (3, p + 16 * 128 + 64, 128);
}

/* The 32-bit sums of one 32×32 block of C into out (row stride 128 bytes):
 * `steps` whole steps, then `rest` (< 16) 4-byte words per A row and panel
 * rows.  All eight tiles are in use, so the leftover step runs under another
 * configuration, loaded between the two with C stored and loaded back
 * (which keeps its bits).  set_config (r, ctx) loads the configuration of
 * the whole steps (r = 0) or of a leftover of r (tmm4, tmm5 at 4r bytes a
 * row, tmm6, tmm7 at r rows), unless it is loaded. */
static inline void
mc_amx_block_32x32 (const void *a, long astride, const void *b, int steps,
    int rest, void *out, void (*set_config) (int r, const void *ctx),
    const void *ctx)
{
  if (steps) {
    set_config (0, ctx);
    mc_amx_steps_32x32 (a, astride, b, steps, 1);
  }
  if (rest) {
    if (steps)
      mc_amx_store_c_32x32 (out);
    set_config (rest, ctx);
    if (steps)
      mc_amx_load_c_32x32 (out);
    mc_amx_steps_32x32 ((const char *) a + (size_t) steps * 64, astride,
        (const char *) b + (size_t) steps * 16 * 32 * 4, 1, !steps);
  }
  mc_amx_store_c_32x32 (out);
}

#endif

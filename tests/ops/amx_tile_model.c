/* amx_tile_model.c — a plain-C model of the AMX tiles, after Intel's
 * description of the instructions, so that the AMX kernels' template code
 * (gemm_bf16_amx_template.h, gemm_int8_amx_template.h) runs on machines
 * without AMX; only the _tile_* intrinsics are left to real hardware.
 *  - LDTILECFG reads the 64-byte configuration as the CPU does (palette 1,
 *    reserved bytes zero, at most 16 rows of 64 bytes, a tile unused only
 *    when both its fields are zero) and zeroes the tiles; TILERELEASE
 *    returns to the unconfigured state.
 *  - TILELOADD/TILESTORED move rows × colsb bytes, row r at base + r·stride;
 *    TILEZERO clears.
 *  - TDPBF16PS (C += A·B): for each row m and column n of C, two float
 *    sums start at 0, one over the even products of the 16 (A bytes/4)
 *    pairs and one over the odd products, each step a fused multiply-add
 *    rounded to nearest even with denormal inputs read as zero and
 *    denormal results flushed to zero; then C[m][n] += (even sum + odd
 *    sum), with the same flushing.
 *  - TDPBUSD (C += A·B): for each row m and column n of C, the products of
 *    A's unsigned bytes by B's signed bytes over the (A bytes/4) groups of
 *    four are summed in 32-bit integers (wrapping, no saturation) and added
 *    to C[m][n].
 * Every use the CPU would fault on (#UD, #GP) aborts with a message: a tile
 * used while unconfigured (e.g. after the kernel's release), shapes that do
 * not match, a bad configuration.  The state is per thread, as the CPU's. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "amx_tile_model.h"

typedef struct {
  int rows, colsb;           /* 0, 0: not configured */
  uint8_t data[16][64];
} emu_tile;

static _Thread_local struct {
  int configured;
  emu_tile t[8];
} emu;

static void
emu_fault (const char *what, int t)
{
  fprintf (stderr, "AMX model: %s (tile %d): the CPU would fault here\n",
      what, t);
  abort ();
}

static emu_tile *
emu_get (int t)
{
  if (!emu.configured)
    emu_fault ("tiles used while not configured", t);
  if (t < 0 || t > 7 || emu.t[t].rows == 0)
    emu_fault ("tile not configured", t);
  return &emu.t[t];
}

void
mc_amx_model_config (const void *cfg)
{
  const uint8_t *b = cfg;

  if (b[0] != 1)
    emu_fault ("palette is not 1", -1);
  for (int i = 1; i < 64; i++)
    if ((i < 16 || (i >= 32 && i < 48) || i >= 56) && b[i] != 0)
      emu_fault ("reserved configuration byte (or start_row) not zero", -1);
  memset (&emu, 0, sizeof emu);
  for (int t = 0; t < 8; t++) {
    const int colsb = b[16 + 2 * t] | (b[17 + 2 * t] << 8), rows = b[48 + t];
    if (colsb > 64 || rows > 16 || (colsb == 0) != (rows == 0)
        || colsb % 4 != 0)
      emu_fault ("bad tile shape in the configuration", t);
    emu.t[t].colsb = colsb;
    emu.t[t].rows = rows;
  }
  emu.configured = 1;
}

void
mc_amx_model_release (void)
{
  memset (&emu, 0, sizeof emu);
}

void
mc_amx_model_zero (int t)
{
  memset (emu_get (t)->data, 0, sizeof emu.t[0].data);
}

void
mc_amx_model_load (int t, const void *base, long stride)
{
  emu_tile *x = emu_get (t);

  memset (x->data, 0, sizeof x->data);
  for (int r = 0; r < x->rows; r++)
    memcpy (x->data[r], (const uint8_t *) base + r * stride,
        (size_t) x->colsb);
}

void
mc_amx_model_store (int t, void *base, long stride)
{
  const emu_tile *x = emu_get (t);

  for (int r = 0; r < x->rows; r++)
    memcpy ((uint8_t *) base + r * stride, x->data[r], (size_t) x->colsb);
}

/* denormal → zero of its sign (inputs: DAZ; results: FTZ) */
static float
emu_flush (float x)
{
  return fabsf (x) < 0x1p-126f ? copysignf (0.0f, x) : x;
}

static float
emu_bf16 (const uint8_t *p, int half)
{
  uint32_t u = (uint32_t) (p[2 * half] | (p[2 * half + 1] << 8)) << 16;
  float x;

  memcpy (&x, &u, sizeof x);
  return emu_flush (x);
}

static float
emu_f32 (const uint8_t *p)
{
  float x;

  memcpy (&x, p, sizeof x);
  return x;
}

/* instructions executed by all threads (tests check that the model ran) */
static long emu_dp_count, emu_dpbusd_count;

/* the shapes TDPBF16PS and TDPBUSD require (both read A and B as 4-byte
 * elements) */
static void
emu_dp_operands (const char *what, int c, int a, int b, emu_tile **tc,
    emu_tile **ta, emu_tile **tb)
{
  if (c == a || c == b || a == b)
    emu_fault (what, c);
  *tc = emu_get (c);
  *ta = emu_get (a);
  *tb = emu_get (b);
  if ((*tc)->colsb != (*tb)->colsb || (*tc)->rows != (*ta)->rows
      || (*ta)->colsb / 4 != (*tb)->rows || (*tc)->colsb / 4 > 16
      || (*tb)->rows > 16)
    emu_fault ("tile shapes do not match", c);
}

void
mc_amx_model_dpbf16ps (int c, int a, int b)
{
  emu_tile *tc, *ta, *tb;

  __atomic_fetch_add (&emu_dp_count, 1, __ATOMIC_RELAXED);
  emu_dp_operands ("TDPBF16PS operands must be three different tiles", c, a,
      b, &tc, &ta, &tb);
  for (int m = 0; m < tc->rows; m++)
    for (int n = 0; n < tc->colsb / 4; n++) {
      float even = 0.0f, odd = 0.0f, sum;
      for (int k = 0; k < ta->colsb / 4; k++) {
        const uint8_t *wa = &ta->data[m][4 * k], *wb = &tb->data[k][4 * n];
        even = emu_flush (fmaf (emu_bf16 (wa, 0), emu_bf16 (wb, 0), even));
        odd = emu_flush (fmaf (emu_bf16 (wa, 1), emu_bf16 (wb, 1), odd));
      }
      sum = emu_flush (even + odd);
      sum = emu_flush (emu_flush (emu_f32 (&tc->data[m][4 * n])) + sum);
      memcpy (&tc->data[m][4 * n], &sum, sizeof sum);
    }
}

void
mc_amx_model_dpbusd (int c, int a, int b)
{
  emu_tile *tc, *ta, *tb;

  __atomic_fetch_add (&emu_dpbusd_count, 1, __ATOMIC_RELAXED);
  emu_dp_operands ("TDPBUSD operands must be three different tiles", c, a, b,
      &tc, &ta, &tb);
  for (int m = 0; m < tc->rows; m++)
    for (int n = 0; n < tc->colsb / 4; n++) {
      uint32_t sum;
      memcpy (&sum, &tc->data[m][4 * n], sizeof sum);
      /* unsigned arithmetic: the instruction's sums wrap */
      for (int k = 0; k < ta->colsb / 4; k++)
        for (int r = 0; r < 4; r++)
          sum += (uint32_t) ((int32_t) ta->data[m][4 * k + r]
              * (int32_t) (int8_t) tb->data[k][4 * n + r]);
      memcpy (&tc->data[m][4 * n], &sum, sizeof sum);
    }
}

/* Tests: whether this thread's model tiles hold a configuration (the
 * kernel must have released them after each product). */
int
mc_amx_emulated_configured (void)
{
  return emu.configured;
}

/* Tests: TDPBF16PS instructions modelled so far, all threads together. */
long
mc_amx_emulated_dp_count (void)
{
  return __atomic_load_n (&emu_dp_count, __ATOMIC_RELAXED);
}

long
mc_amx_emulated_dpbusd_count (void)
{
  return __atomic_load_n (&emu_dpbusd_count, __ATOMIC_RELAXED);
}

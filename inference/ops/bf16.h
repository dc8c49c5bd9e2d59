/* bf16.h — bfloat16 (the upper half of a float) rounded exactly as the
 * AVX512-BF16 conversions (VCVTNEPS2BF16, VCVTNE2PS2BF16) round: to nearest
 * even whatever MXCSR says, denormal inputs to a zero of the same sign,
 * infinities kept, NaNs truncated and made quiet.  Every bf16 path (weight
 * packing, activation rounding in the kernels, tests) uses these, so that the
 * emulated and the hardware kernels see the same bits.
 */
#ifndef MC_OPS_BF16_H
#define MC_OPS_BF16_H

#include <stdint.h>
#include <string.h>

static inline uint16_t
mc_bf16_from_f32 (float x)
{
  uint32_t u;

  memcpy (&u, &x, sizeof u);
  if ((u & 0x7f800000u) == 0)               /* zero or denormal */
    return (uint16_t) ((u >> 16) & 0x8000u);
  if ((u & 0x7f800000u) == 0x7f800000u)     /* infinity or NaN */
    return (uint16_t) ((u >> 16) | ((u & 0x7fffffu) ? 0x40u : 0u));
  /* round half to even on the 16 dropped bits; a carry into the exponent
   * gives the next binade or infinity, as it should */
  u += 0x7fffu + ((u >> 16) & 1u);
  return (uint16_t) (u >> 16);
}

static inline float
mc_bf16_to_f32 (uint16_t h)
{
  const uint32_t u = (uint32_t) h << 16;
  float x;

  memcpy (&x, &u, sizeof x);
  return x;
}

/* x rounded to the nearest bfloat16, as a float */
static inline float
mc_bf16_round (float x)
{
  return mc_bf16_to_f32 (mc_bf16_from_f32 (x));
}

/* Two consecutive k (even k low, odd k high): one 32-bit lane of
 * VDPBF16PS's operands. */
static inline uint32_t
mc_bf16_pair (float even, float odd)
{
  return (uint32_t) mc_bf16_from_f32 (even)
      | ((uint32_t) mc_bf16_from_f32 (odd) << 16);
}

#endif

/* bf16_mxcsr.h — the floating-point mode the bf16 emulations accumulate in.
 *
 * VDPBF16PS rounds every multiply-add to nearest even, treats denormal
 * inputs as zero and flushes denormal results to zero, whatever MXCSR says.
 * An emulation built from ordinary FMAs gets the same by setting MXCSR to
 * round-to-nearest with FTZ and DAZ around its accumulation loop, and
 * restoring the caller's MXCSR before the float epilogue (bias, residual,
 * GELU), which must see the normal mode.  MXCSR is per thread.
 */
#ifndef MC_OPS_X86_BF16_MXCSR_H
#define MC_OPS_X86_BF16_MXCSR_H

#include <immintrin.h>

#define MC_MXCSR_ROUNDING 0x6000u  /* RC bits: 00 = to nearest even */
#define MC_MXCSR_FTZ 0x8000u
#define MC_MXCSR_DAZ 0x0040u

static inline unsigned
bf_mode_enter (void)
{
  const unsigned saved = _mm_getcsr ();
  _mm_setcsr ((saved & ~MC_MXCSR_ROUNDING) | MC_MXCSR_FTZ | MC_MXCSR_DAZ);
  return saved;
}

static inline void
bf_mode_leave (unsigned saved)
{
  _mm_setcsr (saved);
}

#endif

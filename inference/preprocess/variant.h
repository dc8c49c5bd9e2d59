/* variant.h — which implementation of the preprocessing kernels runs.
 *
 * Four variants compute the same bytes:
 * - portable: the ORC kernels (mc-preprocess.orc, JIT or orcc's backup C)
 *   plus the C horizontal pass of resample.c; every machine.
 * - avx2: x86 intrinsics (x86/unpack_avx2.c, x86/resample_avx2.c, built
 *   with -mavx2): YUV conversion to planar rows, a horizontal pass that
 *   gathers each output's window with byte shuffles and multiplies with
 *   pmaddwd, and an int32 vertical pass.
 * - avx-vnni: the avx2 variant with its two passes' multiply-adds as AVX-VNNI
 *   VPDPWSSD (x86/resample_avxvnni.c, the same source built with
 *   -mavxvnni): one instruction where pmaddwd and an add were two.
 * - avx512: the horizontal pass with each 22-bit weight as three signed
 *   bytes through VPDPBUSD (AVX512-VNNI; 4 taps in 3 instructions where
 *   VPDPWSSD takes 4) and the samples gathered from a 128-byte window by
 *   VPERMT2B (AVX512-VBMI), x86/resample_avx512.c; the other stages are
 *   avx-vnni's (avx2's on a CPU without AVX-VNNI), and downscales too strong
 *   for the window (beyond ~8.2×: 4K to 256) run the AVX2 horizontal pass.
 * All use the same 22-bit weights, rounding and clamps, so the output is
 * identical to the portable variant bit for bit (tests compare them).
 *
 * The best supported variant is chosen once from cpuid (avx2 needs AVX2 and
 * FMA, the flags its files are built with, avx-vnni AVX-VNNI too, avx512
 * AVX512F, BW, VBMI and VNNI besides avx2's); the environment variable
 * MC_PREPROCESS_VARIANT=portable|avx2|avx-vnni|avx512 overrides it when the CPU can run that
 * variant, and tests switch with mc_preprocess_set_variant.  A preprocessor
 * rebuilds its scratch when the variant changes between calls.
 */
#ifndef MC_PREPROCESS_VARIANT_H
#define MC_PREPROCESS_VARIANT_H

typedef enum {
  MC_PREPROCESS_AUTO = -1,
  MC_PREPROCESS_PORTABLE = 0,
  MC_PREPROCESS_AVX2 = 1,
  MC_PREPROCESS_AVX_VNNI = 2,   /* the AVX2 kernels, with the horizontal
                                   pass's dot products as VPDPWSSD */
  MC_PREPROCESS_AVX512 = 3,     /* the horizontal pass with VPERMT2B and
                                   VPDPBUSD on signed-byte digits */
} mc_preprocess_variant;

#define MC_PREPROCESS_N_VARIANTS 4

/* Whether this CPU and build can run a variant. */
int mc_preprocess_variant_supported (mc_preprocess_variant v);
/* Forces a variant for later mc_preprocess calls (tests, benchmarks); AUTO
 * or an unsupported one restores the best supported.  Not thread-safe: set
 * it while no preprocessing runs. */
void mc_preprocess_set_variant (mc_preprocess_variant v);
mc_preprocess_variant mc_preprocess_get_variant (void);
/* "portable", "avx2", "avx-vnni", "avx512" (or "auto"). */
const char *mc_preprocess_variant_name (mc_preprocess_variant v);

#endif

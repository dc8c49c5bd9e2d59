/* variant.h — which implementation of the preprocessing kernels runs.
 *
 * Three variants compute the same bytes:
 * - portable: the ORC kernels (mc-preprocess.orc, JIT or orcc's backup C)
 *   plus the C horizontal pass of resample.c; every machine.
 * - avx2: x86 intrinsics (x86/unpack_avx2.c, x86/resample_avx2.c, built
 *   with -mavx2): YUV conversion to planar rows, a horizontal pass that
 *   gathers each output's window with byte shuffles and multiplies with
 *   pmaddwd, and an int32 vertical pass.
 * - avx-vnni: the avx2 variant with its two passes' multiply-adds as AVX-VNNI
 *   VPDPWSSD (x86/resample_avxvnni.c, the same source built with
 *   -mavxvnni): one instruction where pmaddwd and an add were two.
 *   Same 22-bit weights, same rounding and clamps, so the output is
 *   identical to the portable variant bit for bit (tests compare them).
 *
 * The best supported variant is chosen once from cpuid (avx2 needs AVX2 and
 * FMA, the flags its files are built with, avx-vnni AVX-VNNI too); the
 * environment variable MC_PREPROCESS_VARIANT=portable|avx2|avx-vnni overrides it when the CPU can run that
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
} mc_preprocess_variant;

#define MC_PREPROCESS_N_VARIANTS 3

/* Whether this CPU and build can run a variant. */
int mc_preprocess_variant_supported (mc_preprocess_variant v);
/* Forces a variant for later mc_preprocess calls (tests, benchmarks); AUTO
 * or an unsupported one restores the best supported.  Not thread-safe: set
 * it while no preprocessing runs. */
void mc_preprocess_set_variant (mc_preprocess_variant v);
mc_preprocess_variant mc_preprocess_get_variant (void);
/* "portable", "avx2", "avx-vnni" (or "auto"). */
const char *mc_preprocess_variant_name (mc_preprocess_variant v);

#endif

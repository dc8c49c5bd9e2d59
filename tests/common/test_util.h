/* test_util.h — the small harness every C test uses.
 *
 * A test is one executable; meson reads its exit code: 0 pass, 77 skip, other
 * fail.  Checks print what they compared, so a log shows measured differences.
 * Golden data is found through MOBILECLIP_GOLDEN_DIR (default: the meson
 * option golden_dir, ../shared/golden); a test that needs it and finds it
 * absent SKIPs with a message instead of passing.
 */
#ifndef MC_TEST_UTIL_H
#define MC_TEST_UTIL_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MC_TEST_SKIP 77

/* The vectorized GELU's error bound in 2⁻²⁴·|x| (absolute, as in the
 * reference's own float GELU): test_gemm.c's check_gelu holds every GEMM
 * variant to it over a dense sweep (measured 3.8 for the portable kernel's
 * rational form without FMA); the epilogue checks of the GEMM tests add it
 * for GELU outputs.  The piecewise form of the AVX2 and AVX-512 kernels
 * (gelu_template.h) is held to MC_TEST_GELU_PIECES_ERR: measured 1.50 over
 * the sweep, 1.52 over every float. */
#define MC_TEST_GELU_ERR 4.5
#define MC_TEST_GELU_PIECES_ERR 1.6

/* The same for the coarse GELU that follows bf16 and int8 products
 * (gemm_kernels.h, MC_ACT_GELU_COARSE): its erf is fitted to 2.2e-6, half
 * that times |x| is 18 u; measured 20.5 u with FMA (AVX2, AVX-512) and
 * 21.5 without (portable). */
#define MC_TEST_GELU_COARSE_ERR 22

static int mc_test_failures = 0;

#define CHECK(cond, ...) do { \
    if (!(cond)) { \
      fprintf (stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
      fprintf (stderr, __VA_ARGS__); fputc ('\n', stderr); \
      mc_test_failures++; \
    } \
  } while (0)

/* Ends a test: prints a summary line and returns the exit code. */
static inline int
mc_test_finish (const char *name)
{
  if (mc_test_failures) {
    printf ("%s: %d check(s) failed\n", name, mc_test_failures);
    return 1;
  }
  printf ("%s: ok\n", name);
  return 0;
}

static inline int
mc_path_exists (const char *p)
{
  struct stat st;
  return stat (p, &st) == 0;
}

/* The golden folder, or NULL after printing why the caller must skip. */
static inline const char *
mc_test_golden_dir (void)
{
  const char *d = getenv ("MOBILECLIP_GOLDEN_DIR");
#ifdef MC_DEFAULT_GOLDEN_DIR
  if (!d || !*d)
    d = MC_DEFAULT_GOLDEN_DIR;
#endif
  if (!d || !*d || !mc_path_exists (d)) {
    printf ("SKIP: golden data not found (set MOBILECLIP_GOLDEN_DIR; tried '%s')\n",
        d ? d : "(unset)");
    return NULL;
  }
  return d;
}

/* The folder holding bpe_simple_vocab_16e6.txt.gz, or NULL after a SKIP note. */
static inline const char *
mc_test_vocab_dir (void)
{
  const char *d = getenv ("MOBILECLIP_VOCAB_DIR");
#ifdef MC_DEFAULT_VOCAB_DIR
  if (!d || !*d)
    d = MC_DEFAULT_VOCAB_DIR;
#endif
  if (!d || !*d || !mc_path_exists (d)) {
    printf ("SKIP: vocabulary not found (set MOBILECLIP_VOCAB_DIR; tried '%s')\n",
        d ? d : "(unset)");
    return NULL;
  }
  return d;
}

/* Compares two float arrays; returns max |a-b| and reports it with the
 * cosine.  Passes when max|a-b| <= atol + rtol * max|ref|. */
static inline double
mc_check_close (const char *what, const float *got, const float *ref, size_t n,
    double atol, double rtol)
{
  double maxdiff = 0, maxref = 0, dot = 0, na = 0, nb = 0;
  size_t worst = 0;
  for (size_t i = 0; i < n; i++) {
    double d = fabs ((double) got[i] - ref[i]);
    if (!(d <= maxdiff)) { maxdiff = d; worst = i; }
    if (fabs (ref[i]) > maxref) maxref = fabs (ref[i]);
    dot += (double) got[i] * ref[i];
    na += (double) got[i] * got[i];
    nb += (double) ref[i] * ref[i];
  }
  double cosv = (na > 0 && nb > 0) ? dot / sqrt (na * nb) : (na == nb ? 1 : 0);
  double tol = atol + rtol * maxref;
  printf ("  %-48s max|diff| %.3g (at %zu) max|ref| %.3g cos %.9f tol %.3g %s\n",
      what, maxdiff, worst, maxref, cosv, tol, maxdiff <= tol ? "ok" : "FAIL");
  if (!(maxdiff <= tol)) {
    fprintf (stderr, "FAIL %s: max|diff| %g > %g\n", what, maxdiff, tol);
    mc_test_failures++;
  }
  return maxdiff;
}

#endif

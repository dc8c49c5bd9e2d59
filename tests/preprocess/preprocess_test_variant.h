/* preprocess_test_variant.h — which preprocessing kernels a test runs on.
 *
 * meson runs the preprocessing tests once per kernel variant by setting
 * MC_PREPROCESS_VARIANT (portable, avx2; unset: what the machine picks).
 * The library silently keeps its default when the CPU cannot run the
 * requested variant, so a test must not pass in that case: it skips.
 */
#ifndef MC_PREPROCESS_TEST_VARIANT_H
#define MC_PREPROCESS_TEST_VARIANT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "preprocess/variant.h"

/* Prints the variant in use; 0 (after a SKIP line) when it is not the one
 * the environment asked for. */
static inline int
mc_test_preprocess_variant (void)
{
  const char *want = getenv ("MC_PREPROCESS_VARIANT");
  const char *got = mc_preprocess_variant_name (mc_preprocess_get_variant ());
  const char *orc = getenv ("ORC_CODE");
  printf ("  preprocessing kernels: %s%s\n", got,
      orc && !strcmp (got, "portable") ? " (ORC_CODE set)" : "");
  if (want && *want && strcmp (want, got) != 0) {
    printf ("SKIP: this CPU or build cannot run the %s kernels\n", want);
    return 0;
  }
  return 1;
}

#endif

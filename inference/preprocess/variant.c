/* variant.c — run-time choice of the preprocessing kernels (see variant.h). */
#include "variant.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/cpu.h"

static mc_preprocess_variant current_variant = MC_PREPROCESS_PORTABLE;
static pthread_once_t variant_once = PTHREAD_ONCE_INIT;

int
mc_preprocess_variant_supported (mc_preprocess_variant v)
{
  switch (v) {
    case MC_PREPROCESS_PORTABLE:
      return 1;
#if defined(__x86_64__) && defined(__GNUC__)
    case MC_PREPROCESS_AVX2:
      /* built with -mavx2 -mfma: the compiler may use either */
      return mc_cpu_get_features ()->avx2 && mc_cpu_get_features ()->fma;
#ifdef MC_HAVE_PREPROCESS_AVX_VNNI
    case MC_PREPROCESS_AVX_VNNI:
      return mc_preprocess_variant_supported (MC_PREPROCESS_AVX2)
          && mc_cpu_get_features ()->avx_vnni;
#endif
#ifdef MC_HAVE_PREPROCESS_AVX512
    case MC_PREPROCESS_AVX512: {
      const mc_cpu_features *f = mc_cpu_get_features ();
      return mc_preprocess_variant_supported (MC_PREPROCESS_AVX2) && f->avx512f && f->avx512bw
          && f->avx512vbmi && f->avx512_vnni;
    }
#endif
#endif
    default:
      return 0;
  }
}

static mc_preprocess_variant
best_variant (void)
{
  for (int v = MC_PREPROCESS_N_VARIANTS - 1; v > MC_PREPROCESS_PORTABLE; v--)
    if (mc_preprocess_variant_supported (v))
      return v;
  return MC_PREPROCESS_PORTABLE;
}

static void
variant_init (void)
{
  const char *env = getenv ("MC_PREPROCESS_VARIANT");

  current_variant = best_variant ();
  if (env && *env)
    for (int v = 0; v < MC_PREPROCESS_N_VARIANTS; v++)
      if (strcmp (env, mc_preprocess_variant_name (v)) == 0
          && mc_preprocess_variant_supported (v))
        current_variant = v;
}

void
mc_preprocess_set_variant (mc_preprocess_variant v)
{
  pthread_once (&variant_once, variant_init);
  if (v == MC_PREPROCESS_AUTO || !mc_preprocess_variant_supported (v))
    v = best_variant ();
  current_variant = v;
}

mc_preprocess_variant
mc_preprocess_get_variant (void)
{
  pthread_once (&variant_once, variant_init);
  return current_variant;
}

const char *
mc_preprocess_variant_name (mc_preprocess_variant v)
{
  switch (v) {
    case MC_PREPROCESS_PORTABLE: return "portable";
    case MC_PREPROCESS_AVX2: return "avx2";
    case MC_PREPROCESS_AVX_VNNI: return "avx-vnni";
    case MC_PREPROCESS_AVX512: return "avx512";
    default: return "auto";
  }
}

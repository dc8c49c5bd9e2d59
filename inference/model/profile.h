/* profile.h — wall time per op family for `mobileclip bench`, shared by the
 * image and text encoders.  A model keeps a table of mc_profile_entry
 * indexed by its own family enum, or NULL when profiling is off; TIMED
 * charges one op statement to one family.  The clock is read only while
 * profiling, so a forward pass without it pays one NULL test per op. */
#ifndef MC_MODEL_PROFILE_H
#define MC_MODEL_PROFILE_H

#include <glib.h>

#include "mobileclip.h"

static inline double
mc_profile_now_ms (void)
{
  return g_get_monotonic_time () / 1000.0;
}

/* Runs stmt and, when prof is not NULL, adds its time to prof[fam]. */
#define TIMED(prof, fam, stmt) do { \
    if (prof) { \
      double t0_ = mc_profile_now_ms (); \
      stmt; \
      (prof)[fam].ms += mc_profile_now_ms () - t0_; \
      (prof)[fam].calls++; \
    } else { \
      stmt; \
    } \
  } while (0)

/* Names the n entries of a table from names[] and clears their sums. */
static inline void
mc_profile_reset (mc_profile_entry *entries, const char *const *names, int n)
{
  for (int i = 0; i < n; i++) {
    entries[i].family = names[i];
    entries[i].ms = 0;
    entries[i].calls = 0;
  }
}

#endif

/* bench_args.h — command-line counts for the benchmark programs. */
#ifndef MC_BENCH_ARGS_H
#define MC_BENCH_ARGS_H

#include <stdlib.h>

/* s as a whole number in [min, 1000000]; anything else calls usage (2),
 * the program's usage message, which exits. */
static inline int
count_arg (const char *s, int min, void (*usage) (int))
{
  char *end;
  const long v = strtol (s, &end, 10);
  if (*s == '\0' || *end != '\0' || v < min || v > 1000000)
    usage (2);
  return (int) v;
}

#endif

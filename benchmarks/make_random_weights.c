/* make_random_weights.c — writes a checkpoint with the real tensor names and
 * shapes of a key table and random values, for benchmarks of full-size
 * models where the real weights cannot be downloaded.
 *
 *   make-random-weights KEYS.tsv PREFIX OUT.safetensors [f32|f16] [SEED]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "random_weights.h"

int
main (int argc, char **argv)
{
  mc_error err = { 0 };
  if (argc < 4) {
    fprintf (stderr, "usage: %s KEYS.tsv PREFIX OUT.safetensors [f32|f16] [SEED]\n", argv[0]);
    return 2;
  }
  if (mc_write_random_weights (argv[1], argv[2],
          argc > 4 && !strcmp (argv[4], "f16") ? MC_DTYPE_F16 : MC_DTYPE_F32,
          argc > 5 ? (unsigned) atoi (argv[5]) : 1, argv[3], &err) != MC_OK) {
    fprintf (stderr, "%s\n", err.message);
    return 1;
  }
  return 0;
}

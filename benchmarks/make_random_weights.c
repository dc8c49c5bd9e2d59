/* make_random_weights.c — writes a checkpoint with real tensor names and
 * shapes and random values, for benchmarks of full-size models whose real
 * weights cannot be downloaded here.  The names and shapes come from a key
 * table (e.g. ../shared/real/mobileclip_s0.keys.tsv) or from a config, whose
 * key table the builders themselves list (model/key_table.h).
 *
 *   make-random-weights KEYS.tsv PREFIX OUT.safetensors [f32|f16] [SEED]
 *   make-random-weights --config NAME PREFIX OUT.safetensors [f32|f16] [SEED]
 */
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/config.h"
#include "model/key_table.h"
#include "random_weights.h"

int
main (int argc, char **argv)
{
  mc_error err = { 0 };
  char *tmp = NULL;
  const char *keys;
  int rc = 0;

  if (argc > 1 && !strcmp (argv[1], "--config")) {
    mc_model_config cfg;
    GString *table = g_string_new (NULL);
    int fd;
    if (argc < 5) {
      fprintf (stderr, "usage: %s --config NAME PREFIX OUT.safetensors [f32|f16] [SEED]\n", argv[0]);
      return 2;
    }
    if (mc_config_load (argv[2], &cfg, &err) != MC_OK
        || mc_model_key_table (&cfg, table, &err) != MC_OK) {
      fprintf (stderr, "%s\n", err.message);
      return 1;
    }
    fd = g_file_open_tmp ("mc-keys-XXXXXX.tsv", &tmp, NULL);
    if (fd < 0 || !g_file_set_contents (tmp, table->str, -1, NULL)) {
      fprintf (stderr, "cannot write a temporary key table\n");
      return 1;
    }
    close (fd);
    g_string_free (table, TRUE);
    argv++;
    argc--;
  }
  if (argc < 4) {
    fprintf (stderr, "usage: %s KEYS.tsv PREFIX OUT.safetensors [f32|f16] [SEED]\n"
        "       %s --config NAME PREFIX OUT.safetensors [f32|f16] [SEED]\n", argv[0], argv[0]);
    return 2;
  }
  keys = tmp ? tmp : argv[1];
  if (mc_write_random_weights (keys, argv[2],
          argc > 4 && !strcmp (argv[4], "f16") ? MC_DTYPE_F16 : MC_DTYPE_F32,
          argc > 5 ? (unsigned) atoi (argv[5]) : 1, argv[3], &err) != MC_OK) {
    fprintf (stderr, "%s\n", err.message);
    rc = 1;
  }
  if (tmp)
    g_unlink (tmp);
  g_free (tmp);
  return rc;
}

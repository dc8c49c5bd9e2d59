/* test_key_table.c — the tensors the builders read for configs/mobileclip_s0
 * are exactly the tensors of Apple's real mobileclip_s0.pt (names and
 * shapes, from ../shared/real/mobileclip_s0.keys.tsv, without the
 * num_batches_tracked counters), and the S1/S2 configs give key tables of
 * the expected size. */
#include <glib.h>

#include "io/config.h"
#include "model/key_table.h"
#include "test_util.h"

/* "name<TAB>[shape]" lines → set of "name [shape]" strings */
static GHashTable *
entries (const char *text, int skip_counters)
{
  GHashTable *set = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  char **lines = g_strsplit (text, "\n", -1);
  for (char **l = lines; *l; l++) {
    char **f = g_strsplit (*l, "\t", 3);
    if (f[0] && f[1] && !(skip_counters && g_str_has_suffix (f[0], ".num_batches_tracked")))
      g_hash_table_add (set, g_strdup_printf ("%s %s", f[0], f[1]));
    g_strfreev (f);
  }
  g_strfreev (lines);
  return set;
}

static int
missing_from (GHashTable *a, GHashTable *b, const char *what)
{
  GHashTableIter it;
  gpointer key;
  int n = 0;
  g_hash_table_iter_init (&it, a);
  while (g_hash_table_iter_next (&it, &key, NULL))
    if (!g_hash_table_contains (b, key)) {
      if (n++ < 5)
        fprintf (stderr, "  %s: %s\n", what, (const char *) key);
    }
  return n;
}

static GString *
table_for (const char *config)
{
  mc_model_config cfg;
  mc_error err = { 0 };
  GString *t = g_string_new (NULL);
  CHECK (mc_config_load (config, &cfg, &err) == MC_OK, "%s", err.message);
  CHECK (mc_model_key_table (&cfg, t, &err) == MC_OK, "%s", err.message);
  return t;
}

int
main (void)
{
  const char *golden = mc_test_golden_dir ();
  char *tsv, *text = NULL;
  GString *ours;
  GHashTable *real, *built;
  int extra, absent;

  if (!golden)
    return MC_TEST_SKIP;
  tsv = g_build_filename (golden, "..", "real", "mobileclip_s0.keys.tsv", NULL);
  if (!g_file_get_contents (tsv, &text, NULL, NULL)) {
    printf ("SKIP: %s not found\n", tsv);
    return MC_TEST_SKIP;
  }
  ours = table_for ("mobileclip_s0");
  real = entries (text, 1);
  built = entries (ours->str, 0);
  extra = missing_from (built, real, "built but not in the real checkpoint");
  absent = missing_from (real, built, "in the real checkpoint but not built");
  printf ("mobileclip_s0: %u keys built, %u in the real table (without counters); "
      "%d extra, %d absent\n", g_hash_table_size (built), g_hash_table_size (real), extra, absent);
  CHECK (extra == 0 && absent == 0, "key tables differ");
  CHECK (g_hash_table_size (built) == 771, "%u keys", g_hash_table_size (built));
  g_hash_table_destroy (real);
  g_hash_table_destroy (built);
  g_string_free (ours, TRUE);

  for (int i = 0; i < 2; i++) {
    const char *name = i ? "mobileclip_s2" : "mobileclip_s1";
    GString *t = table_for (name);
    GHashTable *set = entries (t->str, 0);
    printf ("%s: %u keys\n", name, g_hash_table_size (set));
    CHECK (g_hash_table_size (set) > 771, "%s: only %u keys", name, g_hash_table_size (set));
    g_hash_table_destroy (set);
    g_string_free (t, TRUE);
  }
  g_free (tsv);
  g_free (text);
  return mc_test_finish ("key-table");
}

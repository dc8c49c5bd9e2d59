/* test_cli_text.c — `mobileclip embed-text` and `mobileclip classify` end
 * to end (the built command's path is argv[1]).
 *
 *  - embed-text with the prompts.json strings of tiny_s0 and tiny_s1b
 *    (tokenized by the command) against text_embedding, normalized and
 *    --raw, and with --tokens io.safetensors:text_tokens;
 *  - classify on the golden images with the five non-empty prompts: cosines
 *    and probabilities against logits_per_image (scale · cosine, softmax
 *    over the five), and the prompt cache on a second run;
 *  - exit codes: no prompts (1), a missing vocabulary (1), usage (2).
 */
#include <cjson/cJSON.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "io/tensor_file.h"
#include "test_spawn.h"
#include "test_util.h"

static const char *cli;
static char *vocab;

static int
run (GPtrArray *args, char **out, char **errout)
{
  g_ptr_array_add (args, NULL);
  return mc_test_run ((const char *const *) args->pdata, out, errout);
}

static GPtrArray *
command (const char *sub)
{
  GPtrArray *a = g_ptr_array_new ();
  g_ptr_array_add (a, (char *) cli);
  g_ptr_array_add (a, (char *) sub);
  return a;
}

static float *
read_f32 (const char *path, const char *name, int64_t *numel)
{
  mc_tensor_file *f = NULL;
  mc_error err = { 0 };
  const mc_tensor_info *t;
  float *v = NULL;
  if (mc_tensor_file_open (path, &f, &err) != MC_OK)
    return NULL;
  t = mc_tensor_file_find (f, name);
  if (t) {
    v = g_new (float, (gsize) mc_tensor_numel (t));
    mc_tensor_to_f32 (t, v);
    *numel = mc_tensor_numel (t);
  }
  mc_tensor_file_close (f);
  return v;
}

/* {"embeddings": [[...], ...]} → floats (NULL if malformed). */
static float *
parse_rows (const char *json, int n, int d)
{
  cJSON *root = json ? cJSON_Parse (json) : NULL;
  const cJSON *rows = cJSON_GetObjectItemCaseSensitive (root, "embeddings");
  float *v = NULL;
  if (cJSON_GetArraySize (rows) == n) {
    v = g_new (float, (gsize) n * d);
    for (int i = 0; i < n; i++) {
      const cJSON *r = cJSON_GetArrayItem (rows, i);
      if (cJSON_GetArraySize (r) != d) {
        g_free (v);
        v = NULL;
        break;
      }
      for (int j = 0; j < d; j++)
        v[(size_t) i * d + j] = (float) cJSON_GetArrayItem (r, j)->valuedouble;
    }
  }
  cJSON_Delete (root);
  return v;
}

static void
normalize (float *rows, int n, int d)
{
  for (int i = 0; i < n; i++) {
    double s = 0;
    for (int j = 0; j < d; j++)
      s += (double) rows[(size_t) i * d + j] * rows[(size_t) i * d + j];
    for (int j = 0; s > 0 && j < d; j++)
      rows[(size_t) i * d + j] = (float) (rows[(size_t) i * d + j] / sqrt (s));
  }
}

static void
test_embed_text (const char *golden, const char *name)
{
  char *dir = g_build_filename (golden, name, NULL);
  char *io = g_build_filename (dir, "io.safetensors", NULL);
  char *prompts = g_build_filename (dir, "prompts.json", NULL);
  char *json = NULL, *out = NULL, *errout = NULL, *tokens_spec;
  cJSON *arr;
  int64_t numel = 0;
  float *ref = read_f32 (io, "text_embedding", &numel), *got, *refn;
  int n, d, st;
  GPtrArray *a;

  printf ("%s:\n", name);
  g_file_get_contents (prompts, &json, NULL, NULL);
  arr = cJSON_Parse (json);
  n = cJSON_GetArraySize (arr);
  CHECK (ref && n == 6, "golden data");
  if (!ref || n != 6)
    goto out;
  d = (int) (numel / n);

  /* raw, from the strings */
  a = command ("embed-text");
  g_ptr_array_add (a, "--model");
  g_ptr_array_add (a, dir);
  g_ptr_array_add (a, "--vocab");
  g_ptr_array_add (a, vocab);
  g_ptr_array_add (a, "--threads");
  g_ptr_array_add (a, "2");
  g_ptr_array_add (a, "--raw");
  g_ptr_array_add (a, "--");
  for (int i = 0; i < n; i++)
    g_ptr_array_add (a, cJSON_GetArrayItem (arr, i)->valuestring);
  st = run (a, &out, &errout);
  g_ptr_array_free (a, TRUE);
  CHECK (st == 0, "embed-text exit %d: %s", st, errout);
  got = parse_rows (out, n, d);
  CHECK (got != NULL, "embed-text output not parsed: %.200s", out ? out : "");
  if (got)
    mc_check_close ("embed-text --raw (prompts.json) vs text_embedding", got, ref, (size_t) n * d, 1e-4, 1e-4);
  g_free (got);
  g_free (out);
  g_free (errout);

  /* normalized (the default), from the token ids */
  tokens_spec = g_strconcat (io, ":text_tokens", NULL);
  a = command ("embed-text");
  g_ptr_array_add (a, "--model");
  g_ptr_array_add (a, dir);
  g_ptr_array_add (a, "--tokens");
  g_ptr_array_add (a, tokens_spec);
  st = run (a, &out, &errout);
  g_ptr_array_free (a, TRUE);
  CHECK (st == 0, "embed-text --tokens exit %d: %s", st, errout);
  got = parse_rows (out, n, d);
  refn = g_memdup2 (ref, (gsize) n * d * sizeof (float));
  normalize (refn, n, d);
  CHECK (got != NULL, "embed-text --tokens output not parsed");
  if (got)
    mc_check_close ("embed-text --tokens (normalized)", got, refn, (size_t) n * d, 1e-5, 0);
  g_free (got);
  g_free (refn);
  g_free (out);
  g_free (errout);
  g_free (tokens_spec);

out:
  cJSON_Delete (arr);
  g_free (json);
  g_free (ref);
  g_free (dir);
  g_free (io);
  g_free (prompts);
}

/* classify tiny_s0's two images against the five non-empty golden prompts. */
static void
test_classify (const char *golden, const char *tmpdir)
{
  char *dir = g_build_filename (golden, "tiny_s0", NULL);
  char *io = g_build_filename (dir, "io.safetensors", NULL);
  char *prompts = g_build_filename (dir, "prompts.json", NULL);
  char *pfile = g_build_filename (tmpdir, "prompts.txt", NULL);
  char *cache = g_build_filename (tmpdir, "cache.safetensors", NULL);
  char *spec = g_strconcat (io, ":image", NULL);
  char *json = NULL;
  int64_t numel = 0;
  float *logits = read_f32 (io, "logits_per_image", &numel);
  const int cols[5] = { 0, 1, 3, 4, 5 };
  GString *lines = g_string_new ("# the golden prompts except the empty one\n");
  cJSON *arr;

  printf ("classify:\n");
  g_file_get_contents (prompts, &json, NULL, NULL);
  arr = cJSON_Parse (json);
  for (int i = 0; i < 5; i++)
    g_string_append_printf (lines, "%s\n", cJSON_GetArrayItem (arr, cols[i])->valuestring);
  g_file_set_contents (pfile, lines->str, -1, NULL);
  CHECK (logits && numel == 12, "logits_per_image");

  for (int pass = 0; pass < 2 && logits; pass++) {
    GPtrArray *a = command ("classify");
    char *out = NULL, *errout = NULL;
    cJSON *root, *results;
    float got_cos[10], want_cos[10], got_p[10], want_p[10];
    int st;

    g_ptr_array_add (a, "--model");
    g_ptr_array_add (a, dir);
    g_ptr_array_add (a, "--vocab");
    g_ptr_array_add (a, vocab);
    g_ptr_array_add (a, "--tensor");
    g_ptr_array_add (a, spec);
    g_ptr_array_add (a, "--prompts-file");
    g_ptr_array_add (a, pfile);
    g_ptr_array_add (a, "--embeddings-file");
    g_ptr_array_add (a, cache);
    g_ptr_array_add (a, "--top-k");
    g_ptr_array_add (a, "0");
    st = run (a, &out, &errout);
    g_ptr_array_free (a, TRUE);
    CHECK (st == 0, "classify exit %d: %s", st, errout);
    root = out ? cJSON_Parse (out) : NULL;
    results = cJSON_GetObjectItem (root, "results");
    CHECK (cJSON_GetArraySize (results) == 2, "classify: %d results", cJSON_GetArraySize (results));
    {
      const cJSON *pc = cJSON_GetObjectItem (root, "prompt_cache");
      const int hit = cJSON_IsTrue (cJSON_GetObjectItem (pc, "hit"));
      CHECK (hit == (pass == 1), "pass %d: prompt cache hit = %d", pass, hit);
      printf ("  pass %d: prompt cache %s\n", pass, hit ? "hit" : "miss (written)");
    }
    for (int i = 0; i < 2 && cJSON_GetArraySize (results) == 2; i++) {
      const cJSON *top = cJSON_GetObjectItem (cJSON_GetArrayItem (results, i), "top");
      double mx = -INFINITY, sum = 0;
      CHECK (cJSON_GetArraySize (top) == 5, "top-k 0 gives %d labels", cJSON_GetArraySize (top));
      for (int j = 0; j < 5; j++)
        mx = fmax (mx, logits[i * 6 + cols[j]]);
      for (int j = 0; j < 5; j++)
        sum += exp (logits[i * 6 + cols[j]] - mx);
      for (int j = 0; j < 5 && j < cJSON_GetArraySize (top); j++) {
        const cJSON *e = cJSON_GetArrayItem (top, j);
        const int idx = cJSON_GetObjectItem (e, "index")->valueint;
        got_cos[i * 5 + j] = (float) cJSON_GetObjectItem (e, "cosine")->valuedouble;
        got_p[i * 5 + j] = (float) cJSON_GetObjectItem (e, "prob")->valuedouble;
        want_cos[i * 5 + j] = logits[i * 6 + cols[idx]] / 100.0f;
        want_p[i * 5 + j] = (float) (exp (logits[i * 6 + cols[idx]] - mx) / sum);
        if (j)
          CHECK (got_p[i * 5 + j] <= got_p[i * 5 + j - 1], "not sorted by probability");
      }
    }
    /* logits are matched within 1e-4 + 1e-4·max|logit| (about 1.6e-3); a
     * cosine is a logit / 100, a probability moves by at most p·Δlogit */
    mc_check_close ("classify cosines vs logits_per_image / 100", got_cos, want_cos, 10, 1.6e-5, 0);
    mc_check_close ("classify probabilities vs softmax(logits)", got_p, want_p, 10, 1.6e-3, 0);
    cJSON_Delete (root);
    g_free (out);
    g_free (errout);
  }

  /* exit codes: an empty prompt set (1), usage (2), a missing vocabulary (1) */
  {
    GPtrArray *a = command ("classify");
    char *out = NULL, *errout = NULL;
    int st;
    g_ptr_array_add (a, "--model");
    g_ptr_array_add (a, dir);
    g_ptr_array_add (a, "--tensor");
    g_ptr_array_add (a, spec);
    g_ptr_array_add (a, "--prompts");
    g_ptr_array_add (a, " ; ");
    st = run (a, &out, &errout);
    g_ptr_array_free (a, TRUE);
    CHECK (st == 1 && strstr (errout, "no prompts"), "empty prompts: exit %d, '%s'", st, errout);
    printf ("  empty prompt set: exit %d: %s", st, errout);
    g_free (out);
    g_free (errout);

    a = command ("classify");
    g_ptr_array_add (a, "--model");
    g_ptr_array_add (a, dir);
    st = run (a, &out, &errout);
    g_ptr_array_free (a, TRUE);
    CHECK (st == 2, "classify without --tensor: exit %d", st);
    g_free (out);
    g_free (errout);

    a = command ("embed-text");
    g_ptr_array_add (a, "--model");
    g_ptr_array_add (a, dir);
    g_ptr_array_add (a, "--vocab");
    g_ptr_array_add (a, "/nonexistent/vocab.txt.gz");
    g_ptr_array_add (a, "a dog");
    st = run (a, &out, &errout);
    g_ptr_array_free (a, TRUE);
    CHECK (st == 1, "missing vocabulary: exit %d", st);
    printf ("  missing vocabulary: exit %d: %s", st, errout);
    g_free (out);
    g_free (errout);

    a = command ("embed-text");
    g_ptr_array_add (a, "--model");
    g_ptr_array_add (a, dir);
    st = run (a, &out, &errout);
    g_ptr_array_free (a, TRUE);
    CHECK (st == 2, "embed-text without text: exit %d", st);
    g_free (out);
    g_free (errout);
  }

  g_unlink (pfile);
  g_unlink (cache);
  g_string_free (lines, TRUE);
  cJSON_Delete (arr);
  g_free (json);
  g_free (logits);
  g_free (dir);
  g_free (io);
  g_free (prompts);
  g_free (pfile);
  g_free (cache);
  g_free (spec);
}

int
main (int argc, char **argv)
{
  const char *golden = mc_test_golden_dir ();
  const char *vdir = getenv ("MOBILECLIP_VOCAB_DIR");
  char *tmpdir;

  if (argc < 2) {
    fprintf (stderr, "usage: %s PATH-TO-mobileclip\n", argv[0]);
    return 2;
  }
  cli = argv[1];
  if (!golden)
    return MC_TEST_SKIP;
  if (!vdir || !*vdir)
    vdir = MC_DEFAULT_VOCAB_DIR;
  vocab = g_build_filename (vdir, "bpe_simple_vocab_16e6.txt.gz", NULL);
  if (!mc_path_exists (vocab)) {
    printf ("SKIP: vocabulary %s not found\n", vocab);
    return MC_TEST_SKIP;
  }
  tmpdir = g_dir_make_tmp ("mc-cli-text-XXXXXX", NULL);
  test_embed_text (golden, "tiny_s0");
  test_embed_text (golden, "tiny_s1b");
  test_classify (golden, tmpdir);
  g_rmdir (tmpdir);
  g_free (tmpdir);
  g_free (vocab);
  return mc_test_finish ("cli-text");
}

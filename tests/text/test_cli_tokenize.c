/* test_cli_tokenize.c — `mobileclip tokenize` end to end.
 *
 * Runs the built command (path in argv[1]) on every golden tokenizer case in
 * one invocation and compares its JSON with the expected ids; then checks
 * the exit codes of a missing vocabulary (1), invalid UTF-8 (1) and a call
 * without TEXT (2).
 */
#include <cjson/cJSON.h>
#include <glib.h>
#include <sys/wait.h>

#include "test_util.h"

#define N_IDS 77

/* Runs argv; returns the exit status (-1 if it could not run). */
static int
run (char **argv, char **out, char **errout)
{
  GError *error = NULL;
  int wait_status = 0;

  if (!g_spawn_sync (NULL, argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, out, errout,
          &wait_status, &error)) {
    fprintf (stderr, "cannot run %s: %s\n", argv[0], error->message);
    g_error_free (error);
    return -1;
  }
  if (!WIFEXITED (wait_status))
    return -1;
  return WEXITSTATUS (wait_status);
}

static void
test_golden (const char *cli, const char *vocab, const char *golden_dir)
{
  char *path = g_build_filename (golden_dir, "tokenizer", "cases.json", NULL);
  char *json = NULL, *out = NULL, *errout = NULL;
  cJSON *cases, *result, *rows;
  GPtrArray *argv;
  int n_cases, matched = 0, status;

  if (!g_file_get_contents (path, &json, NULL, NULL)) {
    CHECK (0, "cannot read %s", path);
    g_free (path);
    return;
  }
  cases = cJSON_Parse (json);
  n_cases = cJSON_GetArraySize (cases);

  argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (char *) cli);
  g_ptr_array_add (argv, "tokenize");
  g_ptr_array_add (argv, "--vocab");
  g_ptr_array_add (argv, (char *) vocab);
  g_ptr_array_add (argv, "--");   /* some cases start with '-' ("-42") */
  for (int i = 0; i < n_cases; i++)
    g_ptr_array_add (argv, cJSON_GetObjectItem (cJSON_GetArrayItem (cases, i), "text")->valuestring);
  g_ptr_array_add (argv, NULL);

  status = run ((char **) argv->pdata, &out, &errout);
  CHECK (status == 0, "exit status %d, stderr: %s", status, errout ? errout : "");
  result = out ? cJSON_Parse (out) : NULL;
  rows = cJSON_GetObjectItemCaseSensitive (result, "tokens");
  CHECK (cJSON_GetArraySize (rows) == n_cases, "%d rows for %d texts",
      cJSON_GetArraySize (rows), n_cases);
  for (int i = 0; i < n_cases && i < cJSON_GetArraySize (rows); i++) {
    const cJSON *want = cJSON_GetObjectItem (cJSON_GetArrayItem (cases, i), "ids");
    const cJSON *got = cJSON_GetArrayItem (rows, i);
    int ok = cJSON_GetArraySize (got) == N_IDS;
    for (int j = 0; ok && j < N_IDS; j++)
      ok = cJSON_GetArrayItem (got, j)->valueint == cJSON_GetArrayItem (want, j)->valueint;
    matched += ok;
    if (!ok)
      CHECK (0, "case %d differs", i + 1);
  }
  printf ("mobileclip tokenize: %d/%d golden cases matched\n", matched, n_cases);

  cJSON_Delete (result);
  cJSON_Delete (cases);
  g_ptr_array_unref (argv);
  g_free (out);
  g_free (errout);
  g_free (json);
  g_free (path);
}

static void
test_exit_codes (const char *cli, const char *vocab)
{
  char *missing[] = { (char *) cli, "tokenize", "--vocab", "/nonexistent/vocab.txt.gz", "a", NULL };
  char *bad_utf8[] = { (char *) cli, "tokenize", "--vocab", (char *) vocab, "ok", "\xff", NULL };
  char *no_text[] = { (char *) cli, "tokenize", "--vocab", (char *) vocab, NULL };
  char *out = NULL, *errout = NULL;
  int status;

  status = run (missing, &out, &errout);
  printf ("missing vocabulary: exit %d, %s", status, errout ? errout : "\n");
  CHECK (status == 1 && errout && strstr (errout, "/nonexistent/vocab.txt.gz"), "exit %d", status);
  g_free (out);
  g_free (errout);

  status = run (bad_utf8, &out, &errout);
  printf ("invalid UTF-8: exit %d, %s", status, errout ? errout : "\n");
  CHECK (status == 1 && out && !*out, "exit %d, stdout '%s'", status, out ? out : "");
  g_free (out);
  g_free (errout);

  status = run (no_text, &out, &errout);
  printf ("no TEXT: exit %d\n", status);
  CHECK (status == 2, "exit %d", status);
  g_free (out);
  g_free (errout);
}

int
main (int argc, char **argv)
{
  const char *golden_dir, *vocab_dir;
  char *vocab;

  if (argc < 2) {
    fprintf (stderr, "usage: %s PATH-TO-mobileclip\n", argv[0]);
    return 2;
  }
  if (!(vocab_dir = mc_test_vocab_dir ()) || !(golden_dir = mc_test_golden_dir ()))
    return MC_TEST_SKIP;
  vocab = g_build_filename (vocab_dir, "bpe_simple_vocab_16e6.txt.gz", NULL);
  if (!mc_path_exists (vocab)) {
    printf ("SKIP: %s not found\n", vocab);
    g_free (vocab);
    return MC_TEST_SKIP;
  }
  test_golden (argv[1], vocab, golden_dir);
  test_exit_codes (argv[1], vocab);
  g_free (vocab);
  return mc_test_finish ("cli-tokenize");
}

/* test_spawn.h — running one of the project's programs from a test (glib),
 * and reading the JSON the tools print (cJSON). */
#ifndef MC_TEST_SPAWN_H
#define MC_TEST_SPAWN_H

#include <cjson/cJSON.h>
#include <glib.h>
#include <math.h>
#include <stdio.h>
#include <sys/wait.h>

/* Runs argv (NULL-terminated) and waits for it; its stdout goes to *out and
 * its stderr to *err (g_free them), each dropped when NULL.  Returns the
 * exit status, or -1 (after a message) when the program could not run or
 * did not exit normally. */
static inline int
mc_test_run (const char *const *argv, char **out, char **err)
{
  GError *error = NULL;
  int wait_status = 0;

  if (!g_spawn_sync (NULL, (char **) argv, NULL,
          err ? G_SPAWN_DEFAULT : G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, out, err,
          &wait_status, &error)) {
    fprintf (stderr, "cannot run %s: %s\n", argv[0], error->message);
    g_error_free (error);
    return -1;
  }
  return WIFEXITED (wait_status) ? WEXITSTATUS (wait_status) : -1;
}

/* Runs argv and parses its stdout: the JSON (cJSON_Delete it), or NULL when
 * the program failed or printed none; *status gets the exit status. */
static inline cJSON *
mc_test_run_json (const char *const *argv, int *status)
{
  char *out = NULL;
  cJSON *root;

  *status = mc_test_run (argv, &out, NULL);
  root = *status == 0 && out ? cJSON_Parse (out) : NULL;
  g_free (out);
  return root;
}

/* root[key] as a number, NaN when absent or not a number. */
static inline double
mc_test_json_number (const cJSON *root, const char *key)
{
  const cJSON *v = cJSON_GetObjectItem (root, key);
  return cJSON_IsNumber (v) ? v->valuedouble : NAN;
}

#endif

/* test_spawn.h — running one of the project's programs from a test (glib). */
#ifndef MC_TEST_SPAWN_H
#define MC_TEST_SPAWN_H

#include <glib.h>
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

#endif

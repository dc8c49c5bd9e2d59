/* test_cli_preprocess.c — `mobileclip preprocess` end to end.
 *
 * Runs the built command (path in argv[1]) on golden images and compares the
 * written F32 [3,S,S] tensor 'pre' with pre_K / pre224_K (planar, as
 * torchvision writes them): every value must be equal.  Then checks the exit
 * codes: 1 for a missing tensor or a non-U8 tensor, 2 for bad usage.
 */
#include <glib.h>
#include <glib/gstdio.h>
#include <sys/wait.h>

#include "io/tensor_file.h"
#include "test_util.h"

static int
run (char **argv)
{
  GError *error = NULL;
  int wait_status = 0;
  char *out = NULL, *errout = NULL;

  if (!g_spawn_sync (NULL, argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &errout,
          &wait_status, &error)) {
    fprintf (stderr, "cannot run %s: %s\n", argv[0], error->message);
    g_error_free (error);
    return -1;
  }
  if (errout && *errout)
    printf ("    stderr: %s", errout);
  g_free (out);
  g_free (errout);
  return WIFEXITED (wait_status) ? WEXITSTATUS (wait_status) : -1;
}

static void
check_case (const char *cli, const char *golden_io, const char *tmpdir, int k, int size)
{
  char spec[4096], ref_name[32], size_text[16];
  snprintf (spec, sizeof spec, "%s:rgb_%d", golden_io, k);
  snprintf (ref_name, sizeof ref_name, size == 256 ? "pre_%d" : "pre224_%d", k);
  snprintf (size_text, sizeof size_text, "%d", size);
  char *out_path = g_strdup_printf ("%s/pre_%d_%d.safetensors", tmpdir, k, size);
  char *argv[] = { (char *) cli, "preprocess", "--rgb", spec, "--size", size_text,
    "--out", out_path, NULL };

  int status = run (argv);
  CHECK (status == 0, "preprocess rgb_%d at %d exited with %d", k, size, status);
  mc_tensor_file *got_file = NULL, *ref_file = NULL;
  mc_error err = { 0 };
  if (status == 0 && mc_tensor_file_open (out_path, &got_file, &err) == MC_OK
      && mc_tensor_file_open (golden_io, &ref_file, &err) == MC_OK) {
    const mc_tensor_info *got = mc_tensor_file_find (got_file, "pre");
    const mc_tensor_info *ref = mc_tensor_file_find (ref_file, ref_name);
    CHECK (got && got->dtype == MC_DTYPE_F32 && got->ndim == 3 && got->shape[0] == 3
        && got->shape[1] == size && got->shape[2] == size, "output 'pre' is not F32 [3,%d,%d]",
        size, size);
    if (got && ref && mc_tensor_numel (got) == mc_tensor_numel (ref)) {
      size_t n = (size_t) mc_tensor_numel (ref), differ = 0;
      float *a = g_new (float, n), *b = g_new (float, n);
      mc_tensor_to_f32 (got, a);
      mc_tensor_to_f32 (ref, b);
      for (size_t i = 0; i < n; i++)
        differ += a[i] != b[i];
      char what[96];
      snprintf (what, sizeof what, "CLI rgb_%d -> %s (%zu values differ)", k, ref_name, differ);
      mc_check_close (what, a, b, n, 0, 0);
      g_free (a);
      g_free (b);
    }
  } else if (status == 0) {
    CHECK (0, "cannot read back %s: %s", out_path, err.message);
  }
  if (got_file)
    mc_tensor_file_close (got_file);
  if (ref_file)
    mc_tensor_file_close (ref_file);
  g_unlink (out_path);
  g_free (out_path);
}

static void
check_exit (const char *what, int expected, char **argv)
{
  int status = run (argv);
  printf ("  %-32s exit %d (expected %d)\n", what, status, expected);
  CHECK (status == expected, "%s: exit %d, expected %d", what, status, expected);
}

int
main (int argc, char **argv)
{
  if (argc < 2) {
    fprintf (stderr, "usage: %s PATH-TO-mobileclip\n", argv[0]);
    return 1;
  }
  const char *cli = argv[1];
  const char *golden = mc_test_golden_dir ();
  if (!golden)
    return MC_TEST_SKIP;
  char *io = g_build_filename (golden, "preprocess", "io.safetensors", NULL);
  char *tmpdir = g_dir_make_tmp ("mc-preprocess-XXXXXX", NULL);

  check_case (cli, io, tmpdir, 0, 256);
  check_case (cli, io, tmpdir, 5, 256);
  check_case (cli, io, tmpdir, 1, 224);
  check_case (cli, io, tmpdir, 4, 224);

  char *out = g_build_filename (tmpdir, "x.safetensors", NULL);
  char *missing = g_strdup_printf ("%s:no_such_tensor", io);
  char *not_u8 = g_strdup_printf ("%s:pre_0", io);
  char *good = g_strdup_printf ("%s:rgb_0", io);
  check_exit ("missing tensor", 1, (char *[]) { (char *) cli, "preprocess", "--rgb", missing, "--out", out, NULL });
  check_exit ("F32 tensor instead of U8", 1, (char *[]) { (char *) cli, "preprocess", "--rgb", not_u8, "--out", out, NULL });
  check_exit ("no --out", 2, (char *[]) { (char *) cli, "preprocess", "--rgb", good, NULL });
  check_exit ("--size 0", 2, (char *[]) { (char *) cli, "preprocess", "--rgb", good, "--size", "0", "--out", out, NULL });
  check_exit ("region outside the image", 1, (char *[]) { (char *) cli, "preprocess", "--rgb", good, "--roi", "900,0,10,10", "--out", out, NULL });

  g_unlink (out);
  g_rmdir (tmpdir);
  g_free (out);
  g_free (missing);
  g_free (not_u8);
  g_free (good);
  g_free (io);
  g_free (tmpdir);
  return mc_test_finish ("preprocess-cli");
}

/* cmd_preprocess.c — `mobileclip preprocess`: an RGB image tensor to the
 * model input, exactly as torchvision's Resize + CenterCrop + ToTensor. */
#include "cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "io/safetensors.h"

static void
usage (FILE *f)
{
  fprintf (f,
      "usage: mobileclip preprocess --rgb FILE.safetensors:NAME --out OUT.safetensors\n"
      "                             [--size S] [--roi X,Y,W,H]\n"
      "Reads NAME, a U8 [H,W,3] RGB image, resizes its shorter side to S (default\n"
      "256) with Pillow's antialiased bilinear filter, centre-crops S×S and writes\n"
      "the values / 255 as F32 [3,S,S] (planar, as PyTorch) in tensor 'pre' of OUT.\n"
      "--roi first cuts the region X,Y,W,H out of the image (clamped to it).\n");
}

int
cli_preprocess (int argc, char **argv)
{
  static const struct option opts[] = {
    { "rgb", required_argument, NULL, 'r' },
    { "size", required_argument, NULL, 's' },
    { "out", required_argument, NULL, 'o' },
    { "roi", required_argument, NULL, 'R' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  const char *rgb_spec = NULL, *out_path = NULL;
  int size = 256, have_roi = 0, opt;
  mc_rect roi = { 0, 0, 0, 0 };
  char *end;

  optind = 1;
  while ((opt = getopt_long (argc, argv, "r:s:o:R:h", opts, NULL)) != -1) {
    switch (opt) {
      case 'r': rgb_spec = optarg; break;
      case 'o': out_path = optarg; break;
      case 's':
        size = (int) strtol (optarg, &end, 10);
        if (*end || size <= 0) {
          fprintf (stderr, "mobileclip preprocess: --size '%s' is not a positive integer\n", optarg);
          return 2;
        }
        break;
      case 'R':
        if (sscanf (optarg, "%d,%d,%d,%d", &roi.x, &roi.y, &roi.width, &roi.height) != 4) {
          fprintf (stderr, "mobileclip preprocess: --roi '%s' is not X,Y,W,H\n", optarg);
          return 2;
        }
        have_roi = 1;
        break;
      case 'h': usage (stdout); return 0;
      default: usage (stderr); return 2;
    }
  }
  if (!rgb_spec || !out_path || optind != argc) {
    usage (stderr);
    return 2;
  }

  mc_tensor_file *file = NULL;
  const mc_tensor_info *t = cli_open_tensor ("preprocess", rgb_spec, &file);
  if (!t)
    return 1;
  if (t->dtype != MC_DTYPE_U8 || t->ndim != 3 || t->shape[2] != 3
      || t->shape[0] < 1 || t->shape[1] < 1 || t->shape[0] > INT32_MAX / 3
      || t->shape[1] > INT32_MAX / 3) {
    char shape[64];
    fprintf (stderr, "mobileclip preprocess: %s is %s %s, expected U8 [H,W,3]\n",
        rgb_spec, mc_dtype_name (t->dtype), mc_shape_str (t->ndim, t->shape, shape, sizeof shape));
    mc_tensor_file_close (file);
    return 1;
  }

  const int h = (int) t->shape[0], w = (int) t->shape[1];
  const mc_image image = { .format = MC_PIXEL_RGB, .width = w, .height = h,
    .planes = { t->data }, .strides = { 3 * w } };
  const size_t plane = (size_t) size * size;
  float *hwc = malloc (3 * plane * sizeof (float));
  float *chw = malloc (3 * plane * sizeof (float));
  mc_preprocessor *pp = mc_preprocessor_new ();
  mc_error err = { 0 };
  int status = 1;

  if (!hwc || !chw || !pp) {
    fprintf (stderr, "mobileclip preprocess: out of memory\n");
    goto done;
  }
  if (mc_preprocess (pp, &image, have_roi ? &roi : NULL, size, hwc, &err) != MC_OK) {
    cli_fail ("preprocess", &err);
    goto done;
  }
  /* NHWC (what mc_preprocess writes) to the CHW tensors PyTorch uses. */
  for (size_t i = 0; i < plane; i++)
    for (int c = 0; c < 3; c++)
      chw[c * plane + i] = hwc[i * 3 + c];

  char size_text[16];
  snprintf (size_text, sizeof size_text, "%d", size);
  const char *keys[] = { "source", "size", "pipeline" };
  const char *values[] = { rgb_spec, size_text,
    "Resize(S, BILINEAR) -> CenterCrop(S) -> ToTensor(), Pillow-exact" };
  const mc_tensor_out pre = { .name = "pre", .dtype = MC_DTYPE_F32, .ndim = 3,
    .shape = { 3, size, size }, .data = chw };
  if (mc_safetensors_write (out_path, &pre, 1, keys, values, 3, &err) != MC_OK) {
    cli_fail ("preprocess", &err);
    goto done;
  }
  status = 0;

done:
  mc_preprocessor_free (pp);
  free (hwc);
  free (chw);
  mc_tensor_file_close (file);
  return status;
}

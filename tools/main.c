/* main.c — the `mobileclip` command: dispatches to one file per subcommand. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const struct {
  const char *name;
  int (*run) (int argc, char **argv);
  const char *summary;
} commands[] = {
  { "info", cli_info, "print a model's architecture, parameters and MACs" },
  { "embed-image", cli_embed_image, "embed preprocessed images from a safetensors tensor" },
  { "embed-text", cli_embed_text, "embed prompt texts (or token ids from a safetensors tensor)" },
  { "classify", cli_classify, "zero-shot labels for images from a prompt set (cached embeddings)" },
  { "tokenize", cli_tokenize, "print the CLIP token ids (77 per prompt) of prompt texts" },
  { "bench", cli_bench, "time the encoders (median ms, GFLOP/s, per-op breakdown)" },
  { "preprocess", cli_preprocess, "resize + centre-crop an RGB image tensor to model input (Pillow-exact)" },
};

static void
usage (FILE *f)
{
  fprintf (f, "usage: mobileclip COMMAND [OPTIONS]\n\ncommands:\n");
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    fprintf (f, "  %-14s %s\n", commands[i].name, commands[i].summary);
  fprintf (f, "\n'mobileclip COMMAND --help' describes a command's options.\n");
}

int
main (int argc, char **argv)
{
  if (argc < 2) {
    usage (stderr);
    return 2;
  }
  if (!strcmp (argv[1], "--help") || !strcmp (argv[1], "-h") || !strcmp (argv[1], "help")) {
    usage (stdout);
    return 0;
  }
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    if (!strcmp (argv[1], commands[i].name))
      return commands[i].run (argc - 1, argv + 1);
  fprintf (stderr, "mobileclip: unknown command '%s'\n\n", argv[1]);
  usage (stderr);
  return 2;
}

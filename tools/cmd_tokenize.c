/* cmd_tokenize.c — `mobileclip tokenize`: prompt text to CLIP token ids. */
#include "cli.h"

#include <getopt.h>
#include <glib.h>

#include "text/tokenizer.h"

static void
usage (FILE *f)
{
  fprintf (f,
      "usage: mobileclip tokenize [--vocab FILE] [--] TEXT...\n"
      "Prints {\"tokens\": [[77 ids], ...]} with one row per TEXT, as open_clip's\n"
      "tokenizer gives them (without ftfy's text repair).  The vocabulary\n"
      "(" MC_VOCAB_FILE_NAME ") is FILE, else $MOBILECLIP_VOCAB, else the\n"
      "installed copy.  Put '--' before a TEXT that starts with '-'.\n");
}

int
cli_tokenize (int argc, char **argv)
{
  static const struct option opts[] = {
    { "vocab", required_argument, NULL, 'v' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  const char *vocab_opt = NULL;
  char *vocab;
  mc_tokenizer *tok;
  mc_error err = { 0 };
  int32_t *rows;
  int opt, n_texts;

  optind = 1;
  /* '+': stop at the first TEXT, so prompts are never taken for options. */
  while ((opt = getopt_long (argc, argv, "+v:h", opts, NULL)) != -1) {
    switch (opt) {
      case 'v': vocab_opt = optarg; break;
      case 'h': usage (stdout); return 0;
      default: usage (stderr); return 2;
    }
  }
  n_texts = argc - optind;
  if (n_texts < 1) {
    usage (stderr);
    return 2;
  }

  vocab = mc_vocab_find (vocab_opt, NULL, &err);
  if (!vocab)
    return cli_fail ("tokenize", &err);
  if (mc_tokenizer_load (vocab, &tok, &err) != MC_OK) {
    g_free (vocab);
    return cli_fail ("tokenize", &err);
  }
  g_free (vocab);

  /* Tokenize everything before printing, so a bad TEXT leaves no partial
   * JSON on stdout. */
  rows = g_new (int32_t, (size_t) n_texts * MC_CONTEXT_LENGTH);
  for (int i = 0; i < n_texts; i++) {
    if (mc_tokenizer_encode (tok, argv[optind + i], rows + (size_t) i * MC_CONTEXT_LENGTH,
            NULL, &err) != MC_OK) {
      fprintf (stderr, "mobileclip tokenize: TEXT %d: %s\n", i + 1, err.message);
      g_free (rows);
      mc_tokenizer_free (tok);
      return 1;
    }
  }
  mc_tokenizer_free (tok);

  printf ("{\"tokens\": [");
  for (int i = 0; i < n_texts; i++) {
    const int32_t *ids = rows + (size_t) i * MC_CONTEXT_LENGTH;
    fputs (i ? ",\n  [" : "\n  [", stdout);
    for (int j = 0; j < MC_CONTEXT_LENGTH; j++)
      printf (j ? ", %d" : "%d", ids[j]);
    fputc (']', stdout);
  }
  printf ("\n]}\n");
  g_free (rows);
  return 0;
}

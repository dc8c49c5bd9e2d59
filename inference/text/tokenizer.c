/* tokenizer.c — prompt text to CLIP token ids: cleaning, words, BPE, framing. */
#include "text/tokenizer.h"

#include <glib.h>
#include <limits.h>
#include <string.h>

#include "runtime/error.h"
#include "text/bpe.h"
#include "text/pretokenize.h"
#include "text/text_clean.h"

struct mc_tokenizer {
  mc_bpe *bpe;
};

mc_status
mc_tokenizer_load (const char *vocab_path, mc_tokenizer **out, mc_error *err)
{
  mc_bpe *bpe;
  mc_status status;

  if (!out)
    return mc_err (err, MC_ERR_INVALID_ARGUMENT, "mc_tokenizer_load: out is NULL");
  *out = NULL;
  if (!vocab_path)
    return mc_err (err, MC_ERR_INVALID_ARGUMENT, "mc_tokenizer_load: no vocabulary path");
  status = mc_bpe_load (vocab_path, &bpe, err);
  if (status != MC_OK)
    return status;
  *out = g_new (mc_tokenizer, 1);
  (*out)->bpe = bpe;
  return MC_OK;
}

void
mc_tokenizer_free (mc_tokenizer *tok)
{
  if (!tok)
    return;
  mc_bpe_free (tok->bpe);
  g_free (tok);
}

/* Appends the BPE ids of every word of the cleaned text to ids. */
static void
encode_words (const mc_bpe *bpe, const gunichar *text, size_t n, GArray *ids)
{
  GByteArray *bytes = g_byte_array_new ();
  size_t pos = 0, start, end;
  mc_pretoken_kind kind;

  while (mc_pretoken_next (text, n, &pos, &start, &end, &kind)) {
    if (kind == MC_PRETOKEN_START_OF_TEXT || kind == MC_PRETOKEN_END_OF_TEXT) {
      int32_t id = kind == MC_PRETOKEN_START_OF_TEXT ? MC_BPE_START_OF_TEXT
          : MC_BPE_END_OF_TEXT;
      g_array_append_val (ids, id);
      continue;
    }
    g_byte_array_set_size (bytes, 0);
    for (size_t i = start; i < end; i++) {
      guint8 utf8[6];
      g_byte_array_append (bytes, utf8, g_unichar_to_utf8 (text[i], (char *) utf8));
    }
    mc_bpe_encode_word (bpe, bytes->data, bytes->len, ids);
  }
  g_byte_array_unref (bytes);
}

mc_status
mc_tokenizer_encode (const mc_tokenizer *tok, const char *utf8,
    int32_t ids[MC_CONTEXT_LENGTH], int *n_tokens, mc_error *err)
{
  const int32_t sot = MC_BPE_START_OF_TEXT, eot = MC_BPE_END_OF_TEXT;
  const char *bad;
  gunichar *text;
  glong n_chars;
  GArray *clean, *all;
  size_t kept;

  if (!tok || !utf8 || !ids)
    return mc_err (err, MC_ERR_INVALID_ARGUMENT,
        "mc_tokenizer_encode: %s is NULL", !tok ? "tokenizer" : !utf8 ? "text" : "ids");
  if (!g_utf8_validate (utf8, -1, &bad))
    return mc_err (err, MC_ERR_INVALID_ARGUMENT,
        "text is not valid UTF-8 (byte 0x%02x at offset %td)", (unsigned char) *bad,
        bad - utf8);

  text = g_utf8_to_ucs4_fast (utf8, -1, &n_chars);
  clean = mc_text_clean (text, n_chars);
  g_free (text);

  all = g_array_sized_new (FALSE, FALSE, sizeof (int32_t), MC_CONTEXT_LENGTH);
  g_array_append_val (all, sot);
  encode_words (tok->bpe, (const gunichar *) clean->data, clean->len, all);
  g_array_append_val (all, eot);
  g_array_unref (clean);

  if (n_tokens)
    *n_tokens = all->len > INT_MAX ? INT_MAX : (int) all->len;
  kept = MIN (all->len, (guint) MC_CONTEXT_LENGTH);
  memcpy (ids, all->data, kept * sizeof (int32_t));
  /* open_clip cuts long prompts to 77 and makes the last one EOT again. */
  if (all->len > MC_CONTEXT_LENGTH)
    ids[MC_CONTEXT_LENGTH - 1] = eot;
  memset (ids + kept, 0, (MC_CONTEXT_LENGTH - kept) * sizeof (int32_t));
  g_array_unref (all);
  return MC_OK;
}

static gboolean
is_file (const char *path)
{
  return g_file_test (path, G_FILE_TEST_IS_REGULAR);
}

char *
mc_vocab_find (const char *explicit_path, const char *model_dir, mc_error *err)
{
  const char *env;
  GString *tried;
  char *path;

  if (explicit_path) {
    if (is_file (explicit_path))
      return g_strdup (explicit_path);
    mc_err (err, MC_ERR_VOCAB, "BPE vocabulary '%s' not found", explicit_path);
    return NULL;
  }
  env = g_getenv ("MOBILECLIP_VOCAB");
  if (env && *env) {
    if (is_file (env))
      return g_strdup (env);
    mc_err (err, MC_ERR_VOCAB, "BPE vocabulary '%s' (from $MOBILECLIP_VOCAB) not found", env);
    return NULL;
  }

  tried = g_string_new (NULL);
  if (model_dir) {
    path = g_build_filename (model_dir, MC_VOCAB_FILE_NAME, NULL);
    if (is_file (path)) {
      g_string_free (tried, TRUE);
      return path;
    }
    g_string_append_printf (tried, "'%s', ", path);
    g_free (path);
  }
#ifdef MC_INSTALLED_VOCAB
  if (is_file (MC_INSTALLED_VOCAB)) {
    g_string_free (tried, TRUE);
    return g_strdup (MC_INSTALLED_VOCAB);
  }
  g_string_append_printf (tried, "'%s', ", MC_INSTALLED_VOCAB);
#endif
#ifdef MC_BUILD_VOCAB_DIR
  /* the folder given when the build was configured (-Dvocab_dir), so that
   * an uninstalled build finds the vocabulary it was set up with */
  path = g_build_filename (MC_BUILD_VOCAB_DIR, MC_VOCAB_FILE_NAME, NULL);
  if (is_file (path)) {
    g_string_free (tried, TRUE);
    return path;
  }
  g_string_append_printf (tried, "'%s', ", path);
  g_free (path);
#endif
  if (tried->len >= 2)
    g_string_truncate (tried, tried->len - 2);
  mc_err (err, MC_ERR_VOCAB, "BPE vocabulary " MC_VOCAB_FILE_NAME " not found (looked at %s; "
      "$MOBILECLIP_VOCAB is unset); pass its path or set MOBILECLIP_VOCAB",
      tried->len ? tried->str : "nothing");
  g_string_free (tried, TRUE);
  return NULL;
}

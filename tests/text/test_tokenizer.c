/* test_tokenizer.c — the CLIP BPE tokenizer against open_clip's tokens.
 *
 * 1. every case of golden/tokenizer/cases.json (open_clip's SimpleTokenizer,
 *    ftfy stubbed as identity) must give the same 77 ids;
 * 2. the cleaning steps on their own, against Python 3.11's html.unescape,
 *    str.split and str.lower (expected strings below were printed by
 *    /usr/bin/python3 for these inputs);
 * 3. the heap-based BPE against a direct transcription of open_clip's merge
 *    loop, on random words;
 * 4. errors (missing vocabulary, invalid UTF-8) and a 100 KB prompt.
 */
#include <cjson/cJSON.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "test_util.h"
#include "text/bpe.h"
#include "text/text_clean.h"
#include "text/tokenizer.h"

static char *
read_text_file (const char *path)
{
  char *data = NULL;
  if (!g_file_get_contents (path, &data, NULL, NULL))
    return NULL;
  return data;
}

static void
print_ids (const char *label, const int32_t *ids)
{
  int n = MC_CONTEXT_LENGTH;
  while (n > 0 && ids[n - 1] == 0)
    n--;
  fprintf (stderr, "    %s:", label);
  for (int i = 0; i < n; i++)
    fprintf (stderr, " %d", ids[i]);
  fprintf (stderr, "\n");
}

/* ---- 1. golden cases ----------------------------------------------------- */

static void
test_golden_cases (const mc_tokenizer *tok, const char *golden_dir)
{
  char *path = g_build_filename (golden_dir, "tokenizer", "cases.json", NULL);
  char *json = read_text_file (path);
  cJSON *cases, *c;
  int total = 0, matched = 0, truncated = 0;
  gint64 t0, elapsed;

  CHECK (json != NULL, "cannot read %s", path);
  if (!json) {
    g_free (path);
    return;
  }
  cases = cJSON_Parse (json);
  CHECK (cJSON_IsArray (cases), "%s is not a JSON array", path);

  t0 = g_get_monotonic_time ();
  cJSON_ArrayForEach (c, cases) {
    const cJSON *text = cJSON_GetObjectItemCaseSensitive (c, "text");
    const cJSON *want = cJSON_GetObjectItemCaseSensitive (c, "ids");
    int32_t ids[MC_CONTEXT_LENGTH], expected[MC_CONTEXT_LENGTH];
    int n_tokens = -1, ok = 1, expected_len = 0;
    mc_error err = { 0 };
    mc_status st;

    total++;
    if (!cJSON_IsString (text) || cJSON_GetArraySize (want) != MC_CONTEXT_LENGTH) {
      CHECK (0, "case %d is malformed", total);
      continue;
    }
    for (int i = 0; i < MC_CONTEXT_LENGTH; i++) {
      expected[i] = cJSON_GetArrayItem (want, i)->valueint;
      if (expected[i])
        expected_len = i + 1;
    }
    st = mc_tokenizer_encode (tok, text->valuestring, ids, &n_tokens, &err);
    if (st != MC_OK) {
      CHECK (0, "case %d: %s", total, err.message);
      continue;
    }
    for (int i = 0; i < MC_CONTEXT_LENGTH; i++)
      ok &= ids[i] == expected[i];
    /* n_tokens is the untruncated count: it equals the ids used when they
     * fit, and exceeds 77 exactly when open_clip cut the prompt. */
    if (expected_len < MC_CONTEXT_LENGTH || expected[MC_CONTEXT_LENGTH - 1] != MC_BPE_END_OF_TEXT)
      ok &= n_tokens == expected_len;
    else
      ok &= n_tokens >= MC_CONTEXT_LENGTH;
    truncated += n_tokens > MC_CONTEXT_LENGTH;
    if (ok) {
      matched++;
    } else {
      CHECK (0, "case %d \"%s\" differs (n_tokens %d)", total, text->valuestring, n_tokens);
      print_ids ("got     ", ids);
      print_ids ("expected", expected);
    }
  }
  elapsed = g_get_monotonic_time () - t0;
  printf ("golden cases: %d/%d matched (%d truncated), %.1f us per prompt\n", matched,
      total, truncated, total ? (double) elapsed / total : 0.0);
  CHECK (total == 211, "expected 211 cases, found %d", total);
  cJSON_Delete (cases);
  g_free (json);
  g_free (path);
}

/* ---- 2. cleaning ---------------------------------------------------------- */

static const struct {
  const char *in, *out;
} clean_cases[] = {
  /* html.unescape: numbers, their invalid ranges, the cp1252 remapping */
  { "&#65;&#x42;&#X43;&#0068", "abcd" },
  { "&#0;|&#1;|&#x80;|&#x81;|&#x9F;|&#xD800;|&#x110000;|&#99999999999999999999;",
    "\xef\xbf\xbd||\xe2\x82\xac|\xc2\x81|\xc3\xbf|\xef\xbf\xbd|\xef\xbf\xbd|\xef\xbf\xbd" },
  { "&#xFFFE;x&#xFDD0;y&#x1FFFF;z&#11;w&#127;", "xyzw" },
  { "a&#13;b&#9;c", "a b c" },
  { "&#x;&#;&#xg;&#a", "&#x;&#;&#xg;&#a" },
  /* named: with and without ';', longest legacy prefix, unknown names */
  { "&copyright &ampx &notin; &notit; &lt3", "\xc2\xa9right &x \xe2\x88\x89 \xc2\xacit; <3" },
  { "&unknown; &; & x &&amp", "&unknown; &; & x &&" },
  { "&NotNestedGreaterGreater;&nGt;", "\xe2\xaa\xa2\xcc\xb8\xe2\x89\xab\xe2\x83\x92" },
  { "&aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaamp;", "&aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaamp;" },
  { "&amp;amp;amp;", "&amp;" },
  { "&nbsp;&#x2003;&#x1c;a\xc2\x85" "b", "a b" },
  { "&caf\xc3\xa9;", "&caf\xc3\xa9;" },
  /* whitespace: Python's str.split() set */
  { " \t\n\x0b\x0c\r\x1c\x1d\x1e\x1fx\xe1\x9a\x80y\xe2\x80\xa8z\xe3\x80\x80 ", "x y z" },
  { "a\xe2\x80\x8b" "b\xe1\xa0\x8e" "c", "a\xe2\x80\x8b" "b\xe1\xa0\x8e" "c" },   /* ZWSP, U+180E stay */
  /* lower(): İ, final sigma, Roman numerals, circled letters, ẞ, title case */
  { "\xc4\xb0stanbul", "i\xcc\x87stanbul" },
  { "\xce\xa3 \xce\x91\xce\xa3 \xce\x91\xce\xa3\xce\x91 \xce\x91\xce\xa3. \xce\x91\xce\xa3'\xce\x91",
    "\xcf\x83 \xce\xb1\xcf\x82 \xce\xb1\xcf\x83\xce\xb1 \xce\xb1\xcf\x82. \xce\xb1\xcf\x83'\xce\xb1" },
  { "\xe2\x85\xab\xce\xa3 \xe2\x92\xb6\xce\xa3 \xc2\xaa\xce\xa3 1\xce\xa3",
    "\xe2\x85\xbb\xcf\x82 \xe2\x93\x90\xcf\x82 \xc2\xaa\xcf\x82 1\xcf\x83" },
  { "\xe1\xba\x9e \xc7\x85 \xe2\x84\xaa \xe2\x84\xa6", "\xc3\x9f \xc7\x86 k \xcf\x89" },
};

static void
test_cleaning (void)
{
  int passed = 0;

  for (size_t k = 0; k < G_N_ELEMENTS (clean_cases); k++) {
    glong n;
    gunichar *in = g_utf8_to_ucs4_fast (clean_cases[k].in, -1, &n);
    GArray *out = mc_text_clean (in, n);
    char *got = g_ucs4_to_utf8 ((const gunichar *) out->data, out->len, NULL, NULL, NULL);

    if (got && !strcmp (got, clean_cases[k].out))
      passed++;
    else
      CHECK (0, "clean(\"%s\") = \"%s\", Python gives \"%s\"", clean_cases[k].in,
          got ? got : "(null)", clean_cases[k].out);
    g_free (got);
    g_array_unref (out);
    g_free (in);
  }
  printf ("cleaning: %d/%zu match Python\n", passed, G_N_ELEMENTS (clean_cases));
}

/* ---- 3. BPE against the plain merge loop --------------------------------- */

/* open_clip's SimpleTokenizer.bpe, transcribed directly: lowest-rank pair,
 * all its occurrences left to right, repeat. */
static int
reference_bpe (const mc_bpe *bpe, const uint8_t *bytes, int n, int32_t *word)
{
  for (int i = 0; i < n; i++)
    word[i] = mc_bpe_byte_symbol (bytes[i], i == n - 1);
  while (n > 1) {
    int best = -1, best_at = -1, out = 0;
    int32_t first, second, merged = -1;
    for (int i = 0; i + 1 < n; i++) {
      int r = mc_bpe_merge_rank (bpe, word[i], word[i + 1], NULL);
      if (r >= 0 && (best < 0 || r < best)) {
        best = r;
        best_at = i;
      }
    }
    if (best < 0)
      break;
    first = word[best_at];
    second = word[best_at + 1];
    mc_bpe_merge_rank (bpe, first, second, &merged);
    for (int i = 0; i < n; ) {
      if (i + 1 < n && word[i] == first && word[i + 1] == second) {
        word[out++] = merged;
        i += 2;
      } else {
        word[out++] = word[i++];
      }
    }
    n = out;
  }
  return n;
}

static void
test_bpe_against_reference (const mc_bpe *bpe)
{
  /* Small alphabets make long chains of merges and repeated pairs ("aaaa"),
   * the cases where merge order matters. */
  static const char *const alphabets[] = { "a", "ab", "aeiou", "etaoinshrdlu", "th e",
    "0123456789", "!.?'", "abcdefghijklmnopqrstuvwxyz" };
  GRand *rng = g_rand_new_with_seed (1234);
  GArray *fast = g_array_new (FALSE, FALSE, sizeof (int32_t));
  uint8_t bytes[400];
  int32_t ref[400];
  int words = 0, same = 0;

  for (int w = 0; w < 3000; w++) {
    const char *alpha = alphabets[w % G_N_ELEMENTS (alphabets)];
    int len = 1 + g_rand_int_range (rng, 0, w % 10 == 0 ? 400 : 40);
    int n_ref, ok;

    if (w % 97 == 0) {
      /* raw bytes, including UTF-8 continuation bytes and controls */
      for (int i = 0; i < len; i++)
        bytes[i] = (uint8_t) g_rand_int_range (rng, 0, 256);
    } else {
      for (int i = 0; i < len; i++)
        bytes[i] = alpha[g_rand_int_range (rng, 0, strlen (alpha))];
    }
    n_ref = reference_bpe (bpe, bytes, len, ref);
    g_array_set_size (fast, 0);
    mc_bpe_encode_word (bpe, bytes, len, fast);
    ok = (int) fast->len == n_ref && !memcmp (fast->data, ref, n_ref * sizeof (int32_t));
    words++;
    same += ok;
    if (!ok)
      CHECK (0, "word %d (%d bytes, \"%.*s\"): %u symbols, reference %d", w, len, len,
          (const char *) bytes, fast->len, n_ref);
  }
  printf ("bpe: %d/%d random words match the plain merge loop\n", same, words);
  g_array_unref (fast);
  g_rand_free (rng);
}

/* ---- 4. errors and long input -------------------------------------------- */

static void
test_errors (const mc_tokenizer *tok)
{
  static const char *const invalid[] = {
    "\xff", "abc\xc3", "\xc0\xaf", "\xed\xa0\x80", "ok \xe2\x82", "\xf4\x90\x80\x80",
  };
  int32_t ids[MC_CONTEXT_LENGTH];
  mc_tokenizer *missing = (mc_tokenizer *) 0x1;
  mc_error err = { 0 };
  mc_status st;
  char *found;

  st = mc_tokenizer_load ("/nonexistent/bpe_simple_vocab_16e6.txt.gz", &missing, &err);
  printf ("missing vocabulary: %s: %s\n", mc_status_name (st), err.message);
  CHECK (st == MC_ERR_VOCAB && missing == NULL, "status %d", st);
  CHECK (strstr (err.message, "/nonexistent/bpe_simple_vocab_16e6.txt.gz") != NULL,
      "message does not name the file");

  for (size_t k = 0; k < G_N_ELEMENTS (invalid); k++) {
    memset (&err, 0, sizeof err);
    st = mc_tokenizer_encode (tok, invalid[k], ids, NULL, &err);
    CHECK (st == MC_ERR_INVALID_ARGUMENT, "invalid UTF-8 #%zu accepted (status %d)", k, st);
    if (k == 0)
      printf ("invalid UTF-8: %s: %s\n", mc_status_name (st), err.message);
  }

  /* Lookup order: an explicit or $MOBILECLIP_VOCAB path that is missing is
   * an error, not a reason to look elsewhere. */
  memset (&err, 0, sizeof err);
  found = mc_vocab_find ("/nonexistent/vocab.gz", NULL, &err);
  CHECK (found == NULL && err.code == MC_ERR_VOCAB, "missing explicit path accepted");
  g_setenv ("MOBILECLIP_VOCAB", "/nonexistent/env-vocab.gz", TRUE);
  memset (&err, 0, sizeof err);
  found = mc_vocab_find (NULL, "/also/nonexistent", &err);
  CHECK (found == NULL && strstr (err.message, "MOBILECLIP_VOCAB"), "env path: %s", err.message);
  g_unsetenv ("MOBILECLIP_VOCAB");
  memset (&err, 0, sizeof err);
  found = mc_vocab_find (NULL, "/also/nonexistent", &err);
  if (found) {
    printf ("vocabulary found at the installed location %s\n", found);
    g_free (found);
  } else {
    printf ("nothing found without a path: %s\n", err.message);
    CHECK (strstr (err.message, "/also/nonexistent/bpe_simple_vocab_16e6.txt.gz") != NULL,
        "message does not list the model directory");
  }
}

static void
test_vocab_find (const char *vocab_dir)
{
  char *expected = g_build_filename (vocab_dir, MC_VOCAB_FILE_NAME, NULL);
  mc_error err = { 0 };
  char *found;

  found = mc_vocab_find (NULL, vocab_dir, &err);
  CHECK (found && !strcmp (found, expected), "model-dir lookup gave %s", found ? found : err.message);
  g_free (found);
  g_setenv ("MOBILECLIP_VOCAB", expected, TRUE);
  found = mc_vocab_find (NULL, "/nonexistent", &err);
  CHECK (found && !strcmp (found, expected), "$MOBILECLIP_VOCAB lookup gave %s",
      found ? found : err.message);
  g_free (found);
  g_unsetenv ("MOBILECLIP_VOCAB");
  g_free (expected);
}

static void
test_long_text (const mc_tokenizer *tok)
{
  /* "a photo of a dog." is 6 tokens (a, photo, of, a, dog, .), so the
   * untruncated count is known exactly. */
  const char *unit = "a photo of a dog. ";
  size_t unit_len = strlen (unit), reps = 100 * 1024 / unit_len + 1;
  GString *text = g_string_sized_new (reps * unit_len + 1);
  int32_t ids[MC_CONTEXT_LENGTH];
  int n_tokens = 0;
  mc_error err = { 0 };
  gint64 t0;
  mc_status st;

  for (size_t r = 0; r < reps; r++)
    g_string_append (text, unit);
  t0 = g_get_monotonic_time ();
  st = mc_tokenizer_encode (tok, text->str, ids, &n_tokens, &err);
  printf ("%zu-byte prompt: %d tokens in %.1f ms\n", text->len, n_tokens,
      (g_get_monotonic_time () - t0) / 1000.0);
  CHECK (st == MC_OK, "%s", err.message);
  CHECK (n_tokens == (int) (2 + 6 * reps), "n_tokens %d, expected %zu", n_tokens, 2 + 6 * reps);
  CHECK (ids[0] == MC_BPE_START_OF_TEXT && ids[MC_CONTEXT_LENGTH - 1] == MC_BPE_END_OF_TEXT,
      "framing %d .. %d", ids[0], ids[MC_CONTEXT_LENGTH - 1]);

  /* One 100 KB word: the merge loop must not be quadratic. */
  g_string_truncate (text, 0);
  for (size_t i = 0; i < 100 * 1024; i++)
    g_string_append_c (text, "abcdefghij"[(i * 7 + i / 13) % 10]);
  t0 = g_get_monotonic_time ();
  st = mc_tokenizer_encode (tok, text->str, ids, &n_tokens, &err);
  printf ("%zu-byte single word: %d tokens in %.1f ms\n", text->len, n_tokens,
      (g_get_monotonic_time () - t0) / 1000.0);
  CHECK (st == MC_OK, "%s", err.message);
  CHECK (n_tokens > MC_CONTEXT_LENGTH && ids[MC_CONTEXT_LENGTH - 1] == MC_BPE_END_OF_TEXT,
      "n_tokens %d", n_tokens);
  g_string_free (text, TRUE);
}

int
main (void)
{
  const char *golden_dir, *vocab_dir;
  char *vocab;
  mc_tokenizer *tok;
  mc_bpe *bpe;
  mc_error err = { 0 };
  gint64 t0;

  test_cleaning ();

  vocab_dir = mc_test_vocab_dir ();
  if (!vocab_dir)
    return mc_test_failures ? 1 : MC_TEST_SKIP;
  vocab = g_build_filename (vocab_dir, MC_VOCAB_FILE_NAME, NULL);
  if (!mc_path_exists (vocab)) {
    printf ("SKIP: %s not found\n", vocab);
    g_free (vocab);
    return mc_test_failures ? 1 : MC_TEST_SKIP;
  }

  t0 = g_get_monotonic_time ();
  if (mc_tokenizer_load (vocab, &tok, &err) != MC_OK) {
    fprintf (stderr, "FAIL: %s\n", err.message);
    return 1;
  }
  printf ("vocabulary loaded in %.1f ms\n", (g_get_monotonic_time () - t0) / 1000.0);

  if (mc_bpe_load (vocab, &bpe, &err) != MC_OK) {
    fprintf (stderr, "FAIL: %s\n", err.message);
    return 1;
  }
  test_bpe_against_reference (bpe);
  mc_bpe_free (bpe);

  test_errors (tok);
  test_vocab_find (vocab_dir);
  test_long_text (tok);

  golden_dir = mc_test_golden_dir ();
  if (golden_dir)
    test_golden_cases (tok, golden_dir);

  mc_tokenizer_free (tok);
  g_free (vocab);
  if (!golden_dir && !mc_test_failures)
    return MC_TEST_SKIP;
  return mc_test_finish ("tokenizer");
}

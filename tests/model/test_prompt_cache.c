/* test_prompt_cache.c — prompt sets, ensembling and the embeddings cache,
 * on golden tiny_s0 with the real vocabulary.
 *
 *  - parsing: ';' and '|' in strings, files with comments / CRLF / BOM,
 *    templates, the shipped files in prompts/; empty sets, lines without "{}",
 *    invalid UTF-8 and NUL bytes are refused with the line named;
 *  - ensembling equals the mean of normalized embeddings, normalized;
 *  - cache miss (written), hit (nothing encoded, file untouched), partial
 *    recompute (only changed and new labels encoded, same rows as from
 *    scratch), template change, model change (other weights), corrupt and
 *    mismatched cache files (rebuilt with a warning), unwritable cache path
 *    (a warning, not an error), a hit on a context without a text tower;
 *  - mc_prompt_embeddings_load/save, including a bare embeddings file;
 *  - texts: empty, very long (truncated), invalid UTF-8.
 * "Nothing recomputed" is checked with the report's n_texts_encoded counter.
 */
#include <glib.h>
#include <glib/gstdio.h>

#include "mobileclip.h"
#include "io/safetensors.h"
#include "io/tensor_file.h"
#include "test_util.h"

static char *tmpdir;
static const char *vocab_path;

static char *
tmp_path (const char *name)
{
  return g_build_filename (tmpdir, name, NULL);
}

static char *
write_tmp (const char *name, const char *content, gssize len)
{
  char *p = tmp_path (name);
  g_file_set_contents (p, content, len, NULL);
  return p;
}

static mc_context *
load (const char *model, unsigned towers)
{
  mc_params p = mc_params_default ();
  mc_context *ctx = NULL;
  mc_error err = { 0 };
  p.n_threads = 2;
  p.vocab_path = vocab_path;
  p.towers = towers;
  CHECK (mc_context_load (model, &p, &ctx, &err) == MC_OK, "%s: %s", model, err.message);
  return ctx;
}

/* ---- parsing ------------------------------------------------------------ */

static void
expect_refused (mc_status st, const mc_error *err, const char *what, const char *needle)
{
  CHECK (st == MC_ERR_INVALID_ARGUMENT, "%s: accepted (status %d)", what, st);
  CHECK (!needle || strstr (err->message, needle), "%s: message '%s' lacks '%s'", what, err->message, needle);
  printf ("  refused %-34s %s\n", what, err->message);
}

static void
test_parsing (void)
{
  mc_prompt_set *s = NULL;
  mc_error err = { 0 };
  char *p;

  printf ("parsing:\n");
  CHECK (mc_prompt_set_from_string (" dog | puppy ;cat;; a red car ;", &s, &err) == MC_OK, "%s", err.message);
  if (s) {
    CHECK (mc_prompt_set_count (s) == 3, "%d labels", mc_prompt_set_count (s));
    CHECK (!strcmp (mc_prompt_set_label (s, 0), "dog"), "label 0 '%s'", mc_prompt_set_label (s, 0));
    CHECK (mc_prompt_set_phrasing_count (s, 0) == 2, "phrasings of dog");
    CHECK (!g_strcmp0 (mc_prompt_set_phrasing (s, 0, 1), "puppy"), "second phrasing");
    CHECK (!strcmp (mc_prompt_set_label (s, 2), "a red car"), "label 2 '%s'", mc_prompt_set_label (s, 2));
    CHECK (mc_prompt_set_template_count (s) == 0, "templates");
  }
  mc_prompt_set_free (s);

  expect_refused (mc_prompt_set_from_string ("", &s, &err), &err, "empty string", "no prompts");
  expect_refused (mc_prompt_set_from_string (" ; ;| ;", &s, &err), &err, "only separators", "no prompts");
  expect_refused (mc_prompt_set_from_string ("dog;\xff\xfe cat", &s, &err), &err, "invalid UTF-8 string", "UTF-8");
  CHECK (s == NULL, "set left behind");

  /* comments, blank lines, CRLF and a BOM */
  p = write_tmp ("p1.txt", "\xEF\xBB\xBF# animals\r\ndog | a puppy\r\n\r\n  # indented comment\ncat\n#end", -1);
  CHECK (mc_prompt_set_from_file (p, &s, &err) == MC_OK, "%s", err.message);
  if (s) {
    CHECK (mc_prompt_set_count (s) == 2, "%d labels from file", mc_prompt_set_count (s));
    CHECK (!g_strcmp0 (mc_prompt_set_phrasing (s, 0, 1), "a puppy"), "CRLF phrasing '%s'",
        mc_prompt_set_phrasing (s, 0, 1));
  }
  g_free (p);
  p = write_tmp ("t-bad.txt", "a photo of {}.\n# fine\nno placeholder\n", -1);
  expect_refused (mc_prompt_set_load_templates (s, p, &err), &err, "template without {}", "line 3");
  g_free (p);
  p = write_tmp ("t-empty.txt", "# nothing\n\n", -1);
  expect_refused (mc_prompt_set_load_templates (s, p, &err), &err, "templates file without any", "no template");
  g_free (p);
  p = write_tmp ("t.txt", "a photo of {}.\n{} seen up close\n", -1);
  CHECK (mc_prompt_set_load_templates (s, p, &err) == MC_OK, "%s", err.message);
  CHECK (mc_prompt_set_template_count (s) == 2, "template count");
  g_free (p);
  mc_prompt_set_free (s);
  s = NULL;

  p = write_tmp ("p-empty.txt", "# only a comment\n   \n", -1);
  expect_refused (mc_prompt_set_from_file (p, &s, &err), &err, "file without labels", "no label");
  g_free (p);
  p = write_tmp ("p-utf8.txt", "dog\ncat\nbad \xc3\x28 byte\n", -1);
  expect_refused (mc_prompt_set_from_file (p, &s, &err), &err, "invalid UTF-8 file", "line 3");
  g_free (p);
  p = write_tmp ("p-nul.txt", "dog\0cat\n", 8);
  expect_refused (mc_prompt_set_from_file (p, &s, &err), &err, "NUL byte", "NUL");
  g_free (p);
  p = tmp_path ("missing.txt");
  CHECK (mc_prompt_set_from_file (p, &s, &err) == MC_ERR_IO, "missing file");
  g_free (p);

  /* the shipped sets */
  {
    static const struct { const char *file; int labels; int templates; } shipped[] = {
      { "coco.txt", 80, 0 }, { "camera-scenes.txt", 0, 0 },
      { "templates.txt", -1, 12 }, { "scene-templates.txt", -1, 0 },
    };
    mc_prompt_set *base = NULL;
    mc_prompt_set_from_string ("x", &base, &err);
    for (size_t i = 0; i < G_N_ELEMENTS (shipped); i++) {
      char *path = g_build_filename (MC_SOURCE_DIR, "prompts", shipped[i].file, NULL);
      if (shipped[i].labels >= 0) {
        CHECK (mc_prompt_set_from_file (path, &s, &err) == MC_OK, "%s", err.message);
        if (s && shipped[i].labels)
          CHECK (mc_prompt_set_count (s) == shipped[i].labels, "%s: %d labels", shipped[i].file,
              mc_prompt_set_count (s));
        printf ("  prompts/%s: %d labels\n", shipped[i].file, mc_prompt_set_count (s));
        mc_prompt_set_free (s);
        s = NULL;
      } else {
        CHECK (mc_prompt_set_load_templates (base, path, &err) == MC_OK, "%s", err.message);
        if (shipped[i].templates)
          CHECK (mc_prompt_set_template_count (base) == shipped[i].templates, "%s: %d templates",
              shipped[i].file, mc_prompt_set_template_count (base));
        printf ("  prompts/%s: %d templates\n", shipped[i].file, mc_prompt_set_template_count (base));
      }
      g_free (path);
    }
    mc_prompt_set_free (base);
  }
}

/* ---- ensembling ---------------------------------------------------------- */

static void
test_ensembling (mc_context *ctx)
{
  const char *texts[] = { "a photo of dog.", "dog seen up close", "a photo of puppy.", "puppy seen up close" };
  const char *tmpl[] = { "a photo of {}.", "{} seen up close" };
  const int d = mc_embed_dim (ctx);
  int32_t ids[4 * MC_CONTEXT_LENGTH];
  float *emb = g_new (float, 4 * d), *want = g_new0 (float, d);
  mc_prompt_set *s = NULL;
  mc_prompt_embeddings *pe = NULL;
  mc_prompt_cache_report rep;
  mc_error err = { 0 };

  printf ("ensembling:\n");
  for (int i = 0; i < 4; i++)
    CHECK (mc_tokenize (ctx, texts[i], ids + i * MC_CONTEXT_LENGTH, &err) == MC_OK, "%s", err.message);
  CHECK (mc_encode_texts (ctx, ids, 4, emb, &err) == MC_OK, "%s", err.message);
  mc_l2_normalize (emb, 4, d);
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < d; j++)
      want[j] += emb[(size_t) i * d + j] / 4;
  mc_l2_normalize (want, 1, d);

  mc_prompt_set_from_string ("dog | puppy; cat", &s, &err);
  CHECK (mc_prompt_set_set_templates (s, tmpl, 2, &err) == MC_OK, "%s", err.message);
  CHECK (mc_prompt_embeddings_compute (ctx, s, NULL, &pe, &rep, &err) == MC_OK, "%s", err.message);
  if (pe) {
    CHECK (rep.n_computed == 2 && rep.n_texts_encoded == 6, "computed %d, texts %d", rep.n_computed,
        rep.n_texts_encoded);
    mc_check_close ("dog = norm(mean of 2 phrasings x 2 templates)", mc_prompt_embeddings_data (pe), want,
        (size_t) d, 1e-6, 0);
  }
  mc_prompt_embeddings_free (pe);
  mc_prompt_set_free (s);
  g_free (emb);
  g_free (want);
}

/* ---- the cache ----------------------------------------------------------- */

static mc_prompt_embeddings *
compute (mc_context *ctx, const char *spec, const char *templates_file, const char *cache,
    mc_prompt_cache_report *rep, mc_status want)
{
  mc_prompt_set *s = NULL;
  mc_prompt_embeddings *pe = NULL;
  mc_error err = { 0 };
  mc_status st;

  CHECK (mc_prompt_set_from_string (spec, &s, &err) == MC_OK, "%s", err.message);
  if (templates_file)
    CHECK (mc_prompt_set_load_templates (s, templates_file, &err) == MC_OK, "%s", err.message);
  st = mc_prompt_embeddings_compute (ctx, s, cache, &pe, rep, &err);
  CHECK (st == want, "compute '%s': status %d (%s), expected %d", spec, st, err.message, want);
  if (st != MC_OK)
    printf ("  error as expected: %s\n", err.message);
  mc_prompt_set_free (s);
  return pe;
}

static void
print_report (const char *what, const mc_prompt_cache_report *r)
{
  printf ("  %-28s reused %d computed %d texts %d hit %d model_changed %d invalid %d written %d%s%s\n",
      what, r->n_reused, r->n_computed, r->n_texts_encoded, r->cache_hit, r->model_changed,
      r->cache_invalid, r->cache_written, r->warning[0] ? " warning: " : "", r->warning);
}

/* Rows of `a` for labels named as in `b` must match b's. */
static void
compare_rows (const char *what, const mc_prompt_embeddings *a, const mc_prompt_embeddings *b)
{
  const int d = mc_prompt_embeddings_dim (a);
  CHECK (mc_prompt_embeddings_count (a) == mc_prompt_embeddings_count (b), "%s: counts", what);
  if (mc_prompt_embeddings_count (a) != mc_prompt_embeddings_count (b))
    return;
  for (int i = 0; i < mc_prompt_embeddings_count (a); i++)
    CHECK (!g_strcmp0 (mc_prompt_embeddings_label (a, i), mc_prompt_embeddings_label (b, i)),
        "%s: label %d", what, i);
  mc_check_close (what, mc_prompt_embeddings_data (a), mc_prompt_embeddings_data (b),
      (size_t) mc_prompt_embeddings_count (a) * d, 1e-6, 0);
}

/* A copy of a model folder with one text weight scaled by 1.01: the same
 * architecture, another fingerprint. */
static char *
perturbed_model (const char *golden_case)
{
  char *dir = g_build_filename (tmpdir, "perturbed", NULL);
  char *src_w = g_build_filename (golden_case, "weights.safetensors", NULL);
  char *src_c = g_build_filename (golden_case, "config.json", NULL);
  char *dst_w = g_build_filename (dir, "weights.safetensors", NULL);
  char *dst_c = g_build_filename (dir, "config.json", NULL);
  char *cfg = NULL;
  mc_tensor_file *f = NULL;
  mc_error err = { 0 };
  mc_tensor_out *outs;
  float *scaled = NULL;
  size_t n;

  g_mkdir_with_parents (dir, 0700);
  g_file_get_contents (src_c, &cfg, NULL, NULL);
  g_file_set_contents (dst_c, cfg, -1, NULL);
  CHECK (mc_tensor_file_open (src_w, &f, &err) == MC_OK, "%s", err.message);
  n = f ? mc_tensor_file_count (f) : 0;
  outs = g_new0 (mc_tensor_out, n + 1);
  for (size_t i = 0; i < n; i++) {
    const mc_tensor_info *t = mc_tensor_file_at (f, i);
    outs[i].name = t->name;
    outs[i].dtype = t->dtype;
    outs[i].ndim = t->ndim;
    memcpy (outs[i].shape, t->shape, sizeof t->shape);
    outs[i].data = t->data;
    if (!strcmp (t->name, "text_encoder.projection_layer")) {
      scaled = g_new (float, (gsize) mc_tensor_numel (t));
      mc_tensor_to_f32 (t, scaled);
      for (int64_t j = 0; j < mc_tensor_numel (t); j++)
        scaled[j] *= 1.01f;
      outs[i].data = scaled;
    }
  }
  CHECK (scaled != NULL, "no projection_layer to perturb");
  if (f)
    CHECK (mc_safetensors_write (dst_w, outs, n, NULL, NULL, 0, &err) == MC_OK, "%s", err.message);
  mc_tensor_file_close (f);
  g_free (outs);
  g_free (scaled);
  g_free (cfg);
  g_free (src_w);
  g_free (src_c);
  g_free (dst_w);
  g_free (dst_c);
  return dir;
}

static char *
file_bytes (const char *path, gsize *len)
{
  char *c = NULL;
  g_file_get_contents (path, &c, len, NULL);
  return c;
}

static void
test_cache (mc_context *ctx, const char *golden_case)
{
  char *cache = tmp_path ("cache.safetensors");
  char *tfile = write_tmp ("cache-templates.txt", "a photo of a {}.\na blurry photo of a {}.\n", -1);
  char *tfile2 = write_tmp ("cache-templates2.txt", "a photo of a {}.\n", -1);
  const char *spec = "dog | puppy; cat; car | automobile; tree";
  mc_prompt_cache_report rep;
  mc_prompt_embeddings *fresh, *first, *again, *pe, *loaded = NULL;
  mc_error err = { 0 };
  gsize len1 = 0, len2 = 0;
  char *bytes1, *bytes2;

  printf ("cache:\n");
  /* the reference: no cache at all */
  fresh = compute (ctx, spec, tfile, NULL, &rep, MC_OK);
  CHECK (rep.n_texts_encoded == 12 && !rep.cache_written, "no-cache run: %d texts", rep.n_texts_encoded);

  /* miss: everything computed, file written */
  first = compute (ctx, spec, tfile, cache, &rep, MC_OK);
  print_report ("miss", &rep);
  CHECK (rep.n_computed == 4 && rep.n_reused == 0 && rep.cache_written && !rep.cache_hit, "miss report");
  CHECK (mc_path_exists (cache), "cache file not written");
  compare_rows ("miss rows vs no cache", first, fresh);
  bytes1 = file_bytes (cache, &len1);

  /* hit: nothing encoded, file untouched */
  again = compute (ctx, spec, tfile, cache, &rep, MC_OK);
  print_report ("hit", &rep);
  CHECK (rep.cache_hit && rep.n_reused == 4 && rep.n_computed == 0 && rep.n_texts_encoded == 0
      && !rep.cache_written && !rep.warning[0], "hit report");
  compare_rows ("hit rows vs no cache", again, fresh);
  bytes2 = file_bytes (cache, &len2);
  CHECK (len1 == len2 && !memcmp (bytes1, bytes2, len1), "cache file changed on a hit");
  g_free (bytes2);
  mc_prompt_embeddings_free (again);

  /* load the cache as an embeddings file */
  CHECK (mc_prompt_embeddings_load (cache, &loaded, &err) == MC_OK, "%s", err.message);
  if (loaded) {
    compare_rows ("loaded cache vs no cache", loaded, fresh);
    CHECK (!strcmp (mc_prompt_embeddings_fingerprint (loaded), mc_fingerprint (ctx)), "fingerprint");
    CHECK (mc_prompt_embeddings_logit_scale_exp (loaded) == mc_logit_scale_exp (ctx), "scale %g",
        mc_prompt_embeddings_logit_scale_exp (loaded));
  }
  mc_prompt_embeddings_free (loaded);
  loaded = NULL;

  /* partial: cat dropped, car rephrased, bird new, order changed */
  {
    const char *spec2 = "tree; car | automobile | sedan; dog | puppy; bird";
    mc_prompt_embeddings *want = compute (ctx, spec2, tfile, NULL, &rep, MC_OK);
    pe = compute (ctx, spec2, tfile, cache, &rep, MC_OK);
    print_report ("partial", &rep);
    CHECK (rep.n_reused == 2 && rep.n_computed == 2 && rep.n_texts_encoded == (3 + 1) * 2
        && rep.cache_written && !rep.cache_hit, "partial report");
    compare_rows ("partial rows vs no cache", pe, want);
    mc_prompt_embeddings_free (pe);
    mc_prompt_embeddings_free (want);
    pe = compute (ctx, spec2, tfile, cache, &rep, MC_OK);
    CHECK (rep.cache_hit && rep.n_texts_encoded == 0, "hit after partial update");
    mc_prompt_embeddings_free (pe);
  }

  /* other templates: nothing reusable */
  pe = compute (ctx, spec, tfile2, cache, &rep, MC_OK);
  print_report ("templates changed", &rep);
  CHECK (rep.n_reused == 0 && rep.n_computed == 4 && rep.n_texts_encoded == 6 && rep.cache_written,
      "templates report");
  mc_prompt_embeddings_free (pe);

  /* other weights: fingerprint differs, everything recomputed */
  {
    char *pdir = perturbed_model (golden_case);
    mc_context *other = load (pdir, 0);
    if (other) {
      CHECK (strcmp (mc_fingerprint (other), mc_fingerprint (ctx)), "perturbed model, same fingerprint");
      pe = compute (other, spec, tfile2, cache, &rep, MC_OK);
      print_report ("model changed", &rep);
      CHECK (rep.model_changed && rep.n_reused == 0 && rep.n_computed == 4 && rep.cache_written,
          "model change report");
      mc_prompt_embeddings_free (pe);
      /* and back: the original model's cache is gone, recomputed again */
      pe = compute (ctx, spec, tfile2, cache, &rep, MC_OK);
      CHECK (rep.model_changed && rep.n_computed == 4, "model change back");
      mc_prompt_embeddings_free (pe);
    }
    mc_context_free (other);
    g_free (pdir);
  }

  /* corrupt caches: garbage, truncated, rows/labels mismatch, NaN rows */
  {
    gsize full_len = 0;
    char *full;
    pe = compute (ctx, spec, tfile, cache, &rep, MC_OK);
    mc_prompt_embeddings_free (pe);
    full = file_bytes (cache, &full_len);

    struct { const char *what; const char *bytes; gssize len; } bad[] = {
      { "garbage", "this is not a safetensors file at all", -1 },
      { "truncated", full, (gssize) full_len / 2 },
      { "empty", "", 0 },
    };
    for (size_t i = 0; i < G_N_ELEMENTS (bad); i++) {
      g_file_set_contents (cache, bad[i].bytes, bad[i].len, NULL);
      pe = compute (ctx, spec, tfile, cache, &rep, MC_OK);
      print_report (bad[i].what, &rep);
      CHECK (rep.cache_invalid && rep.warning[0] && rep.n_computed == 4 && rep.cache_written,
          "%s cache: report", bad[i].what);
      if (pe)
        compare_rows ("rows after rebuild", pe, fresh);
      mc_prompt_embeddings_free (pe);
      pe = compute (ctx, spec, tfile, cache, &rep, MC_OK);
      CHECK (rep.cache_hit, "%s cache: not a hit after the rebuild", bad[i].what);
      mc_prompt_embeddings_free (pe);
    }
    g_free (full);

    /* well-formed safetensors, wrong metadata: 2 rows, 3 labels */
    {
      float rows[2 * 32] = { 1.0f };
      mc_tensor_out t = { "embeddings", MC_DTYPE_F32, 2, { 2, 32 }, rows };
      const char *k[] = { "labels", "phrasings", "templates", "fingerprint" };
      const char *v[] = { "[\"a\",\"b\",\"c\"]", "[[\"a\"],[\"b\"]]", "[]", mc_fingerprint (ctx) };
      CHECK (mc_safetensors_write (cache, &t, 1, k, v, 4, &err) == MC_OK, "%s", err.message);
      pe = compute (ctx, spec, tfile, cache, &rep, MC_OK);
      print_report ("labels/rows mismatch", &rep);
      CHECK (rep.cache_invalid && rep.n_computed == 4, "mismatch cache");
      mc_prompt_embeddings_free (pe);
      rows[3] = NAN;
      k[0] = "labels";
      v[0] = "[\"a\",\"b\"]";
      CHECK (mc_safetensors_write (cache, &t, 1, k, v, 4, &err) == MC_OK, "%s", err.message);
      pe = compute (ctx, spec, tfile, cache, &rep, MC_OK);
      print_report ("NaN rows", &rep);
      CHECK (rep.cache_invalid && rep.n_computed == 4, "NaN cache");
      mc_prompt_embeddings_free (pe);
    }
  }

  /* a cache that cannot be written: a warning, the embeddings all the same */
  {
    char *nowhere = g_build_filename (tmpdir, "no-such-dir", "cache.safetensors", NULL);
    pe = compute (ctx, spec, tfile, nowhere, &rep, MC_OK);
    print_report ("unwritable path", &rep);
    CHECK (pe && !rep.cache_written && strstr (rep.warning, "not written"), "unwritable cache");
    if (pe)
      compare_rows ("rows with an unwritable cache", pe, fresh);
    mc_prompt_embeddings_free (pe);
    g_free (nowhere);
  }

  /* a context without the text tower: a full hit works, a miss is refused */
  {
    char *wpath = g_build_filename (golden_case, NULL);
    mc_context *img_only = load (wpath, MC_TOWER_IMAGE);
    pe = compute (ctx, spec, tfile, cache, &rep, MC_OK);   /* make sure the cache is current */
    mc_prompt_embeddings_free (pe);
    if (img_only) {
      CHECK (!mc_has_text (img_only), "text tower loaded");
      pe = compute (img_only, spec, tfile, cache, &rep, MC_OK);
      print_report ("hit without text tower", &rep);
      CHECK (rep.cache_hit, "image-only context: no hit");
      if (pe)
        compare_rows ("rows from the image-only context", pe, fresh);
      mc_prompt_embeddings_free (pe);
      pe = compute (img_only, "dog | puppy; cat; zebra", tfile, cache, &rep, MC_ERR_INVALID_ARGUMENT);
      mc_prompt_embeddings_free (pe);
    }
    mc_context_free (img_only);
    g_free (wpath);
  }

  mc_prompt_embeddings_free (first);
  mc_prompt_embeddings_free (fresh);
  g_free (bytes1);
  g_free (cache);
  g_free (tfile);
  g_free (tfile2);
}

/* A bare embeddings file (no metadata) loads with numbered labels; save and
 * load keep everything. */
static void
test_files (void)
{
  char *bare = tmp_path ("bare.safetensors"), *copy = tmp_path ("copy.safetensors");
  float rows[3 * 4] = { 3, 4, 0, 0, 0, 0, 0, 2, 1, 1, 1, 1 };
  const float want[3 * 4] = { 0.6f, 0.8f, 0, 0, 0, 0, 0, 1, 0.5f, 0.5f, 0.5f, 0.5f };
  mc_tensor_out t = { "embeddings", MC_DTYPE_F32, 2, { 3, 4 }, rows };
  mc_prompt_embeddings *pe = NULL, *pe2 = NULL;
  mc_error err = { 0 };

  printf ("embeddings files:\n");
  CHECK (mc_safetensors_write (bare, &t, 1, NULL, NULL, 0, &err) == MC_OK, "%s", err.message);
  CHECK (mc_prompt_embeddings_load (bare, &pe, &err) == MC_OK, "%s", err.message);
  if (pe) {
    CHECK (mc_prompt_embeddings_count (pe) == 3 && mc_prompt_embeddings_dim (pe) == 4, "shape");
    CHECK (!g_strcmp0 (mc_prompt_embeddings_label (pe, 2), "2"), "default label");
    CHECK (!*mc_prompt_embeddings_fingerprint (pe) && mc_prompt_embeddings_logit_scale_exp (pe) == 0,
        "unknown fingerprint/scale");
    mc_check_close ("bare file rows renormalized", mc_prompt_embeddings_data (pe), want, 12, 1e-7, 0);
    CHECK (mc_prompt_embeddings_save (pe, copy, &err) == MC_OK, "%s", err.message);
    CHECK (mc_prompt_embeddings_load (copy, &pe2, &err) == MC_OK, "%s", err.message);
    if (pe2)
      compare_rows ("saved and loaded", pe2, pe);
  }
  mc_prompt_embeddings_free (pe);
  mc_prompt_embeddings_free (pe2);
  pe = NULL;
  /* a file without the tensor */
  t.name = "something_else";
  mc_safetensors_write (bare, &t, 1, NULL, NULL, 0, &err);
  CHECK (mc_prompt_embeddings_load (bare, &pe, &err) == MC_ERR_FORMAT, "file without 'embeddings' loaded");
  printf ("  refused: %s\n", err.message);
  g_free (bare);
  g_free (copy);
}

/* ---- awkward texts -------------------------------------------------------- */

static void
test_texts (mc_context *ctx)
{
  const int d = mc_embed_dim (ctx);
  int32_t ids[MC_CONTEXT_LENGTH];
  mc_error err = { 0 };
  GString *lng = g_string_new (NULL);
  mc_prompt_embeddings *pe;
  mc_prompt_cache_report rep;
  int finite = 1;

  printf ("texts:\n");
  CHECK (mc_tokenize (ctx, "", ids, &err) == MC_OK && ids[0] == 49406 && ids[1] == 49407 && ids[2] == 0,
      "empty text: %s", err.message);
  CHECK (mc_tokenize (ctx, "bad \xc3\x28 byte", ids, &err) == MC_ERR_INVALID_ARGUMENT,
      "invalid UTF-8 text accepted");
  printf ("  invalid UTF-8 text refused: %s\n", err.message);

  for (int i = 0; i < 2000; i++)
    g_string_append (lng, "a very long caption ");
  CHECK (mc_tokenize (ctx, lng->str, ids, &err) == MC_OK && ids[MC_CONTEXT_LENGTH - 1] == 49407,
      "long text: %s", err.message);
  pe = compute (ctx, lng->str, NULL, NULL, &rep, MC_OK);
  if (pe) {
    for (int j = 0; j < d; j++)
      finite &= isfinite (mc_prompt_embeddings_data (pe)[j]);
    CHECK (finite, "long text: non-finite embedding");
    printf ("  %zu-byte label embedded (truncated to 77 tokens)\n", lng->len);
  }
  mc_prompt_embeddings_free (pe);
  g_string_free (lng, TRUE);

  /* NULL and empty sets */
  CHECK (mc_prompt_embeddings_compute (ctx, NULL, NULL, &pe, NULL, &err) == MC_ERR_INVALID_ARGUMENT,
      "NULL set accepted");
}

static void
remove_tree (const char *dir)
{
  GDir *d = g_dir_open (dir, 0, NULL);
  const char *e;
  while (d && (e = g_dir_read_name (d))) {
    char *p = g_build_filename (dir, e, NULL);
    if (g_file_test (p, G_FILE_TEST_IS_DIR))
      remove_tree (p);
    else
      g_unlink (p);
    g_free (p);
  }
  if (d)
    g_dir_close (d);
  g_rmdir (dir);
}

int
main (void)
{
  const char *golden = mc_test_golden_dir ();
  const char *vdir = getenv ("MOBILECLIP_VOCAB_DIR");
  char *vocab, *case_dir;
  mc_context *ctx;

  if (!golden)
    return MC_TEST_SKIP;
  if (!vdir || !*vdir)
    vdir = MC_DEFAULT_VOCAB_DIR;
  vocab = g_build_filename (vdir, "bpe_simple_vocab_16e6.txt.gz", NULL);
  if (!mc_path_exists (vocab)) {
    printf ("SKIP: vocabulary %s not found\n", vocab);
    return MC_TEST_SKIP;
  }
  vocab_path = vocab;
  tmpdir = g_dir_make_tmp ("mc-prompt-cache-XXXXXX", NULL);
  case_dir = g_build_filename (golden, "tiny_s0", NULL);

  test_parsing ();
  test_files ();
  ctx = load (case_dir, 0);
  if (ctx) {
    test_ensembling (ctx);
    test_cache (ctx, case_dir);
    test_texts (ctx);
  }
  mc_context_free (ctx);
  remove_tree (tmpdir);
  g_free (tmpdir);
  g_free (case_dir);
  g_free (vocab);
  return mc_test_finish ("prompt-cache");
}

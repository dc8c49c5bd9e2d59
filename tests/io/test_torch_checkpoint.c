/* test_torch_checkpoint.c — reading torch.save zip checkpoints.
 *
 *  1. golden tiny_s0 (plain dict) and tiny_s1b (OrderedDict + BUILD): every
 *     tensor of weights.safetensors is bit-identical under the same name in
 *     weights.pt; the extra tensors are the I64 0-dim num_batches_tracked
 *     buffers holding 188933;
 *  2. Apple's real mobileclip_s0.pt with its storage data cut off: opening
 *     fails with a "truncated" error naming a tensor, and the listing matches
 *     mobileclip_s0.keys.tsv (893 names, shapes, storage keys, presence);
 *  3. synthetic archives (written here): 'state_dict' wrapper, 'module.'
 *     prefix, ZIP64 records, F16/I32 storages, non-contiguous strides, short
 *     storages, forbidden globals, unsupported opcodes;
 *  4. the pickle machine on hand-made byte strings;
 *  5. damage: truncated copies, broken central directories, random bytes,
 *     random byte flips — each must end in a clean error (or a valid table).
 */
#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>

#include "test_util.h"

#include "io/pickle.h"
#include "io/tensor_file.h"
#include "io/torch_checkpoint.h"

static char tmp_dir[512];

/* a byte-string literal and its length (it may contain NUL bytes) */
#define BYTES(s) s, sizeof (s) - 1

/* --- small helpers --- */

typedef struct {
  uint8_t *data;
  size_t len, cap;
} buf;

static void
buf_put (buf *b, const void *p, size_t n)
{
  if (b->len + n > b->cap) {
    b->cap = (b->len + n) * 2 + 64;
    b->data = realloc (b->data, b->cap);
    if (!b->data)
      abort ();
  }
  memcpy (b->data + b->len, p, n);
  b->len += n;
}

static void buf_u8 (buf *b, unsigned v) { uint8_t x = (uint8_t) v; buf_put (b, &x, 1); }
static void buf_u16 (buf *b, unsigned v) { buf_u8 (b, v & 0xff); buf_u8 (b, (v >> 8) & 0xff); }
static void buf_u32 (buf *b, uint32_t v) { buf_u16 (b, v & 0xffff); buf_u16 (b, v >> 16); }
static void buf_u64 (buf *b, uint64_t v) { buf_u32 (b, (uint32_t) v); buf_u32 (b, (uint32_t) (v >> 32)); }

static uint8_t *
read_whole (const char *path, size_t *len)
{
  FILE *f = fopen (path, "rb");
  uint8_t *d;
  long n;
  if (!f)
    return NULL;
  fseek (f, 0, SEEK_END);
  n = ftell (f);
  fseek (f, 0, SEEK_SET);
  d = malloc ((size_t) n + 1);
  if (d && fread (d, 1, (size_t) n, f) != (size_t) n) {
    free (d);
    d = NULL;
  }
  fclose (f);
  *len = (size_t) n;
  return d;
}

static void
write_whole (const char *path, const void *d, size_t n)
{
  FILE *f = fopen (path, "wb");
  if (!f || fwrite (d, 1, n, f) != n) {
    fprintf (stderr, "cannot write %s: %s\n", path, strerror (errno));
    exit (1);
  }
  fclose (f);
}

static const char *
tmp_path (const char *name)
{
  static char p[8][700];
  static int k;
  k = (k + 1) % 8;
  snprintf (p[k], sizeof p[k], "%s/%s", tmp_dir, name);
  return p[k];
}

/* Opens d[0..n) through mc_tensor_file_open (written to a temp file). */
static mc_status
open_bytes (const char *name, const void *d, size_t n, mc_tensor_file **tf, mc_error *err)
{
  const char *p = tmp_path (name);
  mc_status st;
  write_whole (p, d, n);
  memset (err, 0, sizeof *err);
  st = mc_tensor_file_open (p, tf, err);
  unlink (p);
  return st;
}

/* --- a zip writer shaped like torch.save's (64-byte aligned data) --- */

typedef struct {
  const char *name;
  const void *data;
  size_t len;
} zip_item;

enum { ZIP_PLAIN = 0, ZIP_DESCRIPTORS = 1, ZIP_FORCE_ZIP64 = 2 };

static void
write_zip (buf *out, const zip_item *items, size_t n, int mode)
{
  uint64_t *offsets = calloc (n, sizeof *offsets);
  uint32_t *crcs = calloc (n, sizeof *crcs);
  uint64_t cd_start, cd_size, end64_at;
  buf cd = { 0 };

  for (size_t i = 0; i < n; i++) {
    size_t nlen = strlen (items[i].name);
    size_t header_end = out->len + 30 + nlen + 4;
    size_t pad = (64 - header_end % 64) % 64;
    int desc = mode & ZIP_DESCRIPTORS;
    crcs[i] = (uint32_t) crc32 (0, items[i].data, (uInt) items[i].len);
    offsets[i] = out->len;
    buf_u32 (out, 0x04034b50u);
    buf_u16 (out, 0);
    buf_u16 (out, desc ? 0x0808 : 0x0800);
    buf_u16 (out, 0);                       /* stored */
    buf_u16 (out, 0); buf_u16 (out, 0);     /* time, date */
    buf_u32 (out, desc ? 0 : crcs[i]);
    buf_u32 (out, desc ? 0 : (uint32_t) items[i].len);
    buf_u32 (out, desc ? 0 : (uint32_t) items[i].len);
    buf_u16 (out, (unsigned) nlen);
    buf_u16 (out, (unsigned) (4 + pad));
    buf_put (out, items[i].name, nlen);
    buf_u16 (out, 0x4246);
    buf_u16 (out, (unsigned) pad);
    for (size_t k = 0; k < pad; k++)
      buf_u8 (out, 'Z');
    buf_put (out, items[i].data, items[i].len);
    if (desc) {
      buf_u32 (out, 0x08074b50u);
      buf_u32 (out, crcs[i]);
      buf_u32 (out, (uint32_t) items[i].len);
      buf_u32 (out, (uint32_t) items[i].len);
    }
  }
  for (size_t i = 0; i < n; i++) {
    size_t nlen = strlen (items[i].name);
    int z64 = mode & ZIP_FORCE_ZIP64;
    buf_u32 (&cd, 0x02014b50u);
    buf_u16 (&cd, z64 ? 45 : 0);
    buf_u16 (&cd, z64 ? 45 : 0);
    buf_u16 (&cd, (mode & ZIP_DESCRIPTORS) ? 0x0808 : 0x0800);
    buf_u16 (&cd, 0);
    buf_u16 (&cd, 0); buf_u16 (&cd, 0);
    buf_u32 (&cd, crcs[i]);
    buf_u32 (&cd, z64 ? 0xFFFFFFFFu : (uint32_t) items[i].len);
    buf_u32 (&cd, z64 ? 0xFFFFFFFFu : (uint32_t) items[i].len);
    buf_u16 (&cd, (unsigned) nlen);
    buf_u16 (&cd, z64 ? 28 : 0);
    buf_u16 (&cd, 0); buf_u16 (&cd, 0); buf_u16 (&cd, 0);
    buf_u32 (&cd, 0);
    buf_u32 (&cd, z64 ? 0xFFFFFFFFu : (uint32_t) offsets[i]);
    buf_put (&cd, items[i].name, nlen);
    if (z64) {
      buf_u16 (&cd, 0x0001);
      buf_u16 (&cd, 24);
      buf_u64 (&cd, items[i].len);
      buf_u64 (&cd, items[i].len);
      buf_u64 (&cd, offsets[i]);
    }
  }
  cd_start = out->len;
  cd_size = cd.len;
  buf_put (out, cd.data, cd.len);
  if (mode & ZIP_FORCE_ZIP64) {
    end64_at = out->len;
    buf_u32 (out, 0x06064b50u);
    buf_u64 (out, 44);
    buf_u16 (out, 45); buf_u16 (out, 45);
    buf_u32 (out, 0); buf_u32 (out, 0);
    buf_u64 (out, n); buf_u64 (out, n);
    buf_u64 (out, cd_size); buf_u64 (out, cd_start);
    buf_u32 (out, 0x07064b50u);
    buf_u32 (out, 0);
    buf_u64 (out, end64_at);
    buf_u32 (out, 1);
  }
  buf_u32 (out, 0x06054b50u);
  buf_u16 (out, 0); buf_u16 (out, 0);
  if (mode & ZIP_FORCE_ZIP64) {
    buf_u16 (out, 0xFFFF); buf_u16 (out, 0xFFFF);
    buf_u32 (out, 0xFFFFFFFFu); buf_u32 (out, 0xFFFFFFFFu);
  } else {
    buf_u16 (out, (unsigned) n); buf_u16 (out, (unsigned) n);
    buf_u32 (out, (uint32_t) cd_size); buf_u32 (out, (uint32_t) cd_start);
  }
  buf_u16 (out, 0);
  free (cd.data);
  free (offsets);
  free (crcs);
}

/* --- a pickle emitter (protocol 2, the opcodes torch.save uses) --- */

static void pk_op (buf *b, unsigned op) { buf_u8 (b, op); }

static void
pk_str (buf *b, const char *s)
{
  pk_op (b, 'X');
  buf_u32 (b, (uint32_t) strlen (s));
  buf_put (b, s, strlen (s));
}

static void
pk_int (buf *b, int64_t v)
{
  if (v >= 0 && v < 256) {
    pk_op (b, 'K'); buf_u8 (b, (unsigned) v);
  } else if (v >= 0 && v < 65536) {
    pk_op (b, 'M'); buf_u16 (b, (unsigned) v);
  } else if (v >= INT32_MIN && v <= INT32_MAX) {
    pk_op (b, 'J'); buf_u32 (b, (uint32_t) (int32_t) v);
  } else {
    pk_op (b, 0x8a); buf_u8 (b, 8); buf_u64 (b, (uint64_t) v);
  }
}

static void
pk_global (buf *b, const char *module, const char *name)
{
  pk_op (b, 'c');
  buf_put (b, module, strlen (module));
  buf_u8 (b, '\n');
  buf_put (b, name, strlen (name));
  buf_u8 (b, '\n');
}

static void
pk_int_tuple (buf *b, int n, const int64_t *v)
{
  if (n == 0) {
    pk_op (b, ')');
    return;
  }
  pk_op (b, '(');
  for (int i = 0; i < n; i++)
    pk_int (b, v[i]);
  pk_op (b, 't');
}

/* _rebuild_tensor_v2 (('storage', torch.<cls>, key, 'cpu', numel), offset,
 * size, stride, False, OrderedDict ()) */
static void
pk_tensor (buf *b, const char *cls, const char *key, int64_t storage_numel,
    int64_t offset, int ndim, const int64_t *size, const int64_t *stride)
{
  pk_global (b, "torch._utils", "_rebuild_tensor_v2");
  pk_op (b, '(');
  pk_op (b, '(');
  pk_str (b, "storage");
  pk_global (b, "torch", cls);
  pk_str (b, key);
  pk_str (b, "cpu");
  pk_int (b, storage_numel);
  pk_op (b, 't');
  pk_op (b, 'Q');
  pk_int (b, offset);
  pk_int_tuple (b, ndim, size);
  pk_int_tuple (b, ndim, stride);
  pk_op (b, 0x89);
  pk_global (b, "collections", "OrderedDict");
  pk_op (b, ')');
  pk_op (b, 'R');
  pk_op (b, 't');
  pk_op (b, 'R');
}

/* An archive "arch/" with data.pkl = pickle and storages data/0..n-1. */
static void
make_checkpoint (buf *out, const buf *pickle, const void *const *storages,
    const size_t *storage_len, int n_storages, int mode)
{
  zip_item items[16];
  char names[16][64];
  int n = 0;
  items[n++] = (zip_item) { "arch/data.pkl", pickle->data, pickle->len };
  for (int i = 0; i < n_storages; i++) {
    snprintf (names[i], sizeof names[i], "arch/data/%d", i);
    items[n++] = (zip_item) { names[i], storages[i], storage_len[i] };
  }
  items[n++] = (zip_item) { "arch/version", "3\n", 2 };
  write_zip (out, items, (size_t) n, mode);
}

/* --- 1. golden files --- */

static void
check_golden_case (const char *golden, const char *name, size_t expect_total,
    size_t expect_float)
{
  char st_path[700], pt_path[700];
  mc_tensor_file *st = NULL, *pt = NULL;
  mc_error err = { 0 };
  size_t differ = 0, compared = 0, bytes = 0, extras = 0, bad_extras = 0;

  snprintf (st_path, sizeof st_path, "%s/%s/weights.safetensors", golden, name);
  snprintf (pt_path, sizeof pt_path, "%s/%s/weights.pt", golden, name);
  CHECK (mc_tensor_file_open (st_path, &st, &err) == MC_OK, "%s", err.message);
  CHECK (mc_tensor_file_open (pt_path, &pt, &err) == MC_OK, "%s", err.message);
  if (!st || !pt) {
    mc_tensor_file_close (st);
    mc_tensor_file_close (pt);
    return;
  }
  CHECK (!strcmp (mc_tensor_file_format (pt), "torch"), "format %s", mc_tensor_file_format (pt));
  CHECK (mc_tensor_file_count (pt) == expect_total, "%s: %zu tensors in weights.pt, expected %zu",
      name, mc_tensor_file_count (pt), expect_total);
  CHECK (mc_tensor_file_count (st) == expect_float, "%s: %zu tensors in safetensors", name,
      mc_tensor_file_count (st));

  for (size_t i = 0; i < mc_tensor_file_count (st); i++) {
    const mc_tensor_info *a = mc_tensor_file_at (st, i);
    const mc_tensor_info *b = mc_tensor_file_find (pt, a->name);
    if (!b) {
      CHECK (b != NULL, "%s: '%s' missing from weights.pt", name, a->name);
      continue;
    }
    compared++;
    bytes += a->nbytes;
    if (a->dtype != b->dtype || a->ndim != b->ndim || a->nbytes != b->nbytes
        || memcmp (a->shape, b->shape, (size_t) a->ndim * sizeof a->shape[0])
        || memcmp (a->data, b->data, a->nbytes)) {
      if (differ++ < 5)
        fprintf (stderr, "FAIL %s: '%s' differs (dtype %s/%s, %zu/%zu bytes)\n", name,
            a->name, mc_dtype_name (a->dtype), mc_dtype_name (b->dtype), a->nbytes, b->nbytes);
    }
  }
  for (size_t i = 0; i < mc_tensor_file_count (pt); i++) {
    const mc_tensor_info *b = mc_tensor_file_at (pt, i);
    const char *suffix = ".num_batches_tracked";
    size_t nl = strlen (b->name), sl = strlen (suffix);
    int64_t v = 0;
    if (mc_tensor_file_find (st, b->name))
      continue;
    extras++;
    if (b->nbytes == 8)
      memcpy (&v, b->data, 8);
    if (nl < sl || strcmp (b->name + nl - sl, suffix) || b->dtype != MC_DTYPE_I64
        || b->ndim != 0 || b->nbytes != 8 || v != 188933) {
      if (bad_extras++ < 5)
        fprintf (stderr, "FAIL %s: extra tensor '%s' (%s, ndim %d, value %lld)\n", name,
            b->name, mc_dtype_name (b->dtype), b->ndim, (long long) v);
    }
  }
  printf ("  %-8s weights.pt: %zu tensors; %zu compared with safetensors (%zu bytes), "
      "%zu differ; %zu extra num_batches_tracked (I64 0-dim = 188933), %zu wrong\n",
      name, mc_tensor_file_count (pt), compared, bytes, differ, extras, bad_extras);
  CHECK (differ == 0, "%s: %zu tensors differ", name, differ);
  CHECK (bad_extras == 0, "%s: %zu unexpected extra tensors", name, bad_extras);
  CHECK (extras == expect_total - expect_float, "%s: %zu extras", name, extras);
  mc_tensor_file_close (st);
  mc_tensor_file_close (pt);
}

/* --- 2. the real, truncated Apple checkpoint --- */

static void
check_real_truncated (const char *golden)
{
  char pt_path[700], tsv_path[700], line[1024];
  mc_tensor_file *tf = NULL;
  mc_torch_listing l;
  mc_error err = { 0 };
  mc_status st;
  FILE *tsv;
  size_t n = 0, mismatches = 0, present = 0, short_ = 0, missing = 0, f32 = 0, i64 = 0;
  const char *first_missing_tsv = NULL;
  char first_missing_buf[512] = "";
  const mc_torch_entry *first_bad = NULL;

  snprintf (pt_path, sizeof pt_path, "%s/../real/mobileclip_s0.truncated.pt", golden);
  snprintf (tsv_path, sizeof tsv_path, "%s/../real/mobileclip_s0.keys.tsv", golden);
  if (!mc_path_exists (pt_path) || !mc_path_exists (tsv_path)) {
    printf ("  (real checkpoint not found at %s: part 2 not run)\n", pt_path);
    return;
  }

  st = mc_tensor_file_open (pt_path, &tf, &err);
  printf ("  real S0 open: %s: %s\n", mc_status_name (st), err.message);
  CHECK (st == MC_ERR_FORMAT, "opening the truncated file gave %s", mc_status_name (st));
  CHECK (strstr (err.message, "truncated") != NULL, "message: %s", err.message);
  mc_tensor_file_close (tf);

  st = mc_torch_checkpoint_list (pt_path, &l, &err);
  CHECK (st == MC_OK, "listing: %s", err.message);
  if (st != MC_OK)
    return;
  CHECK (!strcmp (l.root, "new_mobileclip_s0"), "root '%s'", l.root);
  CHECK (l.no_central_directory == 1, "central directory flag %d", l.no_central_directory);

  tsv = fopen (tsv_path, "r");
  while (tsv && fgets (line, sizeof line, tsv)) {
    char *name = strtok (line, "\t\n"), *shape = strtok (NULL, "\t\n");
    char *storage = strtok (NULL, "\t\n"), *pres = strtok (NULL, "\t\n");
    char got_shape[256];
    const mc_torch_entry *e;
    int tsv_present;
    if (!name || !shape || !storage || !pres)
      continue;
    tsv_present = !strcmp (pres, "present=yes");
    if (!tsv_present && !first_missing_tsv) {
      snprintf (first_missing_buf, sizeof first_missing_buf, "%s", name);
      first_missing_tsv = first_missing_buf;
    }
    if (n >= l.count) {
      n++;
      mismatches++;
      continue;
    }
    e = &l.entries[n++];
    mc_shape_str (e->ndim, e->shape, got_shape, sizeof got_shape);
    if (strcmp (e->name, name) || strcmp (got_shape, shape)
        || strncmp (storage, "storage=", 8) || strcmp (storage + 8, e->storage_key)
        || tsv_present != (e->data_state != MC_TORCH_DATA_MISSING)) {
      if (mismatches++ < 5)
        fprintf (stderr, "FAIL entry %zu: got '%s' %s storage %s state %d; tsv '%s' %s %s %s\n",
            n - 1, e->name, got_shape, e->storage_key, e->data_state, name, shape, storage, pres);
    }
  }
  if (tsv)
    fclose (tsv);
  for (size_t i = 0; i < l.count; i++) {
    const mc_torch_entry *e = &l.entries[i];
    present += e->data_state == MC_TORCH_DATA_PRESENT;
    short_ += e->data_state == MC_TORCH_DATA_SHORT;
    missing += e->data_state == MC_TORCH_DATA_MISSING;
    f32 += e->dtype == MC_DTYPE_F32;
    i64 += e->dtype == MC_DTYPE_I64;
    if (e->data_state != MC_TORCH_DATA_PRESENT && !first_bad)
      first_bad = e;
    if (e->data_state == MC_TORCH_DATA_SHORT)
      CHECK (!strcmp (e->storage_key, "352"), "short storage %s (the file is cut inside data/352)",
          e->storage_key);
  }
  printf ("  real S0 listing: %zu entries (tsv %zu), %zu mismatches; data present %zu, "
      "cut off %zu, missing %zu; F32 %zu, I64 %zu\n", l.count, n, mismatches, present,
      short_, missing, f32, i64);
  CHECK (l.count == 893 && n == 893, "entries %zu, tsv lines %zu", l.count, n);
  CHECK (mismatches == 0, "%zu entries differ from the tsv", mismatches);
  CHECK (short_ == 1 && present == 282 && missing == 610, "presence counts");
  CHECK (f32 == 771 && i64 == 122, "dtype counts");

  /* the open error names the first tensor without data (state-dict order) */
  CHECK (first_bad && first_missing_tsv && !strcmp (first_bad->name, first_missing_tsv),
      "first tensor without data '%s', tsv '%s'", first_bad ? first_bad->name : "?",
      first_missing_tsv ? first_missing_tsv : "?");
  {
    mc_error err2 = { 0 };
    char quoted[600];
    mc_tensor_file *tf2 = NULL;
    mc_tensor_file_open (pt_path, &tf2, &err2);
    snprintf (quoted, sizeof quoted, "'%s'", first_bad ? first_bad->name : "?");
    CHECK (strstr (err2.message, quoted) != NULL, "the error should name %s: %s", quoted,
        err2.message);
    mc_tensor_file_close (tf2);
  }

  /* logit_scale's storage (data/0) survives: README value 4.2080536 */
  if (l.count && !strcmp (l.entries[0].name, "logit_scale")
      && l.entries[0].data_state == MC_TORCH_DATA_PRESENT) {
    float v;
    memcpy (&v, l.entries[0].data, 4);
    printf ("  real S0 logit_scale = %.7f (exp %.4f)\n", v, exp (v));
    CHECK (fabs (v - 4.2080536) < 1e-6, "logit_scale %.8f", v);
  } else {
    CHECK (0, "logit_scale is not the first entry or has no data");
  }
  mc_torch_listing_clear (&l);
}

/* --- 3. synthetic checkpoints --- */

static void
check_synthetic (void)
{
  float w[6] = { 1.5f, -2.0f, 3.25f, 0.0f, -0.5f, 1e-3f };
  int64_t steps = -7;
  uint16_t half[4] = { 0x3c00, 0xc000, 0x3800, 0x0000 };   /* 1, -2, 0.5, 0 */
  int32_t ints[3] = { 7, -8, 9 };
  const void *storages[4] = { w, &steps, half, ints };
  size_t lens[4] = { sizeof w, sizeof steps, sizeof half, sizeof ints };
  int64_t size23[2] = { 2, 3 }, stride23[2] = { 3, 1 }, size2[1] = { 2 }, stride1[1] = { 1 };
  int64_t size13[2] = { 1, 3 }, stride_any[2] = { 99, 1 };
  mc_tensor_file *tf = NULL;
  mc_error err;
  mc_status st;

  for (int mode = 0; mode < 4; mode++) {
    buf p = { 0 }, z = { 0 };
    /* {'epoch': 3, 'state_dict': OrderedDict(module.w, module.steps, module.h,
     *  module.i, module.row), 'other': [1.5, None, True]} */
    pk_op (&p, 0x80); pk_op (&p, 2);
    pk_op (&p, '}');
    pk_op (&p, '(');
    pk_str (&p, "epoch"); pk_int (&p, 3);
    pk_str (&p, "state_dict");
    pk_global (&p, "collections", "OrderedDict"); pk_op (&p, ')'); pk_op (&p, 'R');
    pk_op (&p, 'q'); pk_op (&p, 0);
    pk_op (&p, '(');
    pk_str (&p, "module.w"); pk_tensor (&p, "FloatStorage", "0", 6, 0, 2, size23, stride23);
    pk_str (&p, "module.steps"); pk_tensor (&p, "LongStorage", "1", 1, 0, 0, NULL, NULL);
    pk_str (&p, "module.h"); pk_tensor (&p, "HalfStorage", "2", 4, 2, 1, size2, stride1);
    pk_str (&p, "module.i"); pk_tensor (&p, "IntStorage", "3", 3, 0, 1, (int64_t[]) { 3 },
        stride1);
    /* a view of w's second row; size-1 dims may have any stride */
    pk_str (&p, "module.row"); pk_tensor (&p, "FloatStorage", "0", 6, 3, 2, size13, stride_any);
    pk_op (&p, 'u');
    pk_op (&p, '}');      /* BUILD state, ignored */
    pk_op (&p, 'b');
    pk_str (&p, "other");
    pk_op (&p, ']'); pk_op (&p, '(');
    pk_op (&p, 'G'); buf_u64 (&p, 0);   /* BINFLOAT (bytes irrelevant) */
    pk_op (&p, 'N'); pk_op (&p, 0x88); pk_op (&p, 'e');
    pk_op (&p, 'u');
    pk_op (&p, '.');
    make_checkpoint (&z, &p, storages, lens, 4, mode);

    st = open_bytes ("synthetic.pt", z.data, z.len, &tf, &err);
    CHECK (st == MC_OK, "synthetic mode %d: %s", mode, err.message);
    if (st == MC_OK) {
      const mc_tensor_info *tw = mc_tensor_file_find (tf, "w");
      const mc_tensor_info *ts = mc_tensor_file_find (tf, "steps");
      const mc_tensor_info *th = mc_tensor_file_find (tf, "h");
      const mc_tensor_info *ti = mc_tensor_file_find (tf, "i");
      const mc_tensor_info *tr = mc_tensor_file_find (tf, "row");
      float row[3], hf[2];
      CHECK (mc_tensor_file_count (tf) == 5, "count %zu", mc_tensor_file_count (tf));
      CHECK (tw && tw->dtype == MC_DTYPE_F32 && tw->ndim == 2 && tw->shape[0] == 2
          && tw->shape[1] == 3 && tw->nbytes == 24 && !memcmp (tw->data, w, 24), "w");
      CHECK (ts && ts->dtype == MC_DTYPE_I64 && ts->ndim == 0 && ts->nbytes == 8
          && !memcmp (ts->data, &steps, 8), "steps");
      CHECK (ti && ti->dtype == MC_DTYPE_I32 && ti->nbytes == 12 && !memcmp (ti->data, ints, 12),
          "i");
      CHECK (th && th->dtype == MC_DTYPE_F16 && th->nbytes == 4, "h");
      if (th) {
        mc_tensor_to_f32 (th, hf);
        CHECK (hf[0] == 0.5f && hf[1] == 0.0f, "h values %g %g (storage offset 2)", hf[0], hf[1]);
      }
      CHECK (tr && tr->ndim == 2 && tr->nbytes == 12, "row");
      if (tr) {
        mc_tensor_to_f32 (tr, row);
        CHECK (!memcmp (row, w + 3, 12), "row values");
      }
      mc_tensor_file_close (tf);
    }
    printf ("  synthetic (%s%s): %s\n", mode & ZIP_DESCRIPTORS ? "data descriptors" : "sizes in headers",
        mode & ZIP_FORCE_ZIP64 ? ", ZIP64" : "", st == MC_OK ? "read" : err.message);
    free (p.data);
    free (z.data);
  }

  /* {'model': {...}} wrapper, rebuilt parameters, MEMOIZE and FRAME */
  {
    buf p = { 0 }, z = { 0 };
    pk_op (&p, 0x80); pk_op (&p, 4);
    pk_op (&p, 0x95); buf_u64 (&p, 0);
    pk_op (&p, '}'); pk_op (&p, 0x94);
    pk_str (&p, "model");
    pk_op (&p, '}'); pk_op (&p, 0x94);
    pk_str (&p, "weight"); pk_op (&p, 0x94);
    pk_global (&p, "torch._utils", "_rebuild_parameter");
    pk_op (&p, '(');
    pk_tensor (&p, "FloatStorage", "0", 6, 0, 2, size23, stride23);
    pk_op (&p, 0x88);
    pk_global (&p, "collections", "OrderedDict"); pk_op (&p, ')'); pk_op (&p, 'R');
    pk_op (&p, 't'); pk_op (&p, 'R');
    pk_op (&p, 's');
    pk_op (&p, 's');
    pk_op (&p, '.');
    make_checkpoint (&z, &p, storages, lens, 1, ZIP_DESCRIPTORS);
    st = open_bytes ("wrapped.pt", z.data, z.len, &tf, &err);
    CHECK (st == MC_OK, "'model' wrapper: %s", err.message);
    if (st == MC_OK) {
      const mc_tensor_info *t = mc_tensor_file_find (tf, "weight");
      CHECK (mc_tensor_file_count (tf) == 1 && t && !memcmp (t->data, w, 24), "wrapped weight");
      mc_tensor_file_close (tf);
    }
    free (p.data);
    free (z.data);
  }

  /* failures that must name the tensor */
  {
    static const struct {
      const char *what, *cls;
      int64_t storage_numel, offset;
      int ndim;
      int64_t size[2], stride[2];
      size_t storage_bytes;
      mc_status expect;
      const char *needle;
    } cases[] = {
      { "non-contiguous", "FloatStorage", 6, 0, 2, { 2, 3 }, { 1, 2 }, 24,
        MC_ERR_UNSUPPORTED, "'bad.weight' is not contiguous" },
      { "short storage", "FloatStorage", 6, 0, 2, { 2, 3 }, { 3, 1 }, 16,
        MC_ERR_FORMAT, "truncated: tensor 'bad.weight'" },
      { "past its storage", "FloatStorage", 6, 2, 2, { 2, 3 }, { 3, 1 }, 24,
        MC_ERR_FORMAT, "'bad.weight' (offset 2, 6 elements) reaches past" },
      { "missing storage", "FloatStorage", 6, 0, 2, { 2, 3 }, { 3, 1 }, 0,
        MC_ERR_FORMAT, "truncated: tensor 'bad.weight' has no data" },
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
      buf p = { 0 }, z = { 0 };
      const void *s[1] = { w };
      size_t len[1] = { cases[c].storage_bytes };
      pk_op (&p, 0x80); pk_op (&p, 2);
      pk_op (&p, '}'); pk_str (&p, "bad.weight");
      pk_tensor (&p, cases[c].cls, "0", cases[c].storage_numel, cases[c].offset,
          cases[c].ndim, cases[c].size, cases[c].stride);
      pk_op (&p, 's'); pk_op (&p, '.');
      make_checkpoint (&z, &p, s, len, cases[c].storage_bytes ? 1 : 0, ZIP_DESCRIPTORS);
      st = open_bytes ("bad.pt", z.data, z.len, &tf, &err);
      printf ("  %-18s -> %s: %s\n", cases[c].what, mc_status_name (st), err.message);
      CHECK (st == cases[c].expect && strstr (err.message, cases[c].needle),
          "%s: want %s '%s'", cases[c].what, mc_status_name (cases[c].expect), cases[c].needle);
      if (st == MC_OK)
        mc_tensor_file_close (tf);
      free (p.data);
      free (z.data);
    }
  }

  /* forbidden global / unsupported opcode inside an otherwise valid archive */
  {
    static const struct {
      const char *what;
      const char *pickle;
      size_t len;
      const char *needle;
    } cases[] = {
      { "os.system", BYTES ("\x80\x02" "cos\nsystem\nq\x00X\x02\x00\x00\x00lsq\x01\x85q\x02R."),
        "global 'os system' is not allowed" },
      { "builtins.eval", BYTES ("\x80\x02" "cbuiltins\neval\n)R."), "'builtins eval'" },
      { "NEWOBJ", BYTES ("\x80\x02" "ccollections\nOrderedDict\n)\x81."),
        "pickle NEWOBJ at byte 28" },
      { "STACK_GLOBAL", BYTES ("\x80\x04" "X\x02\x00\x00\x00osX\x06\x00\x00\x00system\x93."),
        "pickle STACK_GLOBAL at byte 20" },
      { "storage call", BYTES ("\x80\x02" "ctorch\nFloatStorage\n)R."), "cannot be called" },
      { "no tensors", BYTES ("\x80\x02}."), "holds no tensors" },
      { "top-level list", BYTES ("\x80\x02]."), "holds a list" },
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
      buf p = { 0 }, z = { 0 };
      buf_put (&p, cases[c].pickle, cases[c].len);
      make_checkpoint (&z, &p, NULL, NULL, 0, ZIP_DESCRIPTORS);
      st = open_bytes ("evil.pt", z.data, z.len, &tf, &err);
      printf ("  %-18s -> %s: %s\n", cases[c].what, mc_status_name (st), err.message);
      CHECK (st == MC_ERR_FORMAT && strstr (err.message, cases[c].needle),
          "%s: want '%s'", cases[c].what, cases[c].needle);
      if (st == MC_OK)
        mc_tensor_file_close (tf);
      free (p.data);
      free (z.data);
    }
  }
}

/* --- 4. the pickle machine alone --- */

static void
check_pickle_machine (void)
{
  static const struct {
    const char *what;
    const char *bytes;
    size_t len;
    const char *needle;     /* NULL: must load */
  } cases[] = {
    { "empty", BYTES (""), "ends without STOP" },
    { "SETITEMS without MARK", BYTES ("\x80\x02}K\x01K\x02u."), "no MARK to close" },
    { "pop through a MARK", BYTES ("\x80\x02}(K\x01s."), "stack underflow" },
    { "unset memo", BYTES ("\x80\x02h\x05."), "memo index 5 was never set" },
    { "huge memo index", BYTES ("\x80\x02}r\xff\xff\xff\x7f."), "out of range" },
    { "short BINUNICODE", BYTES ("\x80\x02X\xff\xff\xff\x0f" "abc"), "truncated" },
    { "negative BINSTRING", BYTES ("\x80\x02T\xff\xff\xff\xff."), "negative string length" },
    { "LONG1 too long", BYTES ("\x80\x02\x8a\x09" "123456789."), "does not fit 64 bits" },
    { "unknown byte", BYTES ("\x80\x02\xff."), "opcode 0xff at byte 2: not a pickle opcode" },
    { "STOP on empty stack", BYTES ("\x80\x02."), "stack underflow" },
    { "APPEND to a dict", BYTES ("\x80\x02}K\x01" "a."), "not a list" },
    { "BUILD on a list", BYTES ("\x80\x02]}b."), "BUILD on a list" },
    { "protocol 9", BYTES ("\x80\x09}."), "protocol 9" },
    { "tensor of a non-storage",
      BYTES ("\x80\x02" "ctorch._utils\n_rebuild_tensor_v2\n(K\x00K\x00))\x89}tR."),
      "not a storage" },
    { "persid of a str", BYTES ("\x80\x02X\x01\x00\x00\x00kQ."), "not a 5-tuple" },
    { "global without newline", BYTES ("\x80\x02" "ctorch"), "truncated" },
    { "no STOP", BYTES ("\x80\x02(K\x01" "t"), "ends without STOP" },
    { "ok: list", BYTES ("\x80\x02](K\x01\x8a\x01\xffJ\xfe\xff\xff\xff\x88N"
        "G\x40\x09\x21\xfb\x54\x44\x2d\x18" "e."), NULL },
  };
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    mc_pickle *pk = NULL;
    mc_error err = { 0 };
    mc_status st = mc_pickle_load ((const uint8_t *) cases[c].bytes, cases[c].len, "case",
        &pk, &err);
    if (cases[c].needle) {
      CHECK (st != MC_OK && strstr (err.message, cases[c].needle),
          "%s: got %s '%s', want '%s'", cases[c].what, mc_status_name (st), err.message,
          cases[c].needle);
    } else {
      const mc_py_value *r = st == MC_OK ? mc_pickle_root (pk) : NULL;
      CHECK (st == MC_OK, "%s: %s", cases[c].what, err.message);
      /* [1, -1, -2, True, None, pi] */
      CHECK (r && r->type == MC_PY_LIST && r->u.seq.len == 6
          && r->u.seq.items[0]->u.integer == 1 && r->u.seq.items[1]->u.integer == -1
          && r->u.seq.items[2]->u.integer == -2 && r->u.seq.items[3]->type == MC_PY_BOOL
          && r->u.seq.items[4]->type == MC_PY_NONE
          && r->u.seq.items[5]->u.number == 3.141592653589793, "list values");
    }
    mc_pickle_free (pk);
  }
  printf ("  pickle machine: %zu hand-made cases\n", sizeof cases / sizeof cases[0]);
}

/* --- 5. damage --- */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t
rng (void)
{
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}

static uint32_t
rd32 (const uint8_t *p)
{
  return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

static void
wr32 (uint8_t *p, uint32_t v)
{
  p[0] = (uint8_t) v; p[1] = (uint8_t) (v >> 8); p[2] = (uint8_t) (v >> 16); p[3] = (uint8_t) (v >> 24);
}

static void
check_damage (const char *golden)
{
  char path[700];
  size_t size, eocd, cd_off, cd_size;
  uint8_t *orig, *copy;
  mc_tensor_file *tf = NULL;
  mc_error err;
  mc_status st;
  int unclean = 0, ok_count = 0, err_count = 0;

  snprintf (path, sizeof path, "%s/tiny_s0/weights.pt", golden);
  orig = read_whole (path, &size);
  CHECK (orig != NULL && size > 1000, "read %s", path);
  if (!orig)
    return;
  eocd = size - 22;
  CHECK (rd32 (orig + eocd) == 0x06054b50u, "end record at the end");
  cd_size = rd32 (orig + eocd + 12);
  cd_off = rd32 (orig + eocd + 16);
  copy = malloc (size);

  /* truncated copies */
  {
    size_t cuts[] = { 4, 29, 100, 30000, 52300, size / 2, size - 5000, cd_off + 10,
                      size - 22, size - 1 };
    for (size_t c = 0; c < sizeof cuts / sizeof cuts[0]; c++) {
      st = open_bytes ("cut.pt", orig, cuts[c], &tf, &err);
      if (c == 0 || c == 5 || c == 9)
        printf ("  cut at %zu bytes -> %s: %s\n", cuts[c], mc_status_name (st), err.message);
      CHECK (st == MC_ERR_FORMAT && strstr (err.message, "truncated"),
          "cut at %zu: %s %s", cuts[c], mc_status_name (st), err.message);
      if (st == MC_OK)
        mc_tensor_file_close (tf);
    }
    /* cut inside storages: the message names the first tensor without data */
    st = open_bytes ("cut.pt", orig, size / 2, &tf, &err);
    CHECK (strstr (err.message, "truncated: tensor '") != NULL, "%s", err.message);
  }

  /* broken central directories */
  {
    static const struct { const char *what; int kind; const char *needle; mc_status code; } cases[] = {
      { "directory offset past the end", 0, "lies outside the file", MC_ERR_FORMAT },
      { "entry signature", 1, "is malformed", MC_ERR_FORMAT },
      { "entry count", 2, "claims", MC_ERR_FORMAT },
      { "local header offset", 3, "no local header", MC_ERR_FORMAT },
      { "entry name", 4, "names a different entry", MC_ERR_FORMAT },
      { "compressed data.pkl", 5, "is compressed", MC_ERR_UNSUPPORTED },
      { "entry size", 6, "runs past the end", MC_ERR_FORMAT },
      { "multi-disk", 7, "multi-disk", MC_ERR_UNSUPPORTED },
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
      uint8_t *cd0;
      memcpy (copy, orig, size);
      cd0 = copy + cd_off;
      switch (cases[c].kind) {
        case 0: wr32 (copy + eocd + 16, (uint32_t) size + 100); break;
        case 1: cd0[0] = 'X'; break;
        case 2: copy[eocd + 8] = copy[eocd + 10] = 0xfe; copy[eocd + 9] = copy[eocd + 11] = 0xff; break;
        case 3: wr32 (cd0 + 42, 1); break;
        case 4: cd0[46 + 2] ^= 1; break;
        case 5: cd0[10] = 8; break;
        case 6: wr32 (cd0 + 20, (uint32_t) size); wr32 (cd0 + 24, (uint32_t) size); break;
        case 7: copy[eocd + 4] = 1; break;
      }
      st = open_bytes ("badcd.pt", copy, size, &tf, &err);
      printf ("  bad central directory (%s) -> %s: %s\n", cases[c].what, mc_status_name (st),
          err.message);
      CHECK (st == cases[c].code && strstr (err.message, cases[c].needle),
          "%s: want '%s'", cases[c].what, cases[c].needle);
      if (st == MC_OK)
        mc_tensor_file_close (tf);
    }
    (void) cd_size;
  }

  /* random bytes behind a zip signature (so the torch reader gets them) */
  for (int i = 0; i < 200; i++) {
    size_t n = 4 + rng () % 4096;
    uint8_t *r = malloc (n);
    for (size_t k = 0; k < n; k++)
      r[k] = (uint8_t) rng ();
    memcpy (r, "PK\3\4", 4);
    if (i % 2)    /* half of them with an end record pointing at garbage */
      if (n >= 26) {
        wr32 (r + n - 22, 0x06054b50u);
        r[n - 2] = r[n - 1] = 0;
      }
    st = open_bytes ("random.pt", r, n, &tf, &err);
    if (st == MC_OK) {
      mc_tensor_file_close (tf);
      unclean++;
    } else if ((st != MC_ERR_FORMAT && st != MC_ERR_UNSUPPORTED) || !err.message[0]) {
      unclean++;
    }
    free (r);
  }
  printf ("  200 random files: %d not rejected cleanly\n", unclean);
  CHECK (unclean == 0, "random files");

  /* byte flips in data.pkl and the central directory, parsed in memory
   * (the table takes the mapping on success, so each try gets its own) */
  unclean = 0;
  for (int i = 0; i < 400; i++) {
    uint8_t *m = mmap (NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    int flips = 1 + (int) (rng () % 4);
    if (m == MAP_FAILED)
      abort ();
    memcpy (m, orig, size);
    for (int f = 0; f < flips; f++) {
      size_t at = (i % 3 == 2) ? cd_off + rng () % (size - cd_off) : 64 + rng () % 52160;
      m[at] ^= (uint8_t) (1u << (rng () % 8));
    }
    memset (&err, 0, sizeof err);
    st = mc_torch_checkpoint_parse ("flipped", m, size, &tf, &err);
    if (st == MC_OK) {
      ok_count++;
      mc_tensor_file_close (tf);     /* unmaps m */
    } else {
      err_count++;
      if (!err.message[0] || st == MC_ERR_IO)
        unclean++;
      munmap (m, size);
    }
  }
  printf ("  400 byte-flipped copies: %d still valid, %d rejected, %d unclean\n",
      ok_count, err_count, unclean);
  CHECK (unclean == 0, "flipped copies");
  CHECK (err_count > 0, "byte flips never detected");

  /* the same on a copy cut inside the storages: no central directory, so
   * the local-header walk meets the damage; it must never succeed */
  unclean = 0;
  for (int i = 0; i < 200; i++) {
    size_t cut = 60000 + rng () % 200000;
    uint8_t *m = mmap (NULL, cut, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
      abort ();
    memcpy (m, orig, cut);
    for (int f = 0; f < 3; f++)
      m[52000 + rng () % (cut - 52000)] ^= (uint8_t) (1u << (rng () % 8));
    memset (&err, 0, sizeof err);
    st = mc_torch_checkpoint_parse ("cut-flipped", m, cut, &tf, &err);
    if (st == MC_OK) {
      unclean++;
      mc_tensor_file_close (tf);
    } else {
      if (st != MC_ERR_FORMAT && st != MC_ERR_UNSUPPORTED)
        unclean++;
      munmap (m, cut);
    }
  }
  printf ("  200 cut and byte-flipped copies: %d not rejected cleanly\n", unclean);
  CHECK (unclean == 0, "cut and flipped copies");

  free (copy);
  free (orig);
}

int
main (void)
{
  const char *golden = mc_test_golden_dir ();
  const char *tmp = getenv ("TMPDIR");

  if (!golden)
    return MC_TEST_SKIP;
  snprintf (tmp_dir, sizeof tmp_dir, "%s/mc-torch-ckpt-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp (tmp_dir)) {
    fprintf (stderr, "mkdtemp: %s\n", strerror (errno));
    return 1;
  }

  printf ("golden checkpoints:\n");
  check_golden_case (golden, "tiny_s0", 373, 323);
  check_golden_case (golden, "tiny_s1b", 351, 304);
  printf ("real truncated checkpoint:\n");
  check_real_truncated (golden);
  printf ("synthetic checkpoints:\n");
  check_synthetic ();
  check_pickle_machine ();
  printf ("damaged files:\n");
  check_damage (golden);

  rmdir (tmp_dir);
  return mc_test_finish ("torch-checkpoint");
}

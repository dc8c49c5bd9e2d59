/* bpe.c — loading CLIP's BPE merges and applying them to one word. */
#include "text/bpe.h"

#include <errno.h>
#include <string.h>
#include <zlib.h>

#include "runtime/error.h"

/* Pair keys pack two ids in 16 bits each. */
G_STATIC_ASSERT (MC_BPE_VOCAB_SIZE <= 0xffff);

#define PAIR_TABLE_BITS 17                     /* 131072 slots for 48894 pairs */
#define PAIR_TABLE_SIZE (1u << PAIR_TABLE_BITS)
#define PAIR_EMPTY 0xffffffffu

typedef struct {
  uint32_t key;     /* a << 16 | b, or PAIR_EMPTY */
  int32_t rank;
} pair_slot;

struct mc_bpe {
  pair_slot *pairs;                   /* open addressing, linear probing */
  int32_t merged[MC_BPE_N_MERGES];    /* rank -> id of the merged symbol */
};

/* ---- The byte alphabet ---------------------------------------------------
 * GPT-2/CLIP give each byte a visible character: the 188 printable Latin-1
 * bytes stand for themselves and come first in the vocabulary; the other 68
 * (controls, space, 0x7F-0xA0, soft hyphen) become U+0100.. in byte order
 * and follow. */

static gboolean
byte_is_printable (uint8_t b)
{
  return (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || b >= 0xae;
}

/* Position of b among the non-printable bytes, in byte order. */
static int
nonprintable_index (uint8_t b)
{
  if (b <= 0x20)
    return b;
  if (b >= 0x7f && b <= 0xa0)
    return 33 + (b - 0x7f);
  return 67;   /* 0xAD */
}

/* The character that stands for byte b in the vocabulary file. */
static gunichar
byte_char (uint8_t b)
{
  return byte_is_printable (b) ? b : 256 + nonprintable_index (b);
}

int32_t
mc_bpe_byte_symbol (uint8_t b, gboolean word_final)
{
  int32_t id;

  if (b <= 0x7e && b >= 0x21)
    id = b - 0x21;
  else if (b >= 0xa1 && b <= 0xac)
    id = 94 + (b - 0xa1);
  else if (b >= 0xae)
    id = 106 + (b - 0xae);
  else
    id = 188 + nonprintable_index (b);
  return word_final ? id + 256 : id;
}

/* ---- The pair table ------------------------------------------------------ */

static inline uint32_t
pair_key (int32_t a, int32_t b)
{
  return (uint32_t) a << 16 | (uint32_t) b;
}

static inline uint32_t
pair_slot_of (uint32_t key)
{
  return (key * 2654435761u) >> (32 - PAIR_TABLE_BITS);
}

/* Later duplicates overwrite earlier ones, as in open_clip's dict. */
static void
pair_insert (pair_slot *pairs, uint32_t key, int32_t rank)
{
  uint32_t s = pair_slot_of (key);

  while (pairs[s].key != PAIR_EMPTY && pairs[s].key != key)
    s = (s + 1) & (PAIR_TABLE_SIZE - 1);
  pairs[s].key = key;
  pairs[s].rank = rank;
}

int
mc_bpe_merge_rank (const mc_bpe *bpe, int32_t a, int32_t b, int32_t *merged)
{
  uint32_t key = pair_key (a, b);
  uint32_t s = pair_slot_of (key);

  for (;;) {
    const pair_slot *slot = &bpe->pairs[s];
    if (slot->key == key) {
      if (merged)
        *merged = bpe->merged[slot->rank];
      return slot->rank;
    }
    if (slot->key == PAIR_EMPTY)
      return -1;
    s = (s + 1) & (PAIR_TABLE_SIZE - 1);
  }
}

/* ---- Loading ------------------------------------------------------------- */

/* Reads the decompressed file until it holds `lines` complete lines (or to
 * its end); gzread passes a file that is not gzip-compressed through as is. */
static GByteArray *
read_vocab_lines (const char *path, int lines, mc_error *err)
{
  GByteArray *buf;
  gzFile gz;
  int newlines = 0;

  errno = 0;
  gz = gzopen (path, "rb");
  if (!gz) {
    mc_err (err, MC_ERR_VOCAB, "cannot open vocabulary '%s': %s", path,
        errno ? g_strerror (errno) : "out of memory");
    return NULL;
  }
  gzbuffer (gz, 1 << 17);
  buf = g_byte_array_sized_new (1 << 20);
  while (newlines < lines) {
    guint8 chunk[1 << 16];
    int got = gzread (gz, chunk, sizeof chunk);
    if (got < 0) {
      int zerr;
      const char *msg = gzerror (gz, &zerr);
      mc_err (err, MC_ERR_VOCAB, "cannot read vocabulary '%s': %s", path,
          zerr == Z_ERRNO ? g_strerror (errno) : msg);
      g_byte_array_unref (buf);
      gzclose (gz);
      return NULL;
    }
    if (got == 0)
      break;
    for (int i = 0; i < got; i++)
      newlines += chunk[i] == '\n';
    g_byte_array_append (buf, chunk, got);
  }
  gzclose (gz);
  return buf;
}

/* The vocabulary string of a single byte symbol, as UTF-8. */
static char *
byte_symbol_string (GStringChunk *strings, uint8_t b, gboolean word_final)
{
  char s[16];
  int len = g_unichar_to_utf8 (byte_char (b), s);

  if (word_final) {
    memcpy (s + len, "</w>", 4);
    len += 4;
  }
  return g_string_chunk_insert_len (strings, s, len);
}

/* Splits line `number` ("A B") into its two symbols, in place. */
static gboolean
split_merge_line (char *line, const char *path, int number, char **first,
    char **second, mc_error *err)
{
  char *fields[3];
  int n = 0;
  char *p = line;

  if (!g_utf8_validate (line, -1, NULL)) {
    mc_err (err, MC_ERR_VOCAB, "vocabulary '%s': line %d is not valid UTF-8", path,
        number + 1);
    return FALSE;
  }
  while (*p && n < 3) {
    while (*p == ' ' || *p == '\t' || *p == '\r')
      p++;
    if (!*p)
      break;
    fields[n++] = p;
    while (*p && *p != ' ' && *p != '\t' && *p != '\r')
      p++;
    if (*p)
      *p++ = '\0';
  }
  if (n != 2) {
    mc_err (err, MC_ERR_VOCAB, "vocabulary '%s': line %d is not a merge \"A B\"",
        path, number + 1);
    return FALSE;
  }
  *first = fields[0];
  *second = fields[1];
  return TRUE;
}

mc_status
mc_bpe_load (const char *path, mc_bpe **out, mc_error *err)
{
  GByteArray *buf;
  GHashTable *ids = NULL;        /* symbol string -> id + 1 (open_clip's encoder) */
  GStringChunk *strings = NULL;
  mc_bpe *bpe = NULL;
  char *p, *end;
  mc_status status = MC_OK;

  *out = NULL;
  /* Line 0 is a header; merges are lines 1..MC_BPE_N_MERGES. */
  buf = read_vocab_lines (path, MC_BPE_N_MERGES + 1, err);
  if (!buf)
    return MC_ERR_VOCAB;
  g_byte_array_append (buf, (const guint8 *) "", 1);   /* NUL-terminate */

  ids = g_hash_table_new (g_str_hash, g_str_equal);
  strings = g_string_chunk_new (1 << 16);
  for (int final = 0; final < 2; final++)
    for (int b = 0; b < 256; b++)
      g_hash_table_insert (ids, byte_symbol_string (strings, b, final),
          GINT_TO_POINTER (mc_bpe_byte_symbol (b, final) + 1));

  bpe = g_new (mc_bpe, 1);
  bpe->pairs = g_new (pair_slot, PAIR_TABLE_SIZE);
  memset (bpe->pairs, 0xff, PAIR_TABLE_SIZE * sizeof (pair_slot));

  /* Pass 1: every merge's result joins the vocabulary, in order; a later
   * equal string would take the later id, as it does in open_clip. */
  {
    char **first = g_new (char *, MC_BPE_N_MERGES);
    char **second = g_new (char *, MC_BPE_N_MERGES);
    int n = 0;

    p = (char *) buf->data;
    end = p + buf->len - 1;
    /* skip the header line */
    while (p < end && *p != '\n')
      p++;
    for (; n < MC_BPE_N_MERGES && p < end; n++) {
      char *line = ++p, *nl;
      if (line >= end)
        break;   /* the file ended with a newline */
      nl = strchr (line, '\n');
      if (nl)
        *nl = '\0';
      p = nl ? nl : end;
      if (!split_merge_line (line, path, n + 1, &first[n], &second[n], err)) {
        status = MC_ERR_VOCAB;
        break;
      }
      {
        char *joined = g_strconcat (first[n], second[n], NULL);
        g_hash_table_insert (ids, g_string_chunk_insert (strings, joined),
            GINT_TO_POINTER (512 + n + 1));
        g_free (joined);
      }
    }
    if (status == MC_OK && n < MC_BPE_N_MERGES)
      status = mc_err (err, MC_ERR_VOCAB, "vocabulary '%s' has %d merges; CLIP's has %d "
          "(is this bpe_simple_vocab_16e6.txt.gz?)", path, n, MC_BPE_N_MERGES);

    /* Pass 2: the pair table.  A merge whose halves are not symbols could
     * never apply; it is left out. */
    for (int r = 0; status == MC_OK && r < MC_BPE_N_MERGES; r++) {
      int a = GPOINTER_TO_INT (g_hash_table_lookup (ids, first[r])) - 1;
      int b = GPOINTER_TO_INT (g_hash_table_lookup (ids, second[r])) - 1;
      char *joined = g_strconcat (first[r], second[r], NULL);
      bpe->merged[r] = GPOINTER_TO_INT (g_hash_table_lookup (ids, joined)) - 1;
      g_free (joined);
      if (a >= 0 && b >= 0)
        pair_insert (bpe->pairs, pair_key (a, b), r);
    }
    g_free (first);
    g_free (second);
  }

  g_hash_table_unref (ids);
  g_string_chunk_free (strings);
  g_byte_array_unref (buf);
  if (status != MC_OK) {
    mc_bpe_free (bpe);
    return status;
  }
  *out = bpe;
  return MC_OK;
}

void
mc_bpe_free (mc_bpe *bpe)
{
  if (!bpe)
    return;
  g_free (bpe->pairs);
  g_free (bpe);
}

/* ---- Encoding one word ---------------------------------------------------
 * open_clip repeats: find the adjacent pair with the lowest rank, merge every
 * occurrence of it from left to right, until no pair has a rank.  Rescanning
 * the word per merge is quadratic, so this keeps the symbols in a linked list
 * and the candidate pairs in a min-heap keyed by (rank, position).  All heap
 * entries of the lowest rank are taken out together and merged left to
 * right before any pair they create is considered, which is exactly one
 * round of open_clip's loop; stale entries (a side already merged away) are
 * recognized because the pair at their position no longer has their rank. */

static void
heap_push (uint64_t *heap, size_t *len, uint64_t key)
{
  size_t i = (*len)++;

  while (i > 0 && heap[(i - 1) / 2] > key) {
    heap[i] = heap[(i - 1) / 2];
    i = (i - 1) / 2;
  }
  heap[i] = key;
}

static uint64_t
heap_pop (uint64_t *heap, size_t *len)
{
  uint64_t top = heap[0], last = heap[--(*len)];
  size_t i = 0, n = *len;

  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= n)
      break;
    if (c + 1 < n && heap[c + 1] < heap[c])
      c++;
    if (heap[c] >= last)
      break;
    heap[i] = heap[c];
    i = c;
  }
  if (n)
    heap[i] = last;
  return top;
}

static void
push_pair (const mc_bpe *bpe, const int32_t *sym, int32_t left, int32_t right,
    uint64_t *heap, size_t *heap_len)
{
  int rank;

  if (left < 0 || right < 0)
    return;
  rank = mc_bpe_merge_rank (bpe, sym[left], sym[right], NULL);
  if (rank >= 0)
    heap_push (heap, heap_len, (uint64_t) rank << 32 | (uint32_t) left);
}

void
mc_bpe_encode_word (const mc_bpe *bpe, const uint8_t *bytes, size_t n, GArray *out)
{
  int32_t *sym, *next, *prev, *merged_at;
  uint64_t *heap, *batch;
  size_t heap_len = 0, heap_cap;
  void *block;

  if (n == 1) {
    int32_t id = mc_bpe_byte_symbol (bytes[0], TRUE);
    g_array_append_val (out, id);
    return;
  }

  /* Each merge pushes at most two pairs: n - 1 initial + 2 (n - 1). */
  heap_cap = 3 * n;
  block = g_malloc (n * 4 * sizeof (int32_t) + heap_cap * 2 * sizeof (uint64_t));
  heap = block;
  batch = heap + heap_cap;
  sym = (int32_t *) (batch + heap_cap);
  next = sym + n;
  prev = next + n;
  merged_at = prev + n;

  for (size_t i = 0; i < n; i++) {
    sym[i] = mc_bpe_byte_symbol (bytes[i], i == n - 1);
    next[i] = i + 1 < n ? (int32_t) i + 1 : -1;
    prev[i] = (int32_t) i - 1;
  }
  for (size_t i = 0; i + 1 < n; i++)
    push_pair (bpe, sym, i, i + 1, heap, &heap_len);

  while (heap_len) {
    uint32_t rank = heap[0] >> 32;
    size_t n_batch = 0, n_merged = 0;

    /* Same rank means same pair; positions come out in ascending order. */
    while (heap_len && (heap[0] >> 32) == rank)
      batch[n_batch++] = heap_pop (heap, &heap_len);

    for (size_t k = 0; k < n_batch; k++) {
      int32_t left = (int32_t) (uint32_t) batch[k], right, merged;
      if (sym[left] < 0 || (right = next[left]) < 0)
        continue;
      if (mc_bpe_merge_rank (bpe, sym[left], sym[right], &merged) != (int) rank)
        continue;   /* stale: a neighbour changed since this entry was pushed */
      sym[left] = merged;
      sym[right] = -1;
      next[left] = next[right];
      if (next[right] >= 0)
        prev[next[right]] = left;
      merged_at[n_merged++] = left;
    }

    /* Only now may the new neighbours compete, as in open_clip's next round. */
    for (size_t k = 0; k < n_merged; k++) {
      int32_t at = merged_at[k];
      push_pair (bpe, sym, prev[at], at, heap, &heap_len);
      push_pair (bpe, sym, at, next[at], heap, &heap_len);
    }
  }

  for (int32_t i = 0; i >= 0; i = next[i])
    g_array_append_val (out, sym[i]);
  g_free (block);
}
